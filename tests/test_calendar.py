"""The office calendar on Putrajaya's real 2026/2027 public holidays."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import OfficeCalendar

CAL = OfficeCalendar()
KL = ZoneInfo("Asia/Kuala_Lumpur")


@pytest.mark.parametrize(
    ("day", "ms", "en"),
    [
        (date(2026, 8, 31), "Hari Kebangsaan", "National Day"),
        (date(2026, 9, 16), "Hari Malaysia", "Malaysia Day"),
        (date(2026, 11, 8), "Hari Deepavali", "Diwali"),
        (date(2027, 2, 1), "Hari Wilayah Persekutuan", "Federal Territory Day"),
    ],
)
def test_public_holidays_have_malay_and_english_names(day: date, ms: str, en: str) -> None:
    assert CAL.holiday(day, "ms") == ms
    assert CAL.holiday(day, "en") == en
    assert not CAL.is_working_day(day)


def test_federal_territory_day_is_putrajaya_only() -> None:
    selangor = OfficeCalendar(holiday_subdivision="SGR")
    assert not CAL.is_working_day(date(2027, 2, 1))
    assert selangor.is_working_day(date(2027, 2, 1))


def test_observed_holiday_after_sunday_deepavali() -> None:
    assert CAL.holiday(date(2026, 11, 9), "en") == "Diwali (observed)"
    assert CAL.next_working_day(date(2026, 11, 7)) == date(2026, 11, 10)


def test_weekends_and_no_holiday_calendar() -> None:
    bare = OfficeCalendar(holiday_country=None)
    assert bare.is_working_day(date(2026, 8, 31))
    assert not bare.is_working_day(date(2026, 8, 29))  # Saturday
    assert bare.holiday(date(2026, 8, 31)) is None


def test_add_working_days_skips_weekend_and_hari_kebangsaan() -> None:
    # Thu 27 Aug 2026 + 3 working days: Fri 28, Tue 1 Sep, Wed 2 Sep
    assert CAL.add_working_days(date(2026, 8, 27), 3) == date(2026, 9, 2)
    assert CAL.add_working_days(date(2026, 8, 29), 0) == date(2026, 9, 1)


def test_working_days_between_counts_office_days_after_start() -> None:
    assert CAL.working_days_between(date(2026, 8, 28), date(2026, 9, 2)) == 2
    assert CAL.working_days_between(date(2026, 9, 2), date(2026, 9, 2)) == 0


def test_previous_working_day() -> None:
    assert CAL.previous_working_day(date(2026, 9, 1)) == date(2026, 8, 28)


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (datetime(2026, 9, 1, 8, 0, tzinfo=KL), datetime(2026, 9, 1, 9, 0, tzinfo=KL)),
        (datetime(2026, 9, 1, 12, 0, tzinfo=KL), datetime(2026, 9, 1, 12, 0, tzinfo=KL)),
        (datetime(2026, 8, 28, 17, 0, tzinfo=KL), datetime(2026, 9, 1, 9, 0, tzinfo=KL)),
        (datetime(2026, 8, 30, 23, 0, tzinfo=KL), datetime(2026, 9, 1, 9, 0, tzinfo=KL)),
        # 01:30 UTC on Monday 31 Aug is 09:30 in KL, but a holiday
        (datetime(2026, 8, 31, 1, 30, tzinfo=ZoneInfo("UTC")),
         datetime(2026, 9, 1, 9, 0, tzinfo=KL)),
    ],
)
def test_next_office_opening(moment: datetime, opening: datetime) -> None:
    assert CAL.next_office_opening(moment) == opening


def test_office_hours_are_local_time() -> None:
    utc = ZoneInfo("UTC")
    assert CAL.is_office_hours(datetime(2026, 9, 1, 1, 0, tzinfo=utc))  # 09:00 KL
    assert not CAL.is_office_hours(datetime(2026, 9, 1, 9, 0, tzinfo=utc))  # 17:00 KL
    assert CAL.close_of(date(2026, 9, 1)).timetz() == time(17, 0, tzinfo=KL)
