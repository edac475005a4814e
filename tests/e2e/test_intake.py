"""/new: an AB officer registers a case from their phone, in Malay or in English."""

from __future__ import annotations

from datetime import date

from sqlmodel import select, update

from bot.app import build_application, serving
from bot.domain.case import Case, Instrument, Level, Source
from bot.fake_telegram.world import Message
from storage.cases import list_open_cases, load_case
from storage.db import make_engine, session_factory
from storage.models import ConversationState, Division, UserData
from tests.e2e.conftest import CHATS, Bot, Stage

AMINAH, RAJESH, CHONG, FARAH, ADMIN = 1001, 1002, 2001, 4001, 9001
REF = "IKA-2026-001"


async def say(bot: Bot, who: int, text: str, expect: str) -> Message:
    """``who`` writes ``text`` in their private chat; the bot's answer containing ``expect``."""
    await bot.world.send_text(bot.user(who), text)
    return await bot.world.wait_for_message(who, contains=expect)


async def tap(bot: Bot, who: int, message: Message, label: str) -> str:
    """``who`` taps ``label``; what the tap's answer said (empty for a silent answer)."""
    query = await bot.world.tap(bot.user(who), message, message.data_for(label))
    await bot.world.wait_for(lambda: bot.world.tap_answer(query) is not None,
                             what=f"the answer to {label!r}")
    answer = bot.world.tap_answer(query)
    assert answer is not None
    return answer.text or ""


async def choose(bot: Bot, who: int, message: Message, label: str, expect: str) -> Message:
    """``who`` taps ``label``; the bot's next question, containing ``expect``."""
    assert await tap(bot, who, message, label) == ""
    return await bot.world.wait_for_message(who, contains=expect)


async def open_cases(bot: Bot) -> list[Case]:
    async with bot.app.services.sessions() as session:
        return await list_open_cases(session=session)


async def the_case(bot: Bot, ref: str = REF) -> Case:
    async with bot.app.services.sessions() as session:
        case = await load_case(session=session, ref=ref)
    assert case is not None
    return case


async def up_to_the_date(bot: Bot, who: int = AMINAH) -> Message:
    """Aminah answers everything up to the received date (a bilateral MoU with Indonesia)."""
    await say(bot, who, "/new", "Kes IKA baharu")
    question = await say(bot, who, "MoU kerjasama keselamatan sempadan", "jenis instrumen")
    question = await choose(bot, who, question, "Memorandum Persefahaman (MoU)", "tahap")
    question = await choose(bot, who, question, "Dua hala", "rakan rundingan")
    question = await say(bot, who, "Indonesia", "Daripada manakah")
    question = await choose(bot, who, question, "Kementerian Luar Negeri (KLN)", "Bahagian")
    return await choose(bot, who, question,
                        "Bahagian Keselamatan dan Ketenteraman Awam (BKKA)", "Bilakah")


async def test_ab_officer_registers_a_case_in_malay_from_the_ab_group(bot: Bot) -> None:
    world = bot.world
    await world.send_text(bot.user(AMINAH), "/new", chat=CHATS["AB"])
    pointer = await world.wait_for_message(CHATS["AB"], contains="sembang peribadi")
    assert "Aminah" in pointer.text

    # The questions continue in her private chat, where her typed answers reach the bot.
    first = await world.wait_for_message(AMINAH, contains="Kes IKA baharu")
    assert "300" in first.text and "/cancel" in first.text
    question = await say(bot, AMINAH, "MoU kerjasama keselamatan sempadan", "jenis instrumen")
    first_row = [label for label, _ in question.buttons[0]]
    assert first_row == ["Memorandum Persefahaman (MoU)", "Triti"]
    question = await choose(bot, AMINAH, question, "Memorandum Persefahaman (MoU)", "tahap")
    assert [row[0][0] for row in question.buttons] == ["Dua hala", "Pelbagai hala",
                                                       "Serantau (ASEAN)"]
    question = await choose(bot, AMINAH, question, "Dua hala", "rakan rundingan")
    assert "Indonesia atau Jepun" in question.text
    question = await say(bot, AMINAH, "indonesia", "Daripada manakah")
    assert "Negara rakan rundingan: Indonesia" in world.transcript(AMINAH)
    question = await choose(bot, AMINAH, question, "Kementerian Luar Negeri (KLN)",
                            "Bahagian manakah yang akan menerajui")
    assert [row[0][0] for row in question.buttons] == [
        "Bahagian Dasar Penjara dan Pemulihan (BDP)",
        "Bahagian Keselamatan dan Ketenteraman Awam (BKKA)",
        "Bahagian Pengurusan Imigresen (BPI)",
    ]  # divisions that lead cases, not AB or top management
    question = await choose(bot, AMINAH, question,
                            "Bahagian Keselamatan dan Ketenteraman Awam (BKKA)", "Bilakah")
    assert [label for label, _ in question.buttons[0]] == ["Hari ini", "Semalam"]
    assert "1/9/2026" in question.text
    summary = await choose(bot, AMINAH, question, "Hari ini", "Sila semak")
    for line in ("Tajuk: MoU kerjasama keselamatan sempadan",
                 "Jenis instrumen: Memorandum Persefahaman (MoU)", "Tahap: Dua hala",
                 "Negara: Indonesia", "Sumber maklumat: Kementerian Luar Negeri (KLN)",
                 "Bahagian berkaitan: Bahagian Keselamatan dan Ketenteraman Awam (BKKA)",
                 "Tarikh maklumat diterima: 1 September 2026"):
        assert line in summary.text
    assert await tap(bot, AMINAH, summary, "✅ Daftar") == ""

    done = await world.wait_for_message(AMINAH, contains="Kes telah didaftarkan")
    assert f"Kes telah didaftarkan: {REF}." in done.text
    assert "Langkah 1 selesai" in done.text
    assert "Seterusnya: Langkah 2" in done.text
    assert "Tarikh akhir: 15 September 2026, 5.00 petang" in done.text
    assert summary.buttons == []  # the summary no longer offers to register it again

    # The lead division's chat gets the card for step 2 with its due date, in its language.
    card = await world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    assert REF in card.text and "Tarikh akhir: 15 September 2026" in card.text

    case = await the_case(bot)
    assert (case.title, case.instrument, case.level, case.countries, case.source,
            case.lead_division, case.received_on) == (
        "MoU kerjasama keselamatan sempadan", Instrument.MOU, Level.BILATERAL, ("ID",),
        Source.KLN, "BKKA", date(2026, 9, 1))
    receive = case.run("receive")
    assert receive is not None and receive.done_by == AMINAH
    assert case.current_step == "collect_input"


async def test_english_officer_registers_a_multilateral_case(bot: Bot) -> None:
    world = bot.world
    first = await say(bot, RAJESH, "/new", "New IKA case")
    assert "at most 300 characters" in first.text
    question = await say(bot, RAJESH, "Agreement on the return of irregular migrants",
                         "kind of instrument")
    question = await choose(bot, RAJESH, question, "Agreement", "level")
    question = await choose(bot, RAJESH, question, "Multilateral", "Which countries")

    # "Korea" names two countries: the bot asks which, by name, in English.
    pick = await say(bot, RAJESH, "Korea", "Which country do you mean?")
    assert sorted(label for row in pick.buttons for label, _ in row) == ["North Korea",
                                                                          "South Korea"]
    listed = await choose(bot, RAJESH, pick, "South Korea", "Countries so far")
    assert "South Korea" in listed.text
    listed = await say(bot, RAJESH, "Jepun", "Countries so far")  # Malay names work too
    assert "South Korea and Japan" in listed.text
    already = await say(bot, RAJESH, "Japan", "already in the list")
    assert "Japan" in already.text
    question = await choose(bot, RAJESH, listed, "Done", "Where did the information")
    question = await choose(bot, RAJESH, question, "Foreign embassy", "Which division")
    question = await choose(bot, RAJESH, question,
                            "Prisons and Rehabilitation Policy Division (BDP)", "When was")
    summary = await say(bot, RAJESH, "31/8/2026", "Please check the new case")
    assert "Countries: South Korea and Japan" in summary.text
    assert "Received on: 31 August 2026" in summary.text
    assert [label for label, _ in summary.buttons[0]] == ["✅ Register", "✖️ Cancel"]
    await tap(bot, RAJESH, summary, "✅ Register")

    done = await world.wait_for_message(RAJESH, contains="Case registered")
    assert REF in done.text and "Next: Step 2" in done.text and "Due: " in done.text
    # BDP's chat reads English.
    card = await world.wait_for_message(CHATS["BDP"], contains="Step 2")
    assert REF in card.text and "Due: 15 September 2026, 5:00\u202fpm" in card.text
    case = await the_case(bot)
    assert case.countries == ("KR", "JP") and case.level is Level.MULTILATERAL
    assert case.received_on == date(2026, 8, 31) and case.source is Source.EMBASSY


async def test_only_ab_and_admins_may_register(bot: Bot) -> None:
    refused = await say(bot, CHONG, "/new", "Bahagian Antarabangsa")
    assert "Hanya pegawai" in refused.text
    await say(bot, FARAH, "/new", "Hanya pegawai")
    await bot.world.send_text(bot.user(CHONG), "/new", chat=CHATS["BKKA"])
    await bot.world.wait_for_message(CHATS["BKKA"], contains="Hanya pegawai")
    # No conversation was opened: typed text is not taken as a title, and nothing is pending.
    await say(bot, CHONG, "MoU palsu", "/help")  # only pointed to /help
    await say(bot, CHONG, "/cancel", "Tiada apa-apa untuk dibatalkan")
    assert len(bot.world.messages(CHONG)) == 3
    await say(bot, ADMIN, "/new", "New IKA case")  # an administrator may
    assert await open_cases(bot) == []


async def test_a_title_too_long_or_empty_is_refused_with_the_limit(bot: Bot) -> None:
    await say(bot, AMINAH, "/new", "Kes IKA baharu")
    refused = await say(bot, AMINAH, "x" * 5000, "terlalu panjang")
    assert "5000 aksara" in refused.text and "300" in refused.text
    await say(bot, AMINAH, "   ", "kosong")
    await say(bot, AMINAH, "MoU yang betul", "jenis instrumen")  # asked again, and accepted


async def test_an_unknown_country_is_refused_and_asked_again(bot: Bot) -> None:
    await say(bot, AMINAH, "/new", "Kes IKA baharu")
    question = await say(bot, AMINAH, "MoU", "jenis instrumen")
    question = await choose(bot, AMINAH, question, "Triti", "tahap")
    await choose(bot, AMINAH, question, "Dua hala", "rakan rundingan")
    refused = await say(bot, AMINAH, "Atlantis", "Tiada negara yang sepadan")
    assert "“Atlantis”" in refused.text and "Indonesia atau Jepun" in refused.text
    await say(bot, AMINAH, "Thailand", "Daripada manakah")


async def test_countries_as_officers_type_them(bot: Bot) -> None:
    await say(bot, AMINAH, "/new", "Kes IKA baharu")
    question = await say(bot, AMINAH, "Perjanjian pelbagai hala", "jenis instrumen")
    question = await choose(bot, AMINAH, question, "Perjanjian", "tahap")
    await choose(bot, AMINAH, question, "Pelbagai hala", "Negara manakah")
    # "UK" is the United Kingdom, never Ukraine, and takes no question
    listed = await say(bot, AMINAH, "UK", "Negara setakat ini")
    assert "United Kingdom" in listed.text and "Ukraine" not in listed.text
    # "Guinea" names four countries: the bot asks, the exact name first
    pick = await say(bot, AMINAH, "Guinea", "Negara manakah yang anda maksudkan?")
    labels = [label for row in pick.buttons for label, _ in row]
    assert labels[0] == "Guinea" and len(labels) == 4 and "Papua New Guinea" in labels
    listed = await choose(bot, AMINAH, pick, "Guinea Bissau", "Negara setakat ini")
    # a misspelling: no match, but the closest names to tap
    close = await say(bot, AMINAH, "Indonesya", "Tiada negara yang sepadan")
    assert "salah satu daripada yang berikut" in close.text
    assert close.buttons[0][0][0] == "Indonesia"
    listed = await choose(bot, AMINAH, close, "Indonesia", "Negara setakat ini")
    listed = await say(bot, AMINAH, "Palestin", "Negara setakat ini")
    assert "United Kingdom, Guinea Bissau, Indonesia dan Palestin" in listed.text
    assert await open_cases(bot) == []  # still a draft: nothing is saved before Daftar


async def test_future_and_nonsense_dates_are_refused_with_the_right_form(bot: Bot) -> None:
    await up_to_the_date(bot)
    future = await say(bot, AMINAH, "2/9/2026", "belum tiba")
    assert "2 September 2026" in future.text and "1/9/2026 atau 2026-09-01" in future.text
    nonsense = await say(bot, AMINAH, "31/2/2026", "tidak dapat dibaca")
    assert "31/8/2026" in nonsense.text
    await say(bot, AMINAH, "minggu lepas", "tidak dapat dibaca")
    summary = await say(bot, AMINAH, "2026-08-28", "Sila semak")
    assert "28 Ogos 2026" in summary.text


async def test_english_refusals_are_in_english(bot: Bot) -> None:
    await say(bot, RAJESH, "/new", "New IKA case")
    await say(bot, RAJESH, "y" * 5000, "the limit is 300")
    question = await say(bot, RAJESH, "MoU", "kind of instrument")
    question = await choose(bot, RAJESH, question, "Treaty", "level")
    await choose(bot, RAJESH, question, "Bilateral", "counterpart")
    await say(bot, RAJESH, "Narnia", "No country matches")


async def test_a_double_tap_on_register_registers_one_case(bot: Bot) -> None:
    summary = await choose(bot, AMINAH, await up_to_the_date(bot), "Hari ini", "Sila semak")
    data = summary.data_for("✅ Daftar")
    # Both taps are on their way before the bot has handled either.
    first = await bot.world.tap(bot.user(AMINAH), summary, data)
    second = await bot.world.forge_tap(bot.user(AMINAH), summary, data)
    await bot.world.wait_for(lambda: bot.world.tap_answer(second) is not None)
    await bot.world.wait_for_message(AMINAH, contains="Kes telah didaftarkan")
    assert bot.world.tap_answer(first) is not None
    assert "tidak lagi sah" in (bot.world.tap_answer(second).text or "")  # type: ignore[union-attr]
    assert [c.ref for c in await open_cases(bot)] == [REF]
    registered = [m for m in bot.world.messages(AMINAH) if "Kes telah didaftarkan" in m.text]
    assert len(registered) == 1


async def test_cancel_leaves_at_any_point_and_saves_nothing(bot: Bot) -> None:
    await say(bot, AMINAH, "/new", "Kes IKA baharu")
    question = await say(bot, AMINAH, "MoU dibatalkan", "jenis instrumen")
    await say(bot, AMINAH, "/cancel", "Pendaftaran dibatalkan")
    # The abandoned question's buttons do nothing now.
    assert "tidak lagi sah" in await tap(bot, AMINAH, question, "Triti")
    await say(bot, AMINAH, "/cancel", "Tiada apa-apa untuk dibatalkan")

    # ✖️ on the summary cancels too.
    summary = await choose(bot, AMINAH, await up_to_the_date(bot), "Hari ini", "Sila semak")
    assert await tap(bot, AMINAH, summary, "✖️ Batal") == ""
    await bot.world.wait_for_message(AMINAH, contains="Pendaftaran dibatalkan")
    assert await open_cases(bot) == []


async def test_a_lead_division_without_a_chat_is_left_to_ab_to_inform(bot: Bot) -> None:
    async with bot.app.services.sessions() as session, session.begin():
        await session.exec(update(Division).where(Division.code == "BKKA")  # type: ignore[arg-type]
                           .values(chat_id=None))
    summary = await choose(bot, AMINAH, await up_to_the_date(bot), "Semalam", "Sila semak")
    assert "31 Ogos 2026" in summary.text
    await tap(bot, AMINAH, summary, "✅ Daftar")
    done = await bot.world.wait_for_message(AMINAH, contains="Kes telah didaftarkan")
    assert "tiada kumpulan Telegram" in done.text and "Seterusnya: Langkah 1" in done.text
    # Step 1 stays with AB, whose chat gets its card: inform the division, then report it.
    card = await bot.world.wait_for_message(CHATS["AB"], contains="Langkah 1")
    assert REF in card.text
    assert (await the_case(bot)).current_step == "receive"


async def test_a_registration_half_done_is_finished_after_a_restart(stage: Stage) -> None:
    world, rajesh = stage.world, stage.user(RAJESH)
    async with serving(build_application(stage.settings, clock=stage.clock)):
        await world.send_text(rajesh, "/new")
        await world.wait_for_message(RAJESH, contains="New IKA case")
        await world.send_text(rajesh, "ASEAN declaration on migrant workers")
        question = await world.wait_for_message(RAJESH, contains="kind of instrument")
        await world.tap(rajesh, question, question.data_for("Declaration"))
        question = await world.wait_for_message(RAJESH, contains="level")
        await world.tap(rajesh, question, question.data_for("Regional (ASEAN)"))
        await world.wait_for_message(RAJESH, contains="Which countries")
        await world.send_text(rajesh, "Thailand")
        await world.wait_for_message(RAJESH, contains="Countries so far")
    # ikabot stopped half-way: where Rajesh stood, and his answers, are in the database as JSON.
    engine = make_engine(stage.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            state = (await session.exec(select(ConversationState))).one()
            draft = await session.get(UserData, RAJESH)
    finally:
        await engine.dispose()
    assert (state.name, state.state) == ("new_case", "countries")
    assert draft is not None and draft.data["new_case"] == {
        "title": "ASEAN declaration on migrant workers", "instrument": "declaration",
        "level": "regional", "countries": ["TH"]}

    async with serving(build_application(stage.settings, clock=stage.clock)) as restarted:
        await world.send_text(rajesh, "Vietnam")
        listed = await world.wait_for_message(RAJESH, contains="Thailand and Vietnam")
        await world.tap(rajesh, listed, listed.data_for("Done"))
        question = await world.wait_for_message(RAJESH, contains="Where did the information")
        await world.tap(rajesh, question, question.data_for("Instruction from KDN top management"))
        question = await world.wait_for_message(RAJESH, contains="Which division")
        await world.tap(rajesh, question,
                        question.data_for("Immigration Management Division (BPI)"))
        question = await world.wait_for_message(RAJESH, contains="When was")
        await world.tap(rajesh, question, question.data_for("Yesterday"))
        summary = await world.wait_for_message(RAJESH, contains="Please check")
        await world.tap(rajesh, summary, summary.data_for("✅ Register"))
        await world.wait_for_message(RAJESH, contains="Case registered: IKA-2026-001")
        async with restarted.services.sessions() as session:
            case = await load_case(session=session, ref=REF)
        assert case is not None and case.countries == ("TH", "VN")
        assert (case.level, case.source, case.lead_division, case.received_on) == (
            Level.REGIONAL, Source.MANAGEMENT, "BPI", date(2026, 8, 31))
