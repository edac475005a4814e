"""/status WORDS: the cases a filter keeps, in SQL; /done a page of buttons at a time."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.case import Instrument, Level, Source
from bot.domain.rules import NewCase, Outcome, register_case
from storage.cases import create_case
from tests.builders import AB, KL, step_through
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_status import ask, refs, walk

AMINAH, RAJESH, CHONG = 1001, 1002, 2001


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL)


async def register(bot: Bot, *, country: str = "ID", lead: str = "BKKA",
                   instrument: Instrument = Instrument.MOU, level: Level = Level.BILATERAL,
                   when: datetime | None = None, until: str = "collect_input") -> str:
    """A case registered at ``when`` and taken, each step by its owner, to step ``until``."""
    procedure = bot.app.services.procedure
    moment = when or at(date(2026, 9, 1))

    def build(ref: str) -> Outcome:
        new = NewCase(ref, f"Kes {country} {lead}", instrument, level, (country,), Source.KLN,
                      lead, moment.date())
        outcome = register_case(new, actor=AB, now=moment, procedure=procedure)
        return Outcome(step_through(procedure, outcome.case, moment, until), outcome.events)

    return (await create_case(sessions=bot.app.services.sessions, year=moment.year,
                              build=build)).case.ref


async def test_a_country_by_its_malay_or_english_name(bot: Bot) -> None:
    japan = await register(bot, country="JP")
    await register(bot, country="ID")
    korea = await register(bot, country="KR", lead="BPI")
    reply = await ask(bot, RAJESH, "/status Jepun")
    assert refs(reply.text) == [japan]
    assert reply.text.splitlines()[:2] == ["1 open case", "Showing: Japan"]
    assert refs((await ask(bot, RAJESH, "/status south korea")).text) == [korea]
    assert refs((await ask(bot, AMINAH, "/status Korea Selatan")).text) == [korea]


async def test_a_division_and_overdue_only(bot: Bot) -> None:
    late = await register(bot, lead="BKKA", when=at(date(2026, 8, 3)))  # step 2 due 17 August
    await register(bot, lead="BKKA")
    await register(bot, lead="BPI", when=at(date(2026, 8, 3)))
    bot.clock.now = at(date(2026, 9, 8))
    reply = await ask(bot, RAJESH, "/status BKKA lewat")
    assert refs(reply.text) == [late]
    assert reply.text.splitlines()[:2] == [
        "1 open case · 1 overdue",
        "Showing: Security and Public Order Division (BKKA) · overdue only"]
    assert len(refs((await ask(bot, RAJESH, "/status overdue")).text)) == 2


async def test_the_cases_closed_in_a_year(bot: Bot) -> None:
    filed = await register(bot, until="done")  # every step done: completed in 2026
    await register(bot, until="done", when=at(date(2025, 11, 3)))
    still_open = await register(bot)
    reply = await ask(bot, RAJESH, "/status 2026 selesai")
    assert refs(reply.text) == [filed]
    assert reply.text.splitlines()[:2] == ["1 case", "Showing: Completed · closed in 2026"]
    closed = await ask(bot, RAJESH, "/status ditutup")
    assert refs(closed.text) == [filed, "IKA-2025-001"]  # the latest closed first
    assert refs((await ask(bot, RAJESH, "/status 2026")).text) == [still_open]


async def test_instrument_level_and_step(bot: Bot) -> None:
    treaty = await register(bot, instrument=Instrument.TREATY, level=Level.MULTILATERAL,
                            until="minit_cerai")
    await register(bot, instrument=Instrument.TREATY)
    await register(bot, level=Level.MULTILATERAL, until="minit_cerai")
    assert refs((await ask(bot, RAJESH, "/status triti pelbagai hala")).text) == [treaty]
    assert refs((await ask(bot, RAJESH, "/status treaty step 3")).text) == [treaty]


async def test_unknown_words_are_named_and_the_rest_still_applies(bot: Bot) -> None:
    japan = await register(bot, country="JP")
    await register(bot)
    reply = await ask(bot, RAJESH, "/status Japan zzqx")
    assert reply.text.splitlines()[0] == "Not understood, and left out: “zzqx”"
    assert refs(reply.text) == [japan]
    nothing = await ask(bot, RAJESH, "/status zzqx qqwv")
    assert nothing.text == ("There is no case ZZQX QQWV.\n/status lists the open cases.\n"
                            "Not understood, and left out: “zzqx”, “qqwv”")


async def test_a_filter_that_matches_nothing_says_how_to_widen_it(bot: Bot) -> None:
    japan = await register(bot, country="JP", lead="BKKA")
    bpi = await register(bot, country="ID", lead="BPI")
    reply = await ask(bot, RAJESH, "/status BPI Jepun")
    assert reply.text == ("No case matches: Immigration Management Division (BPI) · Japan.\n"
                          "To widen the search: /status JP, /status BPI")
    assert [label for row in reply.buttons for label, _ in row] == [
        "Japan", "Immigration Management Division (BPI)"]
    await bot.world.tap(bot.user(RAJESH), reply, reply.data_for("Japan"))
    await bot.world.wait_for(lambda: "1 open case" in (reply.text or ""), what="the wider list")
    assert refs(reply.text) == [japan]
    assert refs((await ask(bot, RAJESH, "/status BPI")).text) == [bpi]


async def test_a_long_list_offers_overdue_only_and_back(bot: Bot) -> None:
    for _ in range(13):
        await register(bot)
    late = await register(bot, when=at(date(2026, 8, 3)))
    bot.clock.now = at(date(2026, 9, 8))
    first = await ask(bot, AMINAH, "/status", chat=CHATS["AB"])
    assert [[label for label, _ in row] for row in first.buttons] == [["▶"], ["🔴 Lewat sahaja"]]
    await bot.world.tap(bot.user(AMINAH), first, first.data_for("🔴 Lewat sahaja"))
    await bot.world.wait_for(lambda: "Halaman" not in (first.text or ""), what="overdue only")
    assert refs(first.text) == [late]
    assert [[label for label, _ in row] for row in first.buttons] == [["Semua kes terbuka"]]
    await bot.world.tap(bot.user(AMINAH), first, first.data_for("Semua kes terbuka"))
    await bot.world.wait_for(lambda: "Halaman 1 daripada 2" in (first.text or ""),
                             what="every open case again")


async def test_done_offers_a_page_of_the_users_own_steps(bot: Bot) -> None:
    for _ in range(23):
        await register(bot, lead="BKKA")
    await register(bot, lead="BPI")
    ab_step = await register(bot, lead="BKKA", until="receive")
    first = await ask(bot, CHONG, "/done")
    labels = [label for row in first.buttons for label, _ in row]
    assert len(labels) == 21 and labels[-1] == "▶" and ab_step not in " ".join(labels)
    assert first.text == "Langkah manakah yang telah selesai?\nHalaman 1 daripada 2"
    pages = await walk(bot, CHONG, first)
    assert pages[-1].endswith("Halaman 2 daripada 2")
    labels = [label for row in first.buttons for label, _ in row]
    assert len(labels) == 4 and labels[-1] == "◀"
    mine = await ask(bot, AMINAH, "/done")
    assert [label for row in mine.buttons for label, _ in row] == [
        f"{ab_step} · Langkah 1: Terima maklumat dan maklumkan Bahagian berkaitan"[:60]]


async def test_words_between_filters_are_no_countries_and_nothing_typed_is_dropped(
        bot: Bot) -> None:
    antigua = await register(bot, country="AG", lead="BKKA")
    bdp = await register(bot, country="ID", lead="BDP")
    # "dan" is not Antigua dan Barbuda, and BKK (not a division) is offered as BKKA
    reply = await ask(bot, RAJESH, "/status BKK dan BDP")
    assert reply.text.splitlines()[:3] == [
        "“BKK” may mean Security and Public Order Division (BKKA): tap the one you mean.", "",
        "1 open case"]
    assert refs(reply.text) == [bdp]
    assert [label for row in reply.buttons for label, _ in row] == [
        "Security and Public Order Division (BKKA)", "All open cases"]
    await bot.world.tap(bot.user(RAJESH), reply, reply.data_for(
        "Security and Public Order Division (BKKA)"))
    await bot.world.wait_for(lambda: antigua in (reply.text or ""), what="BKKA's cases")
    assert refs(reply.text) == [antigua]
    # the, all, ke are named as not understood, not read as Congo, Marshall Islands, Kenya
    words = await ask(bot, RAJESH, "/status BDP the all ke")
    assert words.text.splitlines()[0] == "Not understood, and left out: “the”, “all”, “ke”"
    assert refs(words.text) == [bdp]


async def test_a_name_of_two_countries_asks_which_with_buttons(bot: Bot) -> None:
    korea = await register(bot, country="KR")
    await register(bot, country="KP")
    await register(bot, country="JP")
    reply = await ask(bot, RAJESH, "/status Korea")
    assert reply.text == "“Korea” may mean North Korea or South Korea: tap the one you mean."
    assert [[label for label, _ in row] for row in reply.buttons] == [
        ["North Korea"], ["South Korea"]]
    await bot.world.tap(bot.user(RAJESH), reply, reply.data_for("South Korea"))
    await bot.world.wait_for(lambda: "Showing" in (reply.text or ""), what="South Korea's cases")
    assert reply.text.splitlines()[:2] == ["1 open case", "Showing: South Korea"]
    assert refs(reply.text) == [korea]
    malay = await ask(bot, AMINAH, "/status Korea lewat")
    assert malay.text.splitlines()[0] == (
        "“Korea” boleh bermaksud Korea Selatan atau Korea Utara. Sila tekan yang dimaksudkan.")
    assert [label for row in malay.buttons for label, _ in row][:2] == [
        "Korea Selatan", "Korea Utara"]


async def test_a_replaced_word_and_dotted_codes_are_said(bot: Bot) -> None:
    britain = await register(bot, country="GB", lead="BPI")
    await register(bot, country="CX", lead="BPI")
    reply = await ask(bot, RAJESH, "/status BKKA BPI U.K.")
    assert reply.text.splitlines()[0] == (
        "Only the last word for the same thing is kept; left out: “BKKA”")
    assert refs(reply.text) == [britain]


async def test_a_word_of_many_meanings_offers_a_few_and_asks_for_more(bot: Bot) -> None:
    reply = await ask(bot, AMINAH, "/status Kepulauan Guinea")
    lines = reply.text.splitlines()
    assert len(lines) == 3 and lines[0].startswith("“Kepulauan” boleh bermaksud ")
    assert lines[1] == "Tiada dalam senarai? Taip nama negara itu dengan lebih lengkap."
    assert lines[2] == ("“Guinea” boleh bermaksud Guinea, Guinea Bissau, Guinea Khatulistiwa, "
                        "atau Papua New Guinea. Sila tekan yang dimaksudkan.")
    labels = [label for row in reply.buttons for label, _ in row]
    assert len(labels) == 12 and all(label.startswith("Kepulauan") for label in labels[:8])
    assert labels[8:] == ["Guinea", "Guinea Bissau", "Guinea Khatulistiwa", "Papua New Guinea"]
