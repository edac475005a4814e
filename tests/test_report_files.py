"""The reports as files, read back: the register (openpyxl, csv), the charts (PNG), the .ics."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.callbacks import MAX_BYTES, Timeline, decode, encode
from bot.domain.agenda import deadlines
from bot.domain.case import Case
from bot.domain.deadlines import Procedure
from bot.domain.rules import CompleteStep, Decide, Outcome, Revise, SubmitMemo, register_case
from bot.domain.timeline import timeline
from bot.domain.workload import count_at_steps, times_in, workload
from bot.fake_telegram.world import png_size
from bot.i18n import Translator, load_translators
from handlers.drawing.deadlines_ics import render_deadlines
from handlers.drawing.digest_chart import render_digest_chart
from handlers.drawing.register_sheet import CSV_ENCODING
from handlers.drawing.timeline_chart import DPI, WIDTH_INCHES, render_timeline
from handlers.reports import write_register
from storage.cases import create_case
from storage.models import CaseRow
from storage.org import OrgSummary
from storage.reports import set_target
from tests.builders import (
    AB,
    MANAGER,
    OFFICER,
    act,
    at,
    new_case,
    procedure,
    registered,
    step_through,
)

Sessions = async_sessionmaker[AsyncSession]
TRANSLATORS = load_translators("ms")
MS, EN = TRANSLATORS.get("ms"), TRANSLATORS.get("en")
PROC = procedure()
NOW = at(date(2026, 9, 24))


async def _store(sessions: Sessions, proc: Procedure, make: object) -> str:
    def build(ref: str) -> Outcome:
        outcome = register_case(new_case(date(2026, 9, 10), ref), actor=AB, now=at(
            date(2026, 9, 10)), procedure=proc)
        case = make(outcome.case) if callable(make) else outcome.case
        return Outcome(case, outcome.events)
    return (await create_case(sessions=sessions, year=2026, build=build)).case.ref


def _walk_refused(case: Case) -> Case:
    """Received 10 Sep; Tidak on 14 Sep, resubmitted: round 2 open, Malaysia Day in the span."""
    case = step_through(PROC, case, at(date(2026, 9, 10)), "minit_cerai")
    case = act(PROC, case, SubmitMemo("memo"), OFFICER, at(date(2026, 9, 11)))
    case = act(PROC, case, Decide(False, "not yet"), MANAGER, at(date(2026, 9, 14)))
    return act(PROC, case, Revise("minit_cerai"), OFFICER, at(date(2026, 9, 15)))


def refused_once() -> Case:
    return _walk_refused(registered(PROC, at(date(2026, 9, 10))))


async def _workbook(sessions: Sessions, t: Translator, **options: object) -> tuple[int, bytes]:
    out = io.BytesIO()
    written = await write_register(out, sessions=sessions, procedure=PROC, t=t, now=NOW,
                                   **options)  # type: ignore[arg-type]
    return written.cases, out.getvalue()


# --- the register ----------------------------------------------------------------------------


async def test_the_workbook_holds_cases_and_steps_with_real_dates(
        sessions: Sessions, org: OrgSummary) -> None:
    refused = await _store(sessions, PROC, _walk_refused)
    finished = await _store(sessions, PROC, lambda c: step_through(PROC, c, at(date(2026, 9, 10)),
                                                                   "none"))
    async with sessions() as session, session.begin():
        await set_target(session=session, ref=refused, on=date(2026, 10, 2), by=AB.user_id,
                         now=NOW)
    count, data = await _workbook(sessions, EN)
    assert count == 2
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Cases", "Steps"]
    cases, steps = book["Cases"], book["Steps"]
    headers = [c.value for c in cases[1]]
    assert headers[:3] == ["Reference", "Title", "Instrument"]
    assert "Forecast (late)" in headers and "Working days late" in headers
    assert cases.freeze_panes == "A2"
    assert cases.auto_filter.ref == f"A1:U{cases.max_row}"
    assert headers[-3:] == ["Signed", "In force", "Expires or review"]  # after signing
    assert steps.auto_filter.ref is not None and steps.freeze_panes == "A2"
    assert cases.column_dimensions["B"].width >= 40
    row = {h: c.value for h, c in zip(headers, cases[2], strict=True)}
    assert row["Reference"] == refused
    assert row["Instrument"] == "Memorandum of Understanding (MoU)"
    assert row["Countries"] == "Indonesia"
    assert isinstance(row["Received"], datetime) and row["Received"].date() == date(2026, 9, 10)
    assert cases["H2"].is_date and cases["H2"].number_format == "dd/mm/yyyy"
    assert row["Current step"].startswith("Step 3: ")
    assert isinstance(row["Working days late"], int) and row["Working days late"] > 0
    assert (row["Decision"], row["Decided by"]) == ("Tidak", "KSU (Ketua Setiausaha)")
    assert isinstance(row["Forecast (likely)"], datetime)
    assert row["Target date"].date() == date(2026, 10, 2)
    done = {h: c.value for h, c in zip(headers, cases[3], strict=True)}
    assert done["Reference"] == finished and done["Current step"] is None
    assert done["Status"] == "Completed" and done["Decision"] == "Ya"
    assert done["Signed"] is None  # filed without the instrument's dates
    step_rows = [[c.value for c in r] for r in steps.iter_rows(min_row=2)]
    mine = [r for r in step_rows if r[0] == refused]
    assert [r[2] for r in mine if r[1].startswith("Step 3")] == [1, 2]  # both rounds
    tidak = next(r for r in mine if r[1].startswith("Step 3") and r[2] == 1)
    assert tidak[8] == "Tidak" and isinstance(tidak[5], datetime)
    assert len([r for r in step_rows if r[0] == finished]) == len(PROC.sop.keys)


async def test_headers_and_labels_follow_the_readers_language(
        sessions: Sessions, org: OrgSummary) -> None:
    await _store(sessions, PROC, None)
    _, data = await _workbook(sessions, MS)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Kes", "Langkah-langkah"]
    sheet = book["Kes"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Rujukan", "Tajuk", "Instrumen"]
    assert "Ramalan (selewat-lewatnya)" in headers
    assert sheet["D2"].value == MS.gettext("Bilateral")
    assert sheet["I2"].value.startswith("Langkah 1: ")


async def test_csv_has_the_same_rows_as_the_cases_sheet(
        sessions: Sessions, org: OrgSummary) -> None:
    await _store(sessions, PROC, _walk_refused)
    count, data = await _workbook(sessions, EN, fmt="csv")
    _, book = await _workbook(sessions, EN)
    assert count == 1 and data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode(CSV_ENCODING))))
    sheet = load_workbook(io.BytesIO(book))["Cases"]
    assert rows[0] == [c.value for c in sheet[1]]
    assert rows[1][0] == sheet["A2"].value and rows[1][7] == "2026-09-10"
    assert rows[1][rows[0].index("Decision")] == "Tidak"
    ms_rows = list(csv.reader(io.StringIO((await _workbook(sessions, MS, fmt="csv"))[1]
                                          .decode(CSV_ENCODING))))
    assert ms_rows[0][0] == "Rujukan"


async def test_a_title_typed_as_a_formula_stays_text_in_the_workbook_and_the_csv(
        sessions: Sessions, org: OrgSummary) -> None:
    typed = '=HYPERLINK("http://example.invalid","klik")'
    await _store(sessions, PROC, lambda case: replace(case, title=typed))
    await _store(sessions, PROC, lambda case: replace(case, title="#N/A"))
    _, book = await _workbook(sessions, EN)
    sheet = load_workbook(io.BytesIO(book))["Cases"]
    assert [(sheet[f"B{n}"].value, sheet[f"B{n}"].data_type) for n in (2, 3)] == [
        (typed, "s"), ("#N/A", "s")]
    _, data = await _workbook(sessions, EN, fmt="csv")
    rows = list(csv.reader(io.StringIO(data.decode(CSV_ENCODING))))
    assert [row[1] for row in rows[1:]] == ["'" + typed, "#N/A"]


async def test_no_cases_is_no_file_and_the_filter_seam_narrows(
        sessions: Sessions, org: OrgSummary) -> None:
    assert await _workbook(sessions, EN) == (0, b"")
    await _store(sessions, PROC, None)
    count, data = await _workbook(
        sessions, EN, narrow=lambda s: s.where(col(CaseRow.lead_division) == "BPI"))
    assert (count, data) == (0, b"")
    count, _ = await _workbook(
        sessions, EN, narrow=lambda s: s.where(col(CaseRow.lead_division) == "BKKA"))
    assert count == 1


# --- charts ----------------------------------------------------------------------------------


def _size(png: bytes) -> tuple[int, int]:
    width, height = png_size(png)
    assert (width, height) != (0, 0), "not a PNG"
    return width, height


def test_timeline_png_of_a_refused_round_a_holiday_and_an_open_step() -> None:
    case = refused_once()
    pic = timeline(case, PROC, NOW)
    assert pic.bars[-1].open and date(2026, 9, 16) in pic.holidays
    assert [m.approved for m in pic.marks] == [False]
    png = render_timeline(pic, PROC.sop, EN)
    width, height = _size(png)
    assert width == WIDTH_INCHES * DPI  # 1200 px: wide enough to read, within a photo's limit
    assert 400 <= height <= 2000
    other = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                         "collect_input")
    assert render_timeline(timeline(other, PROC, NOW), PROC.sop, EN) != png
    assert render_timeline(pic, PROC.sop, MS) != png  # the words are the chat's language


def test_a_title_with_dollar_signs_is_drawn_as_typed() -> None:
    """matplotlib reads "$…$" as mathematics, and fails on some: a title is plain text."""
    case = replace(registered(PROC, NOW), title=r"Dana $5 juta \frac{ dan $2 juta")
    assert _size(render_timeline(timeline(case, PROC, NOW), PROC.sop, EN))[0] > 0


def test_the_timeline_grows_with_its_steps() -> None:
    short = registered(PROC, NOW)
    long = step_through(PROC, registered(PROC, NOW), NOW, "file_copy")
    assert _size(render_timeline(timeline(long, PROC, NOW), PROC.sop, MS))[1] > _size(
        render_timeline(timeline(short, PROC, NOW), PROC.sop, MS))[1]


def test_digest_chart_png() -> None:
    early = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                         "collect_input")
    refused = refused_once()
    runs = [r for c in (early, refused) for r in c.steps if r.done]
    times = times_in(runs, PROC.calendar, 2026)
    loads = workload(count_at_steps([early.current_run, refused.current_run], NOW),  # type: ignore
                     times, PROC, 2026)
    png = render_digest_chart(loads, PROC.sop, EN, 2026)
    width, height = _size(png)
    assert width == WIDTH_INCHES * DPI and height > 600
    fewer = workload(count_at_steps([early.current_run], NOW), times, PROC, 2026)  # type: ignore
    assert render_digest_chart(fewer, PROC.sop, EN, 2026) != png


def test_the_timeline_button_fits_and_reads_back() -> None:
    data = encode(Timeline("IKA-2026-123456"))
    assert len(data.encode()) <= MAX_BYTES and decode(data) == Timeline("IKA-2026-123456")
    assert decode("tl:1:not-a-ref") is None
    with pytest.raises(ValueError):
        encode(Timeline("open"))


# --- the calendar ----------------------------------------------------------------------------


def _events(ics: bytes) -> dict[str, dict[str, object]]:
    calendar = Calendar.from_ical(ics)
    return {str(e["uid"]): {"start": e.decoded("dtstart"), "end": e.decoded("dtend"),
                            "summary": str(e["summary"]), "description": str(e["description"])}
            for e in calendar.walk("VEVENT")}


def test_ics_events_are_all_day_with_stable_uids_and_closed_steps_drop_out() -> None:
    numbers = {k: PROC.sop.number(k) for k in PROC.sop.keys}
    a = registered(PROC, NOW)
    b = replace(step_through(PROC, registered(PROC, NOW), NOW, "collect_input"),
                ref="IKA-2026-002")
    first = _events(render_deadlines(deadlines([a, b], AB, numbers, PROC.calendar), PROC.sop,
                                     EN, "https://t.me/ikabot_test", NOW))
    assert len(first) == 2
    event = first[next(uid for uid in first if "receive" in uid)]
    assert isinstance(event["start"], date) and not isinstance(event["start"], datetime)
    assert event["end"] == event["start"] + timedelta(days=1)  # type: ignore[operator]
    assert "Step 1: " in str(event["summary"]) and "IKA-" in str(event["summary"])
    assert "https://t.me/ikabot_test" in str(event["description"])
    # a day later, the same open steps: the same UIDs, so a newer import updates them
    again = _events(render_deadlines(deadlines([a, b], AB, numbers, PROC.calendar), PROC.sop,
                                     MS, "https://t.me/ikabot_test", NOW + timedelta(days=1)))
    assert set(again) == set(first)
    assert "Langkah 1: " in str(again[next(uid for uid in again if "receive" in uid)]["summary"])
    # the first step of ``a`` done: its event is gone, the next step's takes its place
    a_next = act(PROC, a, CompleteStep("receive"), AB, NOW)
    later = _events(render_deadlines(deadlines([a_next, b], AB, numbers, PROC.calendar),
                                     PROC.sop, EN, "https://t.me/ikabot_test", NOW))
    gone = set(first) - set(later)
    assert len(gone) == 1 and "receive" in next(iter(gone))
    assert len(later) == 2
