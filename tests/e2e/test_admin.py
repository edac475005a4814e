"""Who is who: invitations end to end, /bind, and a conversation that outlives a restart."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import col, select

from bot.app import build_application, serving
from bot.fake_telegram.world import Message
from bot.fake_telegram.world import User as TgUser
from handlers.reminders import sweep
from storage.db import make_engine, session_factory
from storage.invites import hash_code
from storage.models import ConversationState, Division, EventRow, Invite, User, UserData
from storage.nudges import rows_for
from tests.e2e.conftest import CHATS, Bot, Stage

ADMIN = 9001  # writes in English (org.example.toml)
LINK = re.compile(r"https://t\.me/ikabot_test_bot\?start=([A-Za-z0-9_-]{20,64})")
BPI = "BPI · Immigration Management Division"


async def start_invite(stage: Stage, role: str, division: str) -> Message:
    """The administrator runs /invite and taps a role and a division; the name is asked."""
    admin = stage.user(ADMIN)
    await stage.world.send_text(admin, "/invite")
    card = await stage.world.wait_for_message(admin.id, contains="Choose their role")
    await stage.world.tap(admin, card, card.data_for(role))
    card = await stage.world.wait_for_message(admin.id, contains="Choose their division")
    await stage.world.tap(admin, card, card.data_for(division))
    return await stage.world.wait_for_message(admin.id, contains="full name")


async def invite(stage: Stage, name: str, role: str = "Division officer",
                 division: str = BPI) -> tuple[str, Message]:
    """An invitation made end to end: its code, and the message that shows its link."""
    await start_invite(stage, role, division)
    await stage.world.send_text(stage.user(ADMIN), name)
    shown = await stage.world.wait_for_message(ADMIN, contains="t.me/")
    found = LINK.search(shown.text or "")
    assert found is not None, shown
    return found.group(1), shown


def newcomer(bot: Bot, telegram_id: int = 5001, language: str | None = "ms") -> TgUser:
    """Someone the bot has never heard of."""
    return bot.world.add_user(telegram_id, "Siti", language_code=language)


async def stored_user(bot: Bot, telegram_id: int) -> User | None:
    async with bot.app.services.sessions() as session:
        return await session.get(User, telegram_id)


async def stored_invite(bot: Bot, code: str) -> Invite:
    async with bot.app.services.sessions() as session:
        found = (await session.exec(
            select(Invite).where(col(Invite.code_hash) == hash_code(code)))).one()
    return found


# --- invitations -------------------------------------------------------------------------------


async def test_the_inviters_notice_is_an_outbox_row_retried_after_a_502(bot: Bot) -> None:
    """Written with the registration, in its transaction; a 502 when it is sent, and it
    arrives, once, at a later sweep."""
    world, services = bot.world, bot.app.services
    code, _ = await invite(bot, "Siti Aishah binti Omar")
    services.wake_outbox = lambda: None  # the notice waits as a row for the sweeps below
    siti = newcomer(bot)
    await world.send_text(siti, f"/start {code}")
    await world.wait_for_message(siti.id, contains="Selamat datang")
    async with services.sessions() as session:
        [row] = [r for r in await rows_for(session=session) if r.kind == "joined"]
    assert (row.target, row.sent_at) == (f"user:{ADMIN}", None)

    world.fail_next("sendMessage", status=502, description="Bad Gateway")
    await sweep(bot.app.bot, services, holder="test")
    assert not [m for m in world.messages(ADMIN) if "has joined" in (m.text or "")]
    bot.clock.now += timedelta(minutes=3)  # past the retry's back-off
    await sweep(bot.app.bot, services, holder="test")
    await sweep(bot.app.bot, services, holder="test")
    [told] = [m for m in world.messages(ADMIN) if "has joined" in (m.text or "")]
    assert told.text == ("Siti Aishah binti Omar has joined ikabot as Division officer, "
                         "Immigration Management Division (BPI).")


async def test_an_invited_officer_joins_with_one_tap_and_is_known_from_then_on(bot: Bot) -> None:
    code, shown = await invite(bot, "Siti  Aishah binti Omar ")
    assert "Siti Aishah binti Omar" in (shown.text or "")
    assert "Division officer" in (shown.text or "") and "(BPI)" in (shown.text or "")
    assert "4 September 2026" in (shown.text or "")  # 72 hours from 1 September, 10:00
    stored = await stored_invite(bot, code)
    assert (stored.role, stored.division_code, stored.created_by, stored.used_at) == (
        "officer", "BPI", ADMIN, None)

    siti = newcomer(bot)
    await bot.world.send_text(siti, f"/start {code}")
    greeting = await bot.world.wait_for_message(siti.id)
    assert "Selamat datang ke ikabot, Siti Aishah binti Omar" in (greeting.text or "")
    assert "Pegawai Bahagian" in (greeting.text or "") and "BPI" in (greeting.text or "")
    told = await bot.world.wait_for_message(ADMIN, contains="has joined")
    assert "Siti Aishah binti Omar" in (told.text or "") and "Division officer" in (told.text or "")

    user = await stored_user(bot, siti.id)
    assert user is not None
    assert (user.name, user.role, user.division_code, user.language, user.active) == (
        "Siti Aishah binti Omar", "officer", "BPI", "ms", True)
    used = await stored_invite(bot, code)
    assert used.used_by == siti.id and used.used_at == bot.clock.now
    async with bot.app.services.sessions() as session:
        events = (await session.exec(select(EventRow).order_by(col(EventRow.id)))).all()
    assert [(e.kind, e.actor_id) for e in events][-2:] == [
        ("invite_created", ADMIN), ("user_registered", siti.id)]
    menu = [name for name, _ in bot.world.commands({"type": "chat", "chat_id": siti.id}, "ms")]
    assert "done" in menu and "invite" not in menu

    # From now on she is a registered officer: /start greets her as one, not as a stranger.
    await bot.world.send_text(siti, "/start")
    again = await bot.world.wait_for_message(siti.id)
    assert "Pegawai Bahagian" in (again.text or "") and "tidak berdaftar" not in (again.text or "")


async def test_a_viewer_may_be_invited_without_a_division(bot: Bot) -> None:
    code, shown = await invite(bot, "Encik Lim", role="Viewer", division="No division")
    assert "Viewer, -" in (shown.text or "")
    lim = newcomer(bot, 5002, language="en")
    await bot.world.send_text(lim, f"/start {code}")
    greeting = await bot.world.wait_for_message(lim.id)
    assert "Welcome to ikabot, Encik Lim" in (greeting.text or "")
    user = await stored_user(bot, lim.id)
    assert user is not None and (user.role, user.division_code, user.language) == (
        "viewer", None, "en")


async def test_an_officer_must_have_a_division(bot: Bot) -> None:
    admin = bot.user(ADMIN)
    await bot.world.send_text(admin, "/invite")
    card = await bot.world.wait_for_message(admin.id, contains="Choose their role")
    await bot.world.tap(admin, card, card.data_for("Division officer"))
    card = await bot.world.wait_for_message(admin.id, contains="Choose their division")
    labels = [label for row in card.buttons for label, _ in row]
    assert "No division" not in labels and BPI in labels
    forged = await bot.world.forge_tap(admin, card, "ch:1:inv_div:-")
    await bot.world.wait_for(lambda: bot.world.tap_answer(forged))
    answer = bot.world.tap_answer(forged)
    assert answer is not None and "no longer valid" in (answer.text or "")
    await bot.world.tap(admin, card, card.data_for(BPI))  # the conversation is still there
    await bot.world.wait_for_message(admin.id, contains="full name")


async def test_a_used_link_is_refused_and_changes_nothing(bot: Bot) -> None:
    code, _ = await invite(bot, "Siti Aishah")
    await bot.world.send_text(newcomer(bot), f"/start {code}")
    await bot.world.wait_for_message(5001, contains="Selamat datang")

    late = newcomer(bot, 5002, language="en")
    await bot.world.send_text(late, f"/start {code}")
    reply = await bot.world.wait_for_message(late.id)
    assert "has been used already" in (reply.text or "")
    assert await stored_user(bot, late.id) is None
    assert (await stored_invite(bot, code)).used_by == 5001


async def test_an_expired_link_is_refused_and_changes_nothing(bot: Bot) -> None:
    code, _ = await invite(bot, "Siti Aishah")
    bot.clock.now += timedelta(hours=72)  # INVITE_TTL_HOURS
    siti = newcomer(bot)
    await bot.world.send_text(siti, f"/start {code}")
    reply = await bot.world.wait_for_message(siti.id)
    assert "telah tamat tempoh pada 4 September 2026" in (reply.text or "")
    assert await stored_user(bot, siti.id) is None
    assert (await stored_invite(bot, code)).used_at is None
    await bot.world.send_text(siti, "/status")  # still a stranger
    assert "5001" in ((await bot.world.wait_for_message(siti.id)).text or "")


async def test_a_forged_link_is_refused(bot: Bot) -> None:
    stranger = newcomer(bot, language="en")
    await bot.world.send_text(stranger, "/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    reply = await bot.world.wait_for_message(stranger.id)
    assert "This invitation link is not valid" in (reply.text or "")
    assert await stored_user(bot, stranger.id) is None


async def test_a_registered_user_opening_a_link_leaves_it_for_its_owner(bot: Bot) -> None:
    code, _ = await invite(bot, "Siti Aishah")
    aminah = bot.user(1001)
    await bot.world.send_text(aminah, f"/start {code}")
    reply = await bot.world.wait_for_message(aminah.id)
    assert "sudah berdaftar" in (reply.text or "")
    user = await stored_user(bot, aminah.id)
    assert user is not None and user.role == "ab"  # unchanged
    await bot.world.send_text(newcomer(bot), f"/start {code}")
    await bot.world.wait_for_message(5001, contains="Selamat datang")


async def test_only_an_administrator_invites_and_only_in_private(bot: Bot) -> None:
    aminah = bot.user(1001)
    await bot.world.send_text(aminah, "/invite")
    reply = await bot.world.wait_for_message(aminah.id)
    assert "Hanya pentadbir ikabot" in (reply.text or "") and not reply.buttons

    await bot.world.send_text(bot.user(ADMIN), "/invite", chat=CHATS["AB"])
    reply = await bot.world.wait_for_message(CHATS["AB"])
    assert "/invite" in (reply.text or "") and not reply.buttons
    async with bot.app.services.sessions() as session:
        assert (await session.exec(select(Invite))).all() == []


async def test_cancel_leaves_the_conversation_and_its_buttons(bot: Bot) -> None:
    admin = bot.user(ADMIN)
    card = await start_invite(bot, "Viewer", "No division")
    await bot.world.send_text(admin, "/cancel")
    await bot.world.wait_for_message(admin.id, contains="Invitation cancelled")

    await bot.world.send_text(admin, "Someone")  # no longer taken as the name
    reply = await bot.world.wait_for_message(admin.id)
    assert "/help" in (reply.text or "") and "invit" not in (reply.text or "").lower()
    # The card's buttons are gone, but a client showing an old copy may still send them.
    query = await bot.world.forge_tap(admin, card, "ch:1:inv_div:BPI")
    await bot.world.wait_for(lambda: bot.world.tap_answer(query))
    answer = bot.world.tap_answer(query)
    assert answer is not None and "no longer valid" in (answer.text or "")
    async with bot.app.services.sessions() as session:
        assert (await session.exec(select(Invite))).all() == []


# --- /bind -------------------------------------------------------------------------------------


async def test_an_administrator_binds_a_new_group_to_a_division(bot: Bot) -> None:
    admin, aminah = bot.user(ADMIN), bot.user(1001)
    group = bot.world.add_group(-1002000000001, "BPI baru", members=[admin, aminah],
                                bot_member=True)
    await bot.world.send_text(admin, "/bind bpi", chat=group.id)
    reply = await bot.world.wait_for_message(group.id)
    # BPI's group reads Malay; its old group no longer gets its messages.
    assert "Kumpulan ini kini dipautkan kepada Bahagian Pengurusan Imigresen (BPI)" in (
        reply.text or "")
    assert "Kumpulan Telegram lama Bahagian tersebut tidak lagi menerima" in (reply.text or "")
    async with bot.app.services.sessions() as session:
        bpi = await session.get(Division, "BPI")
        event = (await session.exec(select(EventRow).where(
            col(EventRow.kind) == "chat_bound"))).one()
    assert bpi is not None and bpi.chat_id == group.id
    assert event.actor_id == ADMIN and event.data["replaced_chat"] == CHATS["BPI"]

    await bot.world.send_text(aminah, "/help", chat=group.id)  # the group is heard now
    assert "/status" in ((await bot.world.wait_for_message(group.id)).text or "")


async def test_binding_a_divisions_group_to_another_moves_it(bot: Bot) -> None:
    await bot.world.send_text(bot.user(ADMIN), "/bind BKKA", chat=CHATS["BDP"])
    reply = await bot.world.wait_for_message(CHATS["BDP"])  # in BKKA's language, Malay
    assert "dipautkan kepada Bahagian Keselamatan dan Ketenteraman Awam (BKKA)" in (
        reply.text or "")
    assert ("Bahagian Dasar Penjara dan Pemulihan (BDP) kini tiada kumpulan Telegram"
            in (reply.text or ""))
    async with bot.app.services.sessions() as session:
        bdp, bkka = await session.get(Division, "BDP"), await session.get(Division, "BKKA")
    assert bdp is not None and bdp.chat_id is None
    assert bkka is not None and bkka.chat_id == CHATS["BDP"]


async def test_bind_with_an_unknown_or_no_code_lists_the_codes(bot: Bot) -> None:
    group = bot.world.add_group(-1002000000002, "Baru", members=[bot.user(ADMIN)],
                                bot_member=True)
    await bot.world.send_text(bot.user(ADMIN), "/bind XYZ", chat=group.id)
    reply = await bot.world.wait_for_message(group.id)
    assert "XYZ" in (reply.text or "") and "AB, BDP, BKKA, BPI, PT" in (reply.text or "")
    await bot.world.send_text(bot.user(ADMIN), "/bind", chat=group.id)
    reply = await bot.world.wait_for_message(group.id)
    assert "/bind" in (reply.text or "") and "AB, BDP, BKKA, BPI, PT" in (reply.text or "")
    assert "ID sembang kumpulan ini ialah -1002000000002." in (reply.text or "")
    async with bot.app.services.sessions() as session:
        bound = (await session.exec(select(Division).where(
            col(Division.chat_id) == group.id))).all()
    assert bound == []


async def test_only_an_administrator_binds(bot: Bot) -> None:
    aminah = bot.user(1001)
    group = bot.world.add_group(-1002000000003, "Baru", members=[aminah], bot_member=True)
    await bot.world.send_text(aminah, "/bind AB", chat=group.id)
    reply = await bot.world.wait_for_message(group.id)
    assert "Hanya pentadbir ikabot" in (reply.text or "")
    async with bot.app.services.sessions() as session:
        ab = await session.get(Division, "AB")
    assert ab is not None and ab.chat_id == CHATS["AB"]


# --- restarts ----------------------------------------------------------------------------------


async def test_an_invitation_half_made_is_finished_after_a_restart(stage: Stage) -> None:
    admin = stage.user(ADMIN)
    async with serving(build_application(stage.settings, clock=stage.clock)):
        await start_invite(stage, "Division officer", BPI)
    # ikabot stopped while waiting for the name: where the admin stood is in the database.
    engine = make_engine(stage.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            state = (await session.exec(select(ConversationState))).one()
            draft = await session.get(UserData, ADMIN)
    finally:
        await engine.dispose()
    assert (state.name, state.key, state.state) == ("invite", f"[{ADMIN},{ADMIN}]", "name")
    assert draft is not None and draft.data == {"invite": {"role": "officer", "division": "BPI"}}

    async with serving(build_application(stage.settings, clock=stage.clock)) as restarted:
        await stage.world.send_text(admin, "Siti Aishah")
        shown = await stage.world.wait_for_message(admin.id, contains="t.me/")
        assert "Division officer" in (shown.text or "") and "(BPI)" in (shown.text or "")
        async with restarted.services.sessions() as session:
            stored = (await session.exec(select(Invite))).one()
        assert (stored.name, stored.role, stored.division_code) == ("Siti Aishah", "officer",
                                                                     "BPI")
    # Stopped again: the finished conversation and its draft are gone from the database too.
    engine = make_engine(stage.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            assert (await session.exec(select(ConversationState))).all() == []
            assert await session.get(UserData, ADMIN) is None
    finally:
        await engine.dispose()
