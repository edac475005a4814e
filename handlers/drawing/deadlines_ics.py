"""Open steps' due dates as an iCalendar file (icalendar): one all-day event per step, with a
UID that stays the same while the step is open, so importing a newer file updates it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from bot.domain.agenda import Deadline
from bot.domain.sop import Sop
from bot.i18n import Translator
from bot.messages import step_heading

TIME_ZONE = "Asia/Kuala_Lumpur"


def render_deadlines(deadlines: Sequence[Deadline], sop: Sop, t: Translator, bot_link: str,
                     now: datetime) -> bytes:
    """The .ics file of ``deadlines``, titled in ``t``'s language, linking to ``bot_link``."""
    calendar = Calendar()
    calendar.add("prodid", "-//KDN//ikabot//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", t.gettext("IKA deadlines"))
    calendar.add("x-wr-timezone", TIME_ZONE)
    for deadline in deadlines:
        event = Event()
        event.add("uid", deadline.uid)
        event.add("dtstamp", now)
        event.add("dtstart", deadline.due)  # a date: an all-day event
        event.add("dtend", deadline.due + timedelta(days=1))
        event.add("summary", t.gettext("{ref} due: {step}").format(
            ref=deadline.ref, step=step_heading(sop, deadline.step, t)))
        event.add("description", "\n".join([
            deadline.title,
            t.gettext("Round {n}").format(n=deadline.round) if deadline.round > 1 else "",
            t.gettext("Report it done or see the case in ikabot: {link}").format(link=bot_link),
        ]).replace("\n\n", "\n"))
        event.add("url", bot_link)
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        calendar.add_component(event)
    return bytes(calendar.to_ical())
