"""The SOP as a ministry lives it, from phones: more time (Lulus, Tolak, a forged tap), a wait
on KLN and its resumption, an approver away with the acting one deciding, the renewal reminder
after filing, and a Sulit case."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bot.app import build_application, serving
from bot.callbacks import AnswerMoreTime, encode
from bot.domain.rules import (
    Action,
    CompleteStep,
    Decide,
    DocumentDelivered,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NoteSent,
    RequestInputs,
    SubmitMemo,
    TickInput,
    apply,
)
from handlers.reminders import sweep
from storage.cases import case_events, change_case
from storage.nudges import rows_for
from tests.builders import KL
from tests.e2e.conftest import CHATS, Bot, Stage
from tests.e2e.test_decisions import _forged, _to_decision
from tests.e2e.test_flow import AMINAH, CHONG, DEVI, KSU, REF, TKSU, _case, _tap, _user, seed_case

AB, BKKA, BPI, BDP = CHATS["AB"], CHATS["BKKA"], CHATS["BPI"], CHATS["BDP"]
TITLE = "MOU kerjasama keselamatan sempadan"
RAJESH = 1002  # AB's other officer


async def _ask_more_time(bot: Bot, days: int = 5):  # type: ignore[no-untyped-def]
    """Chong asks for ``days`` more working days on step 2; AB's Lulus/Tolak card."""
    world = bot.world
    await seed_case(bot)
    card = await world.wait_for_message(BKKA, contains="Langkah 2")
    assert any(label == "⏳ Lanjutan tempoh" for row in card.buttons for label, _ in row)
    await world.send_text(bot.user(CHONG), f"/extend {REF} {days} Menunggu ulasan AGC",
                          chat=BKKA)
    await world.wait_for_message(BKKA, contains="telah dikemukakan kepada Bahagian AB")
    ask = await world.wait_for_message(AB, contains=f"memohon lanjutan {days} hari bekerja")
    assert "Menunggu ulasan AGC" in ask.text
    assert [label for label, _ in ask.buttons[0]] == ["Lulus", "Tolak"]
    return ask


def _day(bot: Bot, moment: datetime) -> date:
    return bot.app.services.procedure.calendar.local_date(moment)


async def test_more_time_granted_moves_the_due_date_and_its_reminders(bot: Bot) -> None:
    world, calendar = bot.world, bot.app.services.procedure.calendar
    ask = await _ask_more_time(bot)
    before = (await _case(bot)).current_run.due_at
    assert "Direkodkan: Lulus" in await _tap(bot, AMINAH, ask, "Lulus")
    await world.wait_for_message(BKKA, contains="Lanjutan tempoh diluluskan oleh Aminah")
    run = (await _case(bot)).current_run
    assert _day(bot, run.due_at) == calendar.add_working_days(_day(bot, before), 5)
    edited = next(m for m in world.messages(AB) if m.message_id == ask.message_id)
    assert "Lulus: diluluskan oleh Aminah" in edited.text and not edited.buttons

    # none of the old date's reminders is left to go out; the new date's are planned
    async with bot.app.services.sessions() as session:
        rows = await rows_for(session=session, ref=REF)
        events = [e.kind for e in await case_events(session=session, ref=REF)]
    pending = {(r.kind, r.day) for r in rows if r.sent_at is None and r.dropped_at is None
               and r.step == "collect_input"}
    assert ("due_today", _day(bot, before)) not in pending
    assert ("due_today", _day(bot, run.due_at)) in pending
    assert events[-2:] == ["extension_requested", "extension_granted"]

    await world.send_text(bot.user(CHONG), f"/status {REF}", chat=BKKA)
    status = await world.wait_for_message(BKKA, contains="Tarikh akhir asal")
    assert "Lanjutan 1: 5 hari bekerja, diluluskan oleh Aminah" in status.text


async def test_more_time_refused_with_tolak_leaves_the_due_date(bot: Bot) -> None:
    world = bot.world
    ask = await _ask_more_time(bot, 3)
    before = (await _case(bot)).current_run.due_at
    await _tap(bot, RAJESH, ask, "Tolak")
    await world.wait_for_message(BKKA, contains="tidak diluluskan oleh Rajesh")
    assert (await _case(bot)).current_run.due_at == before
    # a second request may follow the first one's answer
    await world.send_text(bot.user(CHONG), f"/extend {REF} 2 Mesyuarat ditangguhkan", chat=BKKA)
    await world.wait_for_message(AB, contains="memohon lanjutan 2 hari bekerja")


async def test_forged_and_late_lulus_taps_change_nothing(bot: Bot) -> None:
    world = bot.world
    ask = await _ask_more_time(bot)
    lulus = encode(AnswerMoreTime(REF, "collect_input", 1, True))
    # the officer who asked cannot grant it, nor can an officer of another division
    assert "tidak membenarkan" in await _forged(bot, CHONG, BKKA, lulus)
    assert "tidak membenarkan" in await _forged(bot, DEVI, AB, lulus)
    assert "Tiada kes" in await _forged(bot, AMINAH, AB, encode(
        AnswerMoreTime("IKA-2026-999", "collect_input", 1, True)))
    assert "tidak lagi sah" in await _forged(bot, AMINAH, AB, "xa:1:garbage")
    before = (await _case(bot)).current_run.due_at
    first = await world.tap(bot.user(AMINAH), ask, lulus)
    second = await world.forge_tap(bot.user(RAJESH), ask, lulus)  # both at once
    await world.wait_for(lambda: None not in (world.tap_answer(first),
                                              world.tap_answer(second)))
    answers = sorted([world.tap_answer(first).text or "",  # type: ignore[union-attr]
                      world.tap_answer(second).text or ""])  # type: ignore[union-attr]
    assert any("Direkodkan" in a for a in answers) and any("telah diputuskan" in a
                                                           for a in answers)
    run = (await _case(bot)).current_run
    calendar = bot.app.services.procedure.calendar
    assert _day(bot, run.due_at) == calendar.add_working_days(_day(bot, before), 5)  # once


async def test_a_wait_on_kln_stops_the_clock_until_resumed(bot: Bot) -> None:
    world, app, clock = bot.world, bot.app, bot.clock
    calendar = app.services.procedure.calendar
    await seed_case(bot)
    await world.wait_for_message(BKKA, contains="Langkah 2")
    due = (await _case(bot)).current_run.due_at  # Tuesday 15 September
    clock.now = datetime(2026, 9, 2, 10, 0, tzinfo=KL)
    await world.send_text(bot.user(CHONG), f"/wait {REF} KLN Menunggu Nota Diplomatik",
                          chat=BKKA)
    await world.wait_for_message(BKKA, contains="kini menunggu maklum balas KLN")

    # Monday's digest lists it apart; AB is reminded a week on; no overdue nudge goes out
    for day in (7, 9, 16, 17):
        clock.now = datetime(2026, 9, day, 9, 0, tzinfo=KL)
        await sweep(app.bot, app.services, holder="test")
    digest = await world.wait_for_message(AB, contains="Ringkasan mingguan")
    assert "Menunggu maklum balas pihak lain" in digest.text
    await world.wait_for_message(AB, contains="masih menunggu maklum balas")
    assert not [m for m in world.messages(BKKA) if "melepasi tarikh akhir" in m.text.lower()]

    clock.now = datetime(2026, 9, 17, 10, 0, tzinfo=KL)
    await world.send_text(bot.user(CHONG), f"/resume {REF}", chat=BKKA)
    waited = calendar.working_days_between(date(2026, 9, 2), date(2026, 9, 17))
    await world.wait_for_message(BKKA, contains=f"selepas menunggu {waited} hari bekerja")
    run = (await _case(bot)).current_run
    assert _day(bot, run.due_at) == calendar.add_working_days(_day(bot, due), waited)
    await world.send_text(bot.user(CHONG), f"/status {REF}", chat=BKKA)
    status = await world.wait_for_message(BKKA, contains="Menunggu maklum balas KLN dari")
    assert f"({waited} hari bekerja)" in status.text


async def test_an_approver_away_and_the_acting_one_deciding(bot: Bot) -> None:
    world = bot.world
    await world.send_text(bot.user(KSU), "/away 1/9/2026 30/9/2026 TKSU")
    await world.wait_for_message(KSU, contains="memangku")
    cards_before = len(world.messages(KSU))
    await _to_decision(bot)
    card = await world.wait_for_message(TKSU, contains=REF)
    assert len(world.messages(KSU)) == cards_before  # no card, and no chase, while away
    await _tap(bot, TKSU, card, "Ya")
    told = await world.wait_for_message(BKKA, contains="Ya: diluluskan oleh")
    assert "TKSU (Timbalan Ketua Setiausaha) bagi pihak KSU (Ketua Setiausaha)" in told.text
    decision = (await _case(bot)).decisions[0]
    assert (decision.by, decision.on_behalf_of) == (TKSU, KSU)


async def test_an_approver_going_away_after_the_chase_was_planned_is_not_chased(
        bot: Bot) -> None:
    """Tomorrow's chase was planned for the KSU when the Minit Cerai went up; the KSU then
    records an absence: the TKSU alone is chased while the KSU is away, and the KSU again once
    back early."""
    world, app, clock = bot.world, bot.app, bot.clock
    await _to_decision(bot)
    await world.wait_for_message(KSU, contains=REF)
    await world.wait_for_message(TKSU, contains=REF)
    await world.send_text(bot.user(KSU), "/away 2/9/2026 30/9/2026 TKSU")
    await world.wait_for_message(KSU, contains="memangku")
    # (the cards' marks written before the clock jumps a day, or their lease looks run out)
    await app.sweeper.idle()  # type: ignore[attr-defined]
    ksu, tksu = len(world.messages(KSU)), len(world.messages(TKSU))
    clock.now = datetime(2026, 9, 2, 9, 0, tzinfo=KL)  # Wednesday: the first chase
    await sweep(app.bot, app.services, holder="test")
    assert [m.text for m in world.messages(KSU)[ksu:]] == []  # away: not chased
    [chase] = world.messages(TKSU)[tksu:]
    assert "Ya atau Tidak" in chase.text

    clock.now = datetime(2026, 9, 2, 10, 0, tzinfo=KL)
    await world.send_text(bot.user(KSU), "/back")
    await world.wait_for_message(KSU, contains="Selamat kembali")
    ksu = len(world.messages(KSU))
    clock.now = datetime(2026, 9, 3, 9, 0, tzinfo=KL)  # Thursday: back, so chased again
    await sweep(app.bot, app.services, holder="test")
    [chase] = world.messages(KSU)[ksu:]
    assert "Ya atau Tidak" in chase.text


def _to_step_9(today: date) -> list[tuple[Action, int]]:
    """Who does what, in storage, from step 2 to the filing step (step 9) of the seeded case."""
    return [
        (RequestInputs(("AGC",)), CHONG), (TickInput("AGC"), CHONG),
        (CompleteStep("collect_input"), CHONG), (SubmitMemo("Minit"), CHONG),
        (Decide(True), KSU), (CompleteStep("prep_meeting", MeetingHeld(today)), CHONG),
        (CompleteStep("inform_ab"), CHONG),
        (CompleteStep("convey_kln", NoteSent("KLN.600-1/2/3")), AMINAH),
        (CompleteStep("negotiate", NegotiationHeld(today, today, "Jakarta")), CHONG),
        (CompleteStep("send_outcome", DocumentDelivered("hasil.pdf", "ab" * 32)), CHONG),
    ]


async def _work(bot: Bot, script: list[tuple[Action, int]]) -> None:
    services = bot.app.services
    for action, who in script:
        actor = await _user(bot, who)
        await change_case(sessions=services.sessions, ref=REF, change=lambda case: apply(
            case, action, actor=actor, now=services.now(),  # noqa: B023
            procedure=services.procedure))


async def _file_with_expiry(bot: Bot, expires: date) -> None:
    today = bot.app.services.now().date()
    await _work(bot, [*_to_step_9(today), (CompleteStep(
        "file_copy", Filed("KDN.AB.100-2/3/4", today, today, expires)), AMINAH)])


async def test_a_filed_instrument_is_reminded_for_renewal(bot: Bot) -> None:
    world, app, clock = bot.world, bot.app, bot.clock
    await seed_case(bot)
    await _file_with_expiry(bot, date(2027, 3, 1))
    for day in (date(2026, 11, 30), date(2026, 12, 1)):  # the 3-month reminder: 1 December
        clock.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=KL)
        await sweep(app.bot, app.services, holder="test")
    for chat in (AB, BKKA):
        reminder = await world.wait_for_message(chat, contains="dalam tempoh 3 bulan")
        assert REF in reminder.text and "1 Mac 2027" in reminder.text
    assert not [m for m in world.messages(AB) if "dalam tempoh 6 bulan" in (m.text or "")]
    await world.send_text(bot.user(AMINAH), "/expiring 6", chat=AB)
    listing = await world.wait_for_message(AB, contains="Instrumen yang tamat tempoh")
    assert REF in listing.text and TITLE in listing.text
    await world.send_text(bot.user(AMINAH), f"/status {REF}", chat=AB)
    status = await world.wait_for_message(AB, contains="Tamat tempoh atau dikaji semula")
    assert "1 Mac 2027" in status.text


async def to_filing(bot: Bot):  # type: ignore[no-untyped-def]
    """The seeded case worked to step 9 (straight into storage); its card in AB's group."""
    await seed_case(bot)
    await _work(bot, _to_step_9(bot.app.services.now().date()))
    bot.app.services.wake_outbox()
    return await bot.world.wait_for_message(AB, contains="Langkah 9")


async def _answer(bot: Bot, text: str, contains: str):  # type: ignore[no-untyped-def]
    await bot.world.send_text(bot.user(AMINAH), text)
    return await bot.world.wait_for_message(AMINAH, contains=contains)


async def file_through_the_chat(bot: Bot):  # type: ignore[no-untyped-def]
    """AB files the case from its card and is asked for the signing date (returned)."""
    card = await to_filing(bot)
    await _tap(bot, AMINAH, card, "✅ Laporkan selesai")
    await bot.world.wait_for_message(AMINAH, contains="rujukan fail")
    await _answer(bot, "KDN.AB.100-2/3/4", "Kes telah selesai")
    return await bot.world.wait_for_message(AMINAH, contains="instrumen ditandatangani")


async def _sweep_on(bot: Bot, *days: date) -> None:
    for day in days:
        bot.clock.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=KL)
        await sweep(bot.app.bot, bot.app.services, holder="test")


async def test_filing_through_the_chat_records_the_dates_and_renewal_is_reminded(
        bot: Bot) -> None:
    world = bot.world
    signed = await file_through_the_chat(bot)
    assert (await _case(bot)).status.value == "completed"  # filed at once, dates to follow
    assert [label for row in signed.buttons for label, _ in row] == ["Langkau"]
    # a date still to come, and one out of order, are refused in the user's language
    await _answer(bot, "2/9/2026", "belum tiba")
    in_force = await _answer(bot, "1/9/2026", "berkuat kuasa")
    assert "Langkau" in [label for row in in_force.buttons for label, _ in row]
    assert "tidak lagi sah" in await _tap(bot, AMINAH, signed, "Langkau")  # answered already
    await _tap(bot, AMINAH, in_force, "Langkau")
    await world.wait_for_message(AMINAH, contains="tamat tempoh atau perlu dikaji semula")
    await _answer(bot, "31/8/2026", "Susunan tarikh ini tidak betul")
    summary = await _answer(bot, "1/3/2027", "tarikh instrumen telah direkodkan")
    assert "Ditandatangani: 1 September 2026" in summary.text
    assert "Tamat tempoh atau dikaji semula: 1 Mac 2027" in summary.text
    assert "Berkuat kuasa" not in summary.text  # skipped
    run = (await _case(bot)).run("file_copy")
    assert run is not None and run.data == {"reference": "KDN.AB.100-2/3/4",
                                            "signed_on": "2026-09-01",
                                            "expires_on": "2027-03-01"}
    async with bot.app.services.sessions() as session:
        events = [e.kind for e in await case_events(session=session, ref=REF)]
    assert events[-2:] == ["signing_recorded", "signing_recorded"]  # one a date

    await _sweep_on(bot, date(2026, 11, 30), date(2026, 12, 1))  # the 3-month reminder
    for chat in (AB, BKKA):
        reminder = await world.wait_for_message(chat, contains="dalam tempoh 3 bulan")
        assert REF in reminder.text and "1 Mac 2027" in reminder.text


async def test_the_dates_corrected_later_move_the_renewal_reminders(bot: Bot) -> None:
    world = bot.world
    await file_through_the_chat(bot)
    await _answer(bot, "/skip", "berkuat kuasa")
    await _answer(bot, "/skip", "tamat tempoh atau perlu dikaji semula")
    await _answer(bot, "1/3/2027", "tarikh instrumen telah direkodkan")
    # another division may not; the lead division may, keeping the dates it does not give
    await world.send_text(bot.user(DEVI), f"/signed {REF} - - 1/6/2027", chat=BPI)
    await world.wait_for_message(BPI, contains="tidak membenarkan")
    await world.send_text(bot.user(CHONG), f"/signed {REF} 1/9/2026 - 1/6/2027", chat=BKKA)
    told = await world.wait_for_message(BKKA, contains="tarikh instrumen telah direkodkan")
    assert "Tamat tempoh atau dikaji semula: 1 Jun 2027" in told.text
    assert "Ditandatangani: 1 September 2026" in told.text
    await world.send_text(bot.user(CHONG), f"/signed {REF} 1/9/2026", chat=BKKA)
    await world.wait_for_message(BKKA, contains="Tiada perubahan")
    await world.send_text(bot.user(CHONG), f"/signed {REF} esok", chat=BKKA)
    await world.wait_for_message(BKKA, contains="“esok” bukan tarikh")
    sent = {chat: len(world.messages(chat)) for chat in (AB, BKKA)}

    # 1 December was the 3-month mark of 1 March; it is now the 6-month one of 1 June
    await _sweep_on(bot, date(2026, 11, 30), date(2026, 12, 1))
    for chat in (AB, BKKA):
        reminder = await world.wait_for_message(chat, contains="dalam tempoh 6 bulan")
        assert "1 Jun 2027" in reminder.text
        assert not [m for m in world.messages(chat)[sent[chat]:]
                    if "1 Mac 2027" in (m.content or "")]
    await _sweep_on(bot, date(2027, 3, 1))
    for chat in (AB, BKKA):
        reminder = await world.wait_for_message(chat, contains="dalam tempoh 3 bulan")
        assert "1 Jun 2027" in reminder.text


async def test_cancelling_the_signing_dates_keeps_what_was_answered(bot: Bot) -> None:
    await file_through_the_chat(bot)
    await _answer(bot, "1/9/2026", "berkuat kuasa")
    stopped = await _answer(bot, "/cancel", "tarikh instrumen telah direkodkan")
    assert "Ditandatangani: 1 September 2026" in stopped.text and "/signed" in stopped.text
    assert "Tiada apa-apa yang direkodkan" not in stopped.text
    run = (await _case(bot)).run("file_copy")
    assert run is not None and run.data["signed_on"] == "2026-09-01"
    await bot.world.send_text(bot.user(AMINAH), "1/3/2027")  # no longer asked: not taken
    assert "/help" in (await bot.world.wait_for_message(AMINAH)).text


async def test_a_sulit_case_is_protected_and_its_title_stays_in_its_chats(bot: Bot) -> None:
    world = bot.world
    await seed_case(bot)
    await world.wait_for_message(BKKA, contains="Langkah 2")
    await world.send_text(bot.user(AMINAH), f"/classify {REF} Sulit", chat=AB)
    await world.wait_for_message(AB, contains="kini dikelaskan sebagai Sulit")
    sent = len(world.messages(BKKA))
    await world.send_text(bot.user(CHONG), f"/extend {REF} 5 Menunggu ulasan AGC", chat=BKKA)
    ask = await world.wait_for_message(AB, contains="memohon lanjutan")
    assert ask.protect_content
    await _tap(bot, AMINAH, ask, "Lulus")
    told = await world.wait_for_message(BKKA, contains="Lanjutan tempoh diluluskan")
    assert told.protect_content
    assert all(m.protect_content for m in world.messages(BKKA)[sent:])  # the reply too

    # another division's group sees the reference and "Sulit", never the title
    await world.send_text(bot.user(DEVI), f"/status {REF}", chat=BPI)
    elsewhere = await world.wait_for_message(BPI, contains=REF)
    assert "Sulit" in elsewhere.text and TITLE not in elsewhere.text
    await world.send_text(bot.user(DEVI), "/status", chat=BPI)
    listing = await world.wait_for(lambda: next(
        (m for m in world.messages(BPI) if "kes terbuka" in m.text.lower()), None))
    assert REF in listing.text and TITLE not in listing.text
    for chat in (BPI, BDP):
        assert not [m for m in world.messages(chat) if TITLE in m.text]
    await world.send_text(bot.user(CHONG), f"/status {REF}", chat=BKKA)
    own = await world.wait_for_message(BKKA, contains="Bahagian berkaitan:")
    assert TITLE in own.text


async def test_a_case_registered_as_sulit_is_guarded_from_its_first_card(bot: Bot) -> None:
    from tests.e2e.test_intake import choose, the_case, up_to_the_date

    world = bot.world
    question = await up_to_the_date(bot)
    summary = await choose(bot, AMINAH, question, "Hari ini", "Sila semak")
    await _tap(bot, AMINAH, summary, "🔒 Daftar sebagai Sulit")
    card = await world.wait_for_message(BKKA, contains="Langkah 2")
    assert card.protect_content
    assert (await the_case(bot)).is_sulit


async def test_a_sulit_cases_outcome_document_is_not_passed_on(bot: Bot) -> None:
    world, services = bot.world, bot.app.services
    await seed_case(bot)
    today = services.now().date()
    for action, who in [
        (RequestInputs(("AGC",)), CHONG), (TickInput("AGC"), CHONG),
        (CompleteStep("collect_input"), CHONG), (SubmitMemo("Minit"), CHONG),
        (Decide(True), KSU), (CompleteStep("prep_meeting", MeetingHeld(today)), CHONG),
        (CompleteStep("inform_ab"), CHONG),
        (CompleteStep("convey_kln", NoteSent("KLN.600-1/2/3")), AMINAH),
        (CompleteStep("negotiate", NegotiationHeld(today, today, "Jakarta")), CHONG),
    ]:
        actor = await _user(bot, who)
        await change_case(sessions=services.sessions, ref=REF, change=lambda case: apply(
            case, action, actor=actor, now=services.now(),  # noqa: B023
            procedure=services.procedure))
    services.wake_outbox()
    await world.send_text(bot.user(AMINAH), f"/classify {REF} Sulit", chat=AB)
    await world.wait_for_message(AB, contains="kini dikelaskan sebagai Sulit")
    card = await world.wait_for_message(BKKA, contains="Langkah 8")
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")
    await world.wait_for_message(CHONG, contains="fail")
    await world.send_document(bot.user(CHONG), "MOU-ID-MY.pdf", b"%PDF-1.4 sulit",
                              "application/pdf")
    await world.wait_for_message(CHONG, contains="Direkodkan")
    told = await world.wait_for_message(AB, contains="tidak dihantar melalui Telegram")
    assert told.protect_content
    assert not [m for m in world.messages(AB) if m.document is not None]


async def test_every_approver_decides_and_each_card_shows_who_has(stage: Stage,
                                                                  tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "bot" / "domain" / "sop.toml").read_text("utf-8")
    sop_file = tmp_path / "sop-every.toml"
    sop_file.write_text(shipped.replace('approvers = "any"', 'approvers = "every"'), "utf-8")
    settings = stage.settings.model_copy(update={"sop_file": sop_file})
    async with serving(build_application(settings, clock=stage.clock)) as app:
        bot = Bot(stage.world, stage.users, stage.clock, settings, app)
        world = bot.world
        await _to_decision(bot)
        ksu_card = await world.wait_for_message(KSU, contains=REF)
        tksu_card = await world.wait_for_message(TKSU, contains=REF)
        await _tap(bot, KSU, ksu_card, "Ya")
        for card in (ksu_card, tksu_card):
            shown = await world.wait_for(
                lambda card=card: _now(bot, card) if "Keputusan setakat ini" in _now(
                    bot, card).text else None)
            assert "KSU (Ketua Setiausaha): Ya" in shown.text
            assert "Belum membuat keputusan: TKSU" in shown.text
            assert shown.buttons  # the others still decide on it
        assert (await _case(bot)).current_step == "minit_cerai"
        await _tap(bot, TKSU, _now(bot, tksu_card), "Tidak")
        await world.wait_for_message(CHATS["BKKA"], contains="Keputusan Tidak oleh TKSU")
        assert [d.approved for d in (await _case(bot)).decisions] == [False]


def _now(bot: Bot, message):  # type: ignore[no-untyped-def]
    return next(m for m in bot.world.messages(message.chat.id)
                if m.message_id == message.message_id)
