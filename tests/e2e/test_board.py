"""AB's live board: one pinned message of the open cases, edited as they change (at most once
a minute, silently), left alone when nothing it shows changed, posted anew when deleted or
unpinned."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_application, serving
from bot.domain.rules import AddNote
from handlers.reminders import sweep
from tests.e2e.conftest import CHATS, Stage
from tests.e2e.test_outbox import AMINAH, REF, _act, _register

AB = CHATS["AB"]


def _board_posts(stage: Stage) -> list[dict[str, object]]:
    return [c for c in stage.world.calls("sendMessage")
            if int(str(c["chat_id"])) == AB and "Papan kes ikabot" in str(c["text"])]


def _board_edits(stage: Stage) -> list[dict[str, object]]:
    return [c for c in stage.world.calls("editMessageText")
            if int(str(c["chat_id"])) == AB and "Papan kes ikabot" in str(c["text"])]


async def test_the_board_is_pinned_kept_up_to_date_and_recreated(stage: Stage) -> None:
    world, clock = stage.world, stage.clock
    world.chats[AB].bot_status = "administrator"  # AB lets the bot pin
    async with serving(build_application(stage.settings, clock=clock)) as app:
        services = app.services
        await _register(app)
        await sweep(app.bot, services, holder="test")
        assert not _board_posts(stage)  # not before the next whole minute
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        [post] = _board_posts(stage)
        assert post["disable_notification"] in (True, "true", "True")
        board = world.chats[AB].pinned
        assert board is not None and REF in next(
            m.text for m in world.messages(AB) if m.message_id == board)

        # Two new cases within one minute: one edit, at the next whole minute, in place.
        await _register(app)
        await _register(app)
        await sweep(app.bot, services, holder="test")
        assert _board_edits(stage) == []
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        await sweep(app.bot, services, holder="test")
        [edit] = _board_edits(stage)
        assert "3 kes terbuka" in str(edit["text"]) and world.chats[AB].pinned == board
        assert len(_board_posts(stage)) == 1

        # A change the board does not show (a note): nothing is edited.
        edits = len(_board_edits(stage))
        await _act(app, AMINAH, AddNote("KLN called"))
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        assert len(_board_edits(stage)) == edits and len(_board_posts(stage)) == 1

        # Deleted: the next change posts and pins a fresh one.
        world.delete_by_person(AB, board)
        await _act(app, AMINAH, AddNote("again"))
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        assert len(_board_posts(stage)) == 2
        fresh = world.chats[AB].pinned
        assert fresh is not None and fresh != board

        # Unpinned: the same.
        world.unpin(AB)
        await _act(app, AMINAH, AddNote("and again"))
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        assert len(_board_posts(stage)) == 3 and world.chats[AB].pinned not in (None, fresh)


async def test_without_the_right_to_pin_the_board_is_still_kept_up_to_date(stage: Stage) -> None:
    world, clock = stage.world, stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await _register(app)
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, app.services, holder="test")
        await _register(app)
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, app.services, holder="test")
    assert world.chats[AB].pinned is None
    assert len(_board_posts(stage)) == 1 and len(_board_edits(stage)) == 1
