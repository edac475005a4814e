"""End-to-end: /export, the timeline button, /calendar and /target through the Bot API fake."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from icalendar import Calendar
from openpyxl import load_workbook

from bot.domain.case import Instrument, Level, Source
from bot.domain.rules import CompleteStep, NewCase, Outcome, apply, register_case
from bot.fake_telegram.world import Message, png_size
from storage.cases import create_case
from storage.reports import targets
from tests.builders import AB, KL
from tests.e2e.conftest import Bot
from tests.e2e.test_update_costs import counting

AMINAH, BADRUL, CHONG, DEVI, KSU, FARAH = 1001, 1002, 2001, 2002, 3001, 4001


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL)


async def register(bot: Bot, title: str, lead: str = "BKKA") -> str:
    """A case registered and passed to its lead division on 1 Sep 2026 (straight into storage)."""
    procedure, when = bot.app.services.procedure, at(date(2026, 8, 31))

    def build(ref: str) -> Outcome:
        new = NewCase(ref, title, Instrument.MOU, Level.BILATERAL, ("JP",), Source.KLN, lead,
                      date(2026, 8, 28))
        outcome = register_case(new, actor=AB, now=when, procedure=procedure)
        informed = apply(outcome.case, CompleteStep("receive"), actor=AB, now=when,
                         procedure=procedure)
        return Outcome(informed.case, [*outcome.events, *informed.events])

    return (await create_case(sessions=bot.app.services.sessions, year=2026,
                              build=build)).case.ref


async def ask(bot: Bot, who: int, text: str) -> Message:
    await bot.world.send_text(bot.user(who), text)
    return await bot.world.wait_for_message(who)


async def test_export_sends_the_register_as_a_workbook_and_as_csv(bot: Bot) -> None:
    ref = await register(bot, "MoU keselamatan sempadan")
    sent = await ask(bot, AMINAH, "/export")
    assert sent.document is not None and sent.document.file_name.endswith(".xlsx")
    assert "1 kes" in (sent.caption or "")
    book = load_workbook(io.BytesIO(sent.document.content))
    sheet = book["Kes"]
    assert [c.value for c in sheet[1]][:2] == ["Rujukan", "Tajuk"]
    assert sheet["A2"].value == ref and sheet["E2"].value == "Jepun"
    assert book["Langkah-langkah"].max_row == 3  # the header, the done step, the current step

    sent = await ask(bot, BADRUL, "/export csv")  # Badrul reads English
    assert sent.document is not None and sent.document.file_name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(sent.document.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Reference", "Title"] and rows[1][0] == ref
    assert rows[1][4] == "Japan"


async def test_an_export_holds_up_no_one_and_takes_no_write_lock(bot: Bot) -> None:
    # A workbook takes seconds at a ministry's size (its writer process alone starts in a
    # good part of one): whoever writes meanwhile is answered meanwhile, and reading the cases
    # does not take SQLite's write lock, which every tap and report needs.
    await register(bot, "MoU keselamatan sempadan")
    with counting(bot) as costs:
        await bot.world.send_text(bot.user(AMINAH), "/export")
        await bot.world.send_text(bot.user(CHONG), "/status")
        listed = await bot.world.wait_for_message(CHONG)
        sent = await bot.world.wait_for_message(AMINAH)
    assert sent.document is not None and listed.document is None
    assert listed.changed < sent.changed  # the list went out while the workbook was made
    assert costs.write_locks == 0


async def test_export_is_for_ab_management_and_admins_and_says_when_empty(bot: Bot) -> None:
    refused = await ask(bot, CHONG, "/export")
    assert refused.document is None and "Hanya Bahagian Antarabangsa (AB)" in (refused.text or "")
    empty = await ask(bot, KSU, "/export")
    assert empty.document is None
    assert empty.text == "Belum ada kes untuk dimasukkan ke dalam daftar."
    unknown = await ask(bot, AMINAH, "/export pdf")
    assert unknown.document is None and "“pdf” tidak dikenali" in (unknown.text or "")


async def test_status_of_a_case_has_a_button_that_sends_its_timeline(bot: Bot) -> None:
    ref = await register(bot, "MoU keselamatan sempadan")
    shown = await ask(bot, CHONG, f"/status {ref}")
    assert "Ramalan tarikh selesai:" in (shown.text or "")
    data = shown.data_for("📊 Garis masa")
    query = await bot.world.tap(bot.user(CHONG), shown, data)
    picture = await bot.world.wait_for_message(CHONG, "Garis masa")
    assert picture.photo is not None
    width, height = png_size(picture.photo.content)
    assert width == 1200 and height > 300
    assert bot.world.tap_answer(query) is not None
    # the list of open cases has no such button
    listing = await ask(bot, CHONG, "/status")
    assert all("📊" not in label for row in listing.buttons for label, _ in row)


async def test_calendar_sends_the_divisions_deadlines(bot: Bot) -> None:
    mine = await register(bot, "MoU BKKA")
    other = await register(bot, "MoU BPI", lead="BPI")
    sent = await ask(bot, CHONG, "/calendar")
    assert sent.document is not None and sent.document.file_name.endswith(".ics")
    events = Calendar.from_ical(sent.document.content).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [f"{mine}.collect_input.1@ikabot"]
    assert f"https://t.me/{bot.app.bot.username}" in str(events[0]["description"])
    everything = await ask(bot, AMINAH, "/calendar")
    assert everything.document is not None
    uids = {str(e["uid"]) for e in Calendar.from_ical(everything.document.content).walk("VEVENT")}
    assert uids == {f"{mine}.collect_input.1@ikabot", f"{other}.collect_input.1@ikabot"}
    nothing = await ask(bot, FARAH, "/calendar")
    assert nothing.document is None and "Tiada langkah" in (nothing.text or "")


async def test_target_is_set_by_the_lead_division_and_refused_to_others(bot: Bot) -> None:
    ref = await register(bot, "MoU lawatan rasmi")
    refused = await ask(bot, DEVI, f"/target {ref} 30/10/2026")
    assert "Hanya Bahagian Antarabangsa (AB) atau Bahagian berkaitan" in (refused.text or "")
    bad = await ask(bot, CHONG, f"/target {ref} esok")
    assert "“esok” bukan tarikh yang sah." in (bad.text or "")
    past = await ask(bot, CHONG, f"/target {ref} 1/8/2026")
    assert past.text == "Tarikh sasaran hendaklah selepas hari ini."
    async with bot.app.services.sessions() as session:
        assert await targets(session=session) == {}
    done = await ask(bot, CHONG, f"/target {ref} 2/9/2026")
    assert f"{ref}: tarikh sasaran telah ditetapkan." in (done.text or "")
    assert "Tarikh sasaran: 2 September 2026" in (done.text or "")
    assert "Had lewat ramalan melepasi tarikh sasaran." in (done.text or "")
    async with bot.app.services.sessions() as session:
        assert (await targets(session=session))[ref].on == date(2026, 9, 2)
    shown = await ask(bot, CHONG, f"/status {ref}")
    assert "Tarikh sasaran: 2 September 2026" in (shown.text or "")


async def test_export_takes_the_filters_status_takes(bot: Bot) -> None:
    mine = await register(bot, "MoU BKKA")
    other = await register(bot, "MoU BPI", lead="BPI")
    sent = await ask(bot, AMINAH, "/export BPI")
    assert sent.document is not None
    sheet = load_workbook(io.BytesIO(sent.document.content))["Kes"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [other]
    sent = await ask(bot, AMINAH, "/export csv BKKA")
    assert sent.document is not None
    rows = list(csv.reader(io.StringIO(sent.document.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [mine]
    none = await ask(bot, AMINAH, "/export BKKA selesai")  # no BKKA case is completed
    assert none.document is None and "/status" in (none.text or "")
    # read strictly, as /status reads it: "all" is no country (it was the Marshall Islands)
    refused = await ask(bot, AMINAH, "/export BKKA all")
    assert refused.document is None and "“all”" in (refused.text or "")
