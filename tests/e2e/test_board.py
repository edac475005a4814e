"""AB's live board: one pinned message of the open cases, edited as they change (at most once
a minute, silently), left alone when nothing it shows changed, posted anew when deleted or
unpinned."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import build_application, serving
from bot.context import IkaApplication
from bot.domain.rules import AddNote, StartWait
from bot.domain.sop import WaitParty
from handlers.reminders import sweep
from storage.cases import load_case
from storage.nudges import rows_for
from tests.builders import KL
from tests.e2e.conftest import CHATS, Stage
from tests.e2e.test_outbox import AMINAH, CHONG, REF, _act, _register

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


async def _due(app: IkaApplication) -> datetime:
    """When the case's current step falls due."""
    async with app.services.sessions() as session:
        case = await load_case(session=session, ref=REF)
    assert case is not None and case.current_run is not None
    return case.current_run.due_at


def _board_text(stage: Stage) -> str:
    """What AB's board shows now."""
    world = stage.world
    board = world.chats[AB].pinned
    return next(m.text for m in world.messages(AB) if m.message_id == board)


async def test_time_alone_brings_the_board_up_to_date_and_back_when_deleted(
        stage: Stage) -> None:
    """No change is made: the step falls overdue at the close of office on its due date, the
    board says so at that look; deleted, it is back at the next look."""
    world, clock = stage.world, stage.clock
    world.chats[AB].bot_status = "administrator"
    async with serving(build_application(stage.settings, clock=clock)) as app:
        services = app.services
        await _register(app)
        clock.now += timedelta(minutes=1)
        await sweep(app.bot, services, holder="test")
        assert "0 melepasi tarikh akhir" in _board_text(stage)
        due = await _due(app)

        clock.now = due - timedelta(minutes=1)  # the evening before it falls due: no change
        await sweep(app.bot, services, holder="test")
        assert "0 melepasi tarikh akhir" in _board_text(stage)
        clock.now = due + timedelta(seconds=5)  # the close of office on its due date
        await sweep(app.bot, services, holder="test")
        assert "1 kes terbuka, 1 melepasi tarikh akhir" in _board_text(stage)
        [edit] = [e for e in _board_edits(stage) if "1 melepasi" in str(e["text"])]
        assert len(_board_posts(stage)) == 1  # edited in place, never re-sent

        board = world.chats[AB].pinned
        assert board is not None
        world.delete_by_person(AB, board)
        # the next look: the next office morning (Wednesday is Malaysia Day: Thursday's)
        look = services.procedure.planner.board_check_after(clock.now).at
        assert look == datetime(2026, 9, 17, 9, 0, tzinfo=KL)
        clock.now = look - timedelta(seconds=5)
        await sweep(app.bot, services, holder="test")
        assert len(_board_posts(stage)) == 1  # not before
        clock.now = look + timedelta(seconds=5)
        await sweep(app.bot, services, holder="test")
        assert len(_board_posts(stage)) == 2 and world.chats[AB].pinned not in (None, board)
        assert "1 melepasi tarikh akhir" in _board_text(stage)


async def test_a_step_waiting_on_others_is_listed_apart_on_the_board_not_as_late(
        stage: Stage) -> None:
    """Its clock is stopped: neither the board nor the digest counts it overdue."""
    world, clock = stage.world, stage.clock
    world.chats[AB].bot_status = "administrator"
    async with serving(build_application(stage.settings, clock=clock)) as app:
        services = app.services
        await _register(app)
        await _act(app, CHONG, StartWait("collect_input", WaitParty.KLN, "Nota Diplomatik"))
        assert await _due(app) == datetime(2026, 9, 15, 17, 0, tzinfo=KL)
        clock.now = datetime(2026, 9, 21, 10, 0, tzinfo=KL)  # Monday: the digest's day
        await sweep(app.bot, services, holder="test")
        text = _board_text(stage)
        digest = await world.wait_for_message(AB, contains="Ringkasan mingguan")
    for said in (text, digest.text):
        assert "1 kes terbuka, 0 melepasi tarikh akhir" in said
        _, apart = said.split("Menunggu maklum balas pihak lain")
        assert REF in apart and "Menunggu maklum balas KLN sejak" in apart


async def test_at_start_with_cases_open_the_boards_next_look_is_planned(stage: Stage) -> None:
    """After an upgrade no look is planned yet: the bot plans the next one when it starts
    (and none with no case open)."""
    clock = stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]
        async with app.services.sessions() as session:
            assert not [r for r in await rows_for(session=session) if r.kind == "board"]
        app.services.wake_outbox = lambda: None
        await _register(app)  # its board waits as a row; nothing has planned a look
    look = datetime(2026, 9, 1, 11, 0, tzinfo=KL)  # the next hour of office
    async with (serving(build_application(stage.settings, clock=clock)) as app,
                app.services.sessions() as session):
        boards = [r for r in await rows_for(session=session) if r.kind == "board"]
    assert look in {r.due_at for r in boards}
