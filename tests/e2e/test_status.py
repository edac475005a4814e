"""/status: open cases, overdue first; /status REF: one case step by step; long answers paged."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.domain.case import Actor, Case, Instrument, Level, Source
from bot.domain.rules import (
    Action,
    CompleteStep,
    Decide,
    NewCase,
    Outcome,
    RequestInputs,
    Revise,
    SubmitMemo,
    TickInput,
    apply,
    register_case,
)
from bot.fake_telegram.world import Message
from handlers.status import PAGE_LIMIT
from storage.cases import change_case, create_case
from tests.builders import AB, KL, MANAGER, MANAGER_2, OFFICER
from tests.e2e.conftest import CHATS, Bot

AMINAH, RAJESH, FARAH = 1001, 1002, 4001
TELEGRAM_LIMIT = 4096


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL)


async def register(bot: Bot, title: str, received: date, when: datetime, *,
                   inform: bool = True, lead: str = "BKKA") -> str:
    """A case registered by Aminah at ``when`` (straight into storage, not through the chat)."""
    procedure = bot.app.services.procedure

    def build(ref: str) -> Outcome:
        new = NewCase(ref, title, Instrument.MOU, Level.BILATERAL, ("ID",), Source.KLN, lead,
                      received)
        outcome = register_case(new, actor=AB, now=when, procedure=procedure)
        if not inform:
            return outcome
        informed = apply(outcome.case, CompleteStep("receive"), actor=AB, now=when,
                         procedure=procedure)
        return Outcome(informed.case, [*outcome.events, *informed.events])

    outcome = await create_case(sessions=bot.app.services.sessions, year=when.year, build=build)
    return outcome.case.ref


async def act(bot: Bot, ref: str, action: Action, actor: Actor, when: datetime) -> Case:
    procedure = bot.app.services.procedure
    outcome = await change_case(
        sessions=bot.app.services.sessions, ref=ref,
        change=lambda case: apply(case, action, actor=actor, now=when, procedure=procedure))
    return outcome.case


async def ask(bot: Bot, who: int, text: str, chat: int | None = None) -> Message:
    await bot.world.send_text(bot.user(who), text, chat=chat)
    return await bot.world.wait_for_message(chat or who)


def refs(text: str | None) -> list[str]:
    """The case references in ``text``, in order."""
    return re.findall(r"IKA-\d{4}-\d{3}", text or "")


async def test_open_cases_overdue_first_then_by_due_date(bot: Bot) -> None:
    # Waiting for top management since before the others were due: due earliest, not overdue.
    waiting = await register(bot, "MoU menunggu keputusan", date(2026, 8, 25),
                             at(date(2026, 8, 26)))
    for action, actor in ((RequestInputs(("PDRM",)), OFFICER), (TickInput("PDRM"), OFFICER),
                          (CompleteStep("collect_input"), OFFICER), (SubmitMemo(), OFFICER)):
        await act(bot, waiting, action, actor, at(date(2026, 8, 26)))
    late = await register(bot, "Triti <ekstradisi> & lain-lain", date(2026, 9, 1),
                          at(date(2026, 9, 1)), inform=False)  # step 1 due 4 September
    soon = await register(bot, "MoU keselamatan sempadan", date(2026, 9, 1), at(date(2026, 9, 1)))
    later = await register(bot, "Aturan pertukaran maklumat", date(2026, 9, 3),
                           at(date(2026, 9, 3)), lead="BPI")

    bot.clock.now = at(date(2026, 9, 8))  # Tuesday: step 1 of `late` was due last Friday
    reply = await ask(bot, AMINAH, "/status")
    assert refs(reply.text) == [late, waiting, soon, later]
    assert reply.text.startswith("4 kes terbuka · 1 melepasi tarikh akhir")
    assert reply.buttons == []  # one page: no arrows

    blocks = reply.text.split("\n\n")[1:]
    assert blocks[0].splitlines() == [
        f"🔴 {late} · Triti <ekstradisi> & lain-lain",  # the title shown as typed
        "Langkah 1: Terima maklumat dan maklumkan Bahagian berkaitan",
        "Tindakan: Bahagian Antarabangsa",
        "Tarikh akhir: 4 September 2026, 5.00 petang · lewat 2 hari bekerja",
    ]
    assert blocks[1].splitlines()[0] == f"⏳ {waiting} · MoU menunggu keputusan"
    assert blocks[1].splitlines()[-1] == "Menunggu keputusan Pengurusan Tinggi"
    assert blocks[2].splitlines()[-1] == "Tarikh akhir: 15 September 2026, 5.00 petang"
    assert "Tindakan: Bahagian Pengurusan Imigresen" in blocks[3]

    # A bound group chat may ask too, and gets the answer in its own language (BDP: English).
    group = await ask(bot, 2003, "/status", chat=CHATS["BDP"])
    assert group.text.startswith("4 open cases · 1 overdue")
    assert "1 working day late" not in group.text and "2 working days late" in group.text


async def test_no_open_cases(bot: Bot) -> None:
    assert (await ask(bot, FARAH, "/status")).text == "Tiada kes yang masih terbuka."
    assert (await ask(bot, RAJESH, "/status")).text == "There are no open cases."


async def test_one_case_step_by_step(bot: Bot) -> None:
    ref = await register(bot, "MoU keselamatan sempadan", date(2026, 8, 25), at(date(2026, 8, 26)))
    await act(bot, ref, RequestInputs(("PDRM", "AGC")), OFFICER, at(date(2026, 8, 27)))
    await act(bot, ref, TickInput("PDRM"), OFFICER, at(date(2026, 8, 28)))
    await act(bot, ref, TickInput("AGC"), OFFICER, at(date(2026, 9, 10)))
    await act(bot, ref, CompleteStep("collect_input"), OFFICER, at(date(2026, 9, 10), 15))
    await act(bot, ref, SubmitMemo(), OFFICER, at(date(2026, 9, 10), 16))
    await act(bot, ref, Decide(False, "Perlu ulasan JPN"), MANAGER, at(date(2026, 9, 11)))
    await act(bot, ref, Revise("minit_cerai"), OFFICER, at(date(2026, 9, 14)))
    await act(bot, ref, SubmitMemo(), OFFICER, at(date(2026, 9, 14), 11))
    case = await act(bot, ref, Decide(True), MANAGER_2, at(date(2026, 9, 15)))
    bot.clock.now = at(date(2026, 9, 22))

    reply = await ask(bot, FARAH, f"/status {ref.lower()}")  # any case of letters
    text = reply.text
    assert text.startswith(f"{ref} · MoU keselamatan sempadan\nIndonesia · Dua hala")
    assert "Status kes: Dalam tindakan" in text
    assert "Bahagian berkaitan: Bahagian Keselamatan dan Ketenteraman Awam (BKKA)" in text
    assert "Tarikh maklumat diterima: 25 Ogos 2026" in text
    projected = bot.app.services.procedure.projected_finish(case, bot.clock.now)
    assert projected is not None
    malay = bot.app.services.translators.get("ms")
    assert f"Unjuran tarikh selesai: {malay.format_date(projected)}" in text

    steps = text.split("\n\n")[2:]
    assert steps[0].splitlines() == [
        "✅ Langkah 1: Terima maklumat dan maklumkan Bahagian berkaitan",
        "Tarikh akhir: 28 Ogos 2026, 5.00 petang",
        "Selesai: 26 Ogos 2026, 10.00 pagi oleh Aminah binti Abdullah",
    ]
    # what happened in a step, in the order it happened, how it ended last
    assert steps[1].splitlines()[1:] == [
        "Tarikh akhir: 9 September 2026, 5.00 petang",
        "• PDRM: diminta pada 27 Ogos 2026, diterima pada 28 Ogos 2026 (Mohd Faizal bin Hassan)",
        "• AGC: diminta pada 27 Ogos 2026, diterima pada 10 September 2026 "
        "(Mohd Faizal bin Hassan)",
        "Selesai: 10 September 2026, 3.00 petang oleh Mohd Faizal bin Hassan · "
        "lewat 1 hari bekerja",
    ]
    refused, approved = steps[2].splitlines(), steps[3].splitlines()
    assert refused[0].startswith("✖️ Langkah 3:")
    assert refused[-4:] == [
        "Minit Cerai dikemukakan pada 10 September 2026, 4.00 petang oleh Mohd Faizal bin Hassan",
        "Keputusan Tidak oleh KSU (Ketua Setiausaha), 11 September 2026, 10.00 pagi.",
        "Sebab: Perlu ulasan JPN",
        "Dikembalikan untuk pindaan: 14 September 2026, 10.00 pagi oleh Mohd Faizal bin Hassan"]
    assert approved[0].startswith("✅ Langkah 3:") and approved[0].endswith("(pusingan 2)")
    assert approved[-1].startswith("Ya: diluluskan oleh TKSU (Timbalan Ketua Setiausaha)")
    assert not [line for line in approved if line.startswith("Selesai:")]  # the Ya says it
    assert steps[4].splitlines()[0] == "🔴 Langkah 4: Adakan mesyuarat persediaan rundingan IKA"
    assert "lewat 2 hari bekerja" in steps[4]
    assert [s.split(":")[0] for s in steps[5:]] == [
        "▫️ Langkah 5", "▫️ Langkah 6", "▫️ Langkah 7", "▫️ Langkah 8", "▫️ Langkah 9"]

    english = await ask(bot, RAJESH, f"/status {ref}")
    assert "Done: 10 September 2026, 3:00\u202fpm by Mohd Faizal bin Hassan · 1 working day " \
        "late" in english.text
    assert "AGC: asked 27 August 2026, received 10 September 2026" in english.text
    assert "Projected finish:" in english.text


async def test_unknown_reference(bot: Bot) -> None:
    reply = await ask(bot, AMINAH, "/status IKA-2026-999")
    assert reply.text == "Tiada kes IKA-2026-999.\n/status menyenaraikan kes yang masih terbuka."
    group = await ask(bot, 2001, "/status <b>nonsense", chat=CHATS["BKKA"])
    assert group.text.startswith("Tiada kes <B>NONSENSE.")
    long = await ask(bot, AMINAH, "/status " + "x" * 4000)
    assert long.text.startswith("Tiada kes XXXX") and len(long.text) < 200


async def walk(bot: Bot, who: int, message: Message) -> list[str]:
    """Every page's text, tapping ▶ on ``message`` until the last page."""
    shown = [message.text or ""]
    while any(label == "▶" for row in message.buttons for label, _ in row):
        before = message.text
        await bot.world.tap(bot.user(who), message, message.data_for("▶"))
        await bot.world.wait_for(lambda b=before: message.text != b,
                                 what="the next page")
        shown.append(message.text or "")
    return shown


def shown_length(text: str) -> int:
    """Telegram's count: UTF-16 code units of the text as shown."""
    return len(text.encode("utf-16-le")) // 2


async def test_sixty_cases_are_paged_with_arrows(bot: Bot) -> None:
    for n in range(60):
        await register(bot, f"MoU kerjasama nombor {n:02d} " + "panjang " * 12,
                       date(2026, 9, 1), at(date(2026, 9, 1)))
    first = await ask(bot, AMINAH, "/status", chat=CHATS["AB"])
    assert [label for label, _ in first.buttons[0]] == ["▶"]
    pages = await walk(bot, AMINAH, first)
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert shown_length(page) <= PAGE_LIMIT < TELEGRAM_LIMIT
        assert page.startswith("60 kes terbuka")
        assert page.endswith(f"Halaman {n} daripada {len(pages)}")
    listed = [ref for page in pages for ref in refs(page)]
    assert listed == [f"IKA-2026-{n:03d}" for n in range(1, 61)]  # each once, by due date
    assert [label for label, _ in first.buttons[0]] == ["◀"]  # now on the last page

    # ◀ renders afresh from the database: a case registered meanwhile is counted.
    await register(bot, "Kes baharu", date(2026, 9, 1), at(date(2026, 9, 1)))
    before = first.text
    await bot.world.tap(bot.user(AMINAH), first, first.data_for("◀"))
    await bot.world.wait_for(lambda: first.text != before, what="the page before")
    assert first.text.startswith("61 kes terbuka")
    assert [label for label, _ in first.buttons[0]] == ["◀", "▶"]
    assert "Halaman 3 daripada" in first.text or "Halaman 4 daripada" in first.text
    assert not [e for e in bot.world.errors if e[0] != "getUpdates"]


async def test_a_long_case_is_paged_without_splitting_a_step(bot: Bot) -> None:
    ref = await register(bot, "MoU yang banyak pusingan", date(2026, 9, 1), at(date(2026, 9, 1)))
    for action, actor in ((RequestInputs(("PDRM",)), OFFICER), (TickInput("PDRM"), OFFICER),
                          (CompleteStep("collect_input"), OFFICER)):
        await act(bot, ref, action, actor, at(date(2026, 9, 1)))
    for n in range(3):  # three refusals, each with a long reason
        await act(bot, ref, SubmitMemo(), OFFICER, at(date(2026, 9, 2)))
        await act(bot, ref, Decide(False, f"Sebab {n}: " + "ulasan lanjut diperlukan " * 70),
                  MANAGER, at(date(2026, 9, 2)))
        await act(bot, ref, Revise("minit_cerai"), OFFICER, at(date(2026, 9, 2)))
    first = await ask(bot, RAJESH, f"/status {ref}")
    pages = await walk(bot, RAJESH, first)
    assert len(pages) >= 2
    for page in pages:
        assert page.startswith(f"{ref} · MoU yang banyak pusingan")  # each page says which
        assert shown_length(page) <= PAGE_LIMIT
    reasons = [line for page in pages for line in page.splitlines()
               if line.startswith("Reason: Sebab")]
    assert [r[:15] for r in reasons] == ["Reason: Sebab 0", "Reason: Sebab 1", "Reason: Sebab 2"]
