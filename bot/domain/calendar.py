"""The office calendar: working days, public holidays, office hours, in the ministry's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The holidays package names its languages by locale; ikabot's languages are ms and en.
_HOLIDAY_LANGUAGE = {"ms": "ms_MY", "en": "en_US"}


@lru_cache(maxsize=32)
def _holiday_table(country: str, subdiv: str | None, year: int, lang: str) -> dict[date, str]:
    table = holidays.country_holidays(
        country, subdiv=subdiv, years=year, language=_HOLIDAY_LANGUAGE.get(lang)
    )
    return dict(table.items())


@lru_cache(maxsize=64)
def _working_days_to(calendar: OfficeCalendar, year: int) -> tuple[int, ...]:
    """Working days of ``year`` up to each day of it (index: day of the year; 0 before Jan 1)."""
    counts, day = [0], date(year, 1, 1)
    while day.year == year:
        counts.append(counts[-1] + calendar.is_working_day(day))
        day += timedelta(days=1)
    return tuple(counts)


@dataclass(frozen=True)
class OfficeCalendar:
    """Working days and office hours; dates are local to ``tz``."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Kuala_Lumpur"))
    office_start: time = time(9, 0)
    office_end: time = time(17, 0)
    working_weekdays: frozenset[int] = frozenset(range(5))  # Monday=0 … Friday=4
    holiday_country: str | None = "MY"
    holiday_subdivision: str | None = "PJY"
    # The gazette: days the holidays package does not know, (day, name) for a holiday the
    # government gazetted, (day, None) for a package holiday moved away from that day.
    gazette: tuple[tuple[date, str | None], ...] = ()

    @cached_property
    def _gazetted(self) -> dict[date, str | None]:
        return dict(self.gazette)

    def with_gazette(self, gazette: tuple[tuple[date, str | None], ...]) -> OfficeCalendar:
        """This calendar with ``gazette`` in place of its own."""
        return replace(self, gazette=tuple(sorted(gazette)))

    def holiday(self, day: date, lang: str = "ms") -> str | None:
        """The public holiday's name on ``day`` in ``lang``, or None."""
        if day in self._gazetted:
            return self._gazetted[day]  # as gazetted, in the words it was entered in
        if self.holiday_country is None:
            return None
        table = _holiday_table(self.holiday_country, self.holiday_subdivision, day.year, lang)
        return table.get(day)

    def is_working_day(self, day: date) -> bool:
        """True when the office is open on ``day``."""
        return day.weekday() in self.working_weekdays and self.holiday(day) is None

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("the calendar has no working day within a year")

    def after_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.next_working_day(day + timedelta(days=1))

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        for _ in range(366):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("the calendar has no working day within a year")

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself rolled forward when n is 0)."""
        if n == 0:
            return self.next_working_day(day)
        for _ in range(n):
            day = self.after_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many office days ``end`` lies after ``start``."""
        if end <= start:
            return 0
        # Counted from each year's running totals: reports ask this for thousands of cases.
        first, last = _working_days_to(self, start.year), _working_days_to(self, end.year)
        if start.year == end.year:
            return last[end.timetuple().tm_yday] - first[start.timetuple().tm_yday]
        between = sum(_working_days_to(self, y)[-1] for y in range(start.year + 1, end.year))
        return (first[-1] - first[start.timetuple().tm_yday] + between
                + last[end.timetuple().tm_yday])

    def local_date(self, moment: datetime) -> date:
        """The office date of an aware ``moment``."""
        return moment.astimezone(self.tz).date()

    def at(self, day: date, clock: time) -> datetime:
        """``day`` at ``clock`` o'clock in the office's time zone, as an aware datetime."""
        return datetime.combine(day, clock, tzinfo=self.tz)

    def close_of(self, day: date) -> datetime:
        """Close of office on ``day``: when a step due that day falls due."""
        return self.at(day, self.office_end)

    def is_office_hours(self, moment: datetime) -> bool:
        """True during office hours of a working day."""
        local = moment.astimezone(self.tz)
        return (
            self.is_working_day(local.date())
            and self.office_start <= local.time() < self.office_end
        )

    def next_office_opening(self, moment: datetime) -> datetime:
        """The first office-hours moment at or after ``moment`` (itself if the office is open)."""
        if self.is_office_hours(moment):
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.office_start:
            return self.at(day, self.office_start)
        return self.at(self.after_working_day(day), self.office_start)
