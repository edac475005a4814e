"""Files are judged before they are downloaded, named to fit, and never left behind refused."""

from __future__ import annotations

from pathlib import Path

from bot.domain.rules import MAX_FILENAME, Withdraw, apply
from storage.cases import case_documents, change_case
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_flow import AMINAH, CHONG, REF, _user, seed_case

VIEWER = 4001


def kept_files(bot: Bot) -> list[Path]:
    root = bot.settings.documents_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _attaching(bot: Bot, who: int) -> None:
    await seed_case(bot)
    await bot.world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    await bot.world.send_text(bot.user(who), f"/attach {REF}")
    await bot.world.wait_for_message(who, contains="20 MB")


async def test_a_file_the_rules_refuse_is_not_even_downloaded(bot: Bot) -> None:
    await _attaching(bot, VIEWER)
    await bot.world.send_document(bot.user(VIEWER), "x.pdf", b"%PDF-1.4 x", "application/pdf")
    await bot.world.wait_for_message(VIEWER, contains="tidak membenarkan")
    assert bot.world.calls("getFile") == [] and kept_files(bot) == []


async def test_an_empty_file_is_refused_before_it_is_downloaded(bot: Bot) -> None:
    await _attaching(bot, CHONG)
    await bot.world.send_document(bot.user(CHONG), "kosong.pdf", b"", "application/pdf")
    await bot.world.wait_for_message(CHONG, contains="kosong")
    assert bot.world.calls("getFile") == [] and kept_files(bot) == []
    async with bot.app.services.sessions() as session:
        assert await case_documents(session=session, ref=REF) == []


async def test_a_long_name_with_control_characters_is_cleaned_and_shortened(bot: Bot) -> None:
    await _attaching(bot, CHONG)
    name = "Ulasan\x00 PDRM\n" + "sangat panjang " * 30 + ".pdf"
    await bot.world.send_document(bot.user(CHONG), name, b"%PDF-1.4 ulasan", "application/pdf")
    await bot.world.wait_for_message(CHONG, contains=REF)
    async with bot.app.services.sessions() as session:
        [document] = await case_documents(session=session, ref=REF)
    assert len(document.name) == MAX_FILENAME and document.name.startswith("Ulasan PDRM sangat")
    assert document.name.endswith("….pdf")
    [copy] = kept_files(bot)
    assert copy.read_bytes() == b"%PDF-1.4 ulasan" and copy.suffix == ".pdf"


async def test_a_file_whose_recording_is_refused_leaves_nothing_behind(bot: Bot) -> None:
    world, services = bot.world, bot.app.services
    await _attaching(bot, CHONG)
    world.fail_next("getFile", status=None, delay=1.0)  # answered, but a second late
    await world.send_document(bot.user(CHONG), "ulasan.pdf", b"%PDF-1.4 late", "application/pdf")
    await world.wait_for(lambda: world.calls("getFile"), what="the download to begin")
    aminah = await _user(bot, AMINAH)
    # Meanwhile AB withdraws the case: by the time the file is in, it may not be kept.
    await change_case(sessions=services.sessions, ref=REF, change=lambda case: apply(
        case, Withdraw(), actor=aminah, now=services.now(), procedure=services.procedure))
    await world.wait_for_message(CHONG, contains="Ditarik balik")
    assert kept_files(bot) == []
    async with services.sessions() as session:
        assert await case_documents(session=session, ref=REF) == []
