"""One instance serves a database: on PostgreSQL a standby waits and takes over from a dead
leader; on SQLite a second instance is refused. The processes are real `ikabot run`s against the
fake Telegram, each through a server of its own, so every Bot API call is known by its caller."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from bot.fake_telegram import FakeTelegram, World
from bot.settings import Settings
from storage.leader import APPLICATION_NAME, AnotherInstance, Leadership, sole_instance

TOKEN = "123456789:not-a-real-token-tests-only"
RETRY = 0.5  # LEADER_RETRY_SECONDS for these tests: a standby asks twice a second
STARTED = 60.0  # seconds a process may take to start (imports, schema check) on a busy machine


class Line:
    """Every Bot API call that came through one server: what one process asked of Telegram."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.methods: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.world, name)

    async def call(self, method: str, values: Mapping[str, object],
                   uploads: Mapping[str, Any] | None = None) -> object:
        self.methods.append(method)
        return await self.world.call(method, values, uploads)

    def count(self, method: str) -> int:
        return sum(1 for m in self.methods if m.lower() == method.lower())


class Instance:
    """`python -m bot run` in a directory of its own, its log read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._news = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, cwd: Path, **settings: str) -> Instance:
        cwd.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k.upper() not in {name.upper() for name in Settings.model_fields}}
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, LEADER_RETRY_SECONDS=str(RETRY), **settings)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._news.set()
        self._news.set()

    async def wait_for_line(self, text: str, timeout: float) -> str:
        """The first line of the log containing ``text``, waiting for it if need be."""
        async def found() -> str:
            while True:
                self._news.clear()
                line = next((ln for ln in self.lines if text in ln), None)
                if line is not None:
                    return line
                if self._reader.done():
                    raise AssertionError(f"the process ended without logging {text!r}:\n"
                                         + self.log)
                await self._news.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {timeout}s:\n{self.log}") from None

    async def finish(self, timeout: float = 60) -> int:
        """The exit status, once the process ended and its log is read."""
        status = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return status

    async def stop(self) -> int:
        """Ctrl-C, as an operator stops it."""
        self.process.send_signal(signal.SIGINT)
        return await self.finish()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def world() -> World:
    """The fake Telegram's state, with a stranger who writes to the bot."""
    world = World(TOKEN)
    world.add_user(777, "Stranger", language_code="en")
    return world


@pytest.fixture
async def instances() -> AsyncIterator[list[Instance]]:
    """Processes a test started; any still running at its end is killed."""
    started: list[Instance] = []
    yield started
    for instance in started:
        instance.kill()
        await instance.finish()


async def _served(world: World, text: str = "/start") -> str:
    """A stranger writes to the bot; its reply (it says who they are)."""
    await world.send_text(world.users[777], text)
    reply = await world.wait_for_message(777, timeout=30)
    assert "777" in reply.text
    return reply.text


# --- PostgreSQL: a leader and a standby ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_only_the_leader_polls_and_a_standby_takes_over_when_it_dies(
        database_url: URL, world: World, instances: list[Instance], tmp_path: Path) -> None:
    url = database_url.render_as_string(hide_password=False)
    first_line, second_line = Line(world), Line(world)
    async with FakeTelegram(world=first_line) as first_api, \
            FakeTelegram(world=second_line) as second_api:
        first = await Instance.start(tmp_path / "a", DATABASE_URL=url,
                                     TELEGRAM_BASE_URL=first_api.base_url)
        instances.append(first)
        await first.wait_for_line("leader: this instance holds the lock", STARTED)
        await world.wait_for(lambda: world.polling, timeout=STARTED, what="the leader polls")

        second = await Instance.start(tmp_path / "b", DATABASE_URL=url,
                                      TELEGRAM_BASE_URL=second_api.base_url)
        instances.append(second)
        await second.wait_for_line("standby: another instance holds the lock", STARTED)
        await _served(world)  # by the leader
        assert first_line.count("getUpdates") >= 1
        assert second_line.count("getUpdates") == 0  # the standby waits without polling
        assert second_line.count("setMyCommands") == 0
        assert not [e for e in world.errors if e[0] == "getUpdates"]  # no 409: one poller

        first.process.send_signal(signal.SIGKILL)
        assert await first.finish() == -signal.SIGKILL
        # PostgreSQL ends the dead leader's session and frees its lock at once: the standby
        # has it at its next try, one retry period later.
        await second.wait_for_line("leader: this instance holds the lock", RETRY + 5)
        await _served(world)  # now by the former standby
        assert second_line.count("getUpdates") >= 1
        assert not [e for e in world.errors if e[0] == "getUpdates"]
        assert len(world.messages(777)) == 2  # each /start answered once

        assert await second.stop() == 0
    assert "Traceback" not in second.log
    assert TOKEN.split(":")[1] not in first.log + second.log


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_leader_that_loses_its_lock_stops_serving_and_says_so(
        database_url: URL, world: World, instances: list[Instance], tmp_path: Path) -> None:
    async with FakeTelegram(world=world) as api:
        leader = await Instance.start(tmp_path / "a", TELEGRAM_BASE_URL=api.base_url,
                                      DATABASE_URL=database_url.render_as_string(
                                          hide_password=False))
        instances.append(leader)
        await leader.wait_for_line("ikabot is ready", STARTED)
        # The lock's session ends under it (a database restart, a dropped connection).
        admin = database_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                (APPLICATION_NAME,))
        assert await leader.finish() == 1  # for a supervisor to restart it, as a standby
    assert "the lock's connection" in await leader.wait_for_line("ERROR", 1)
    assert leader.lines[-1].startswith("ikabot: the lock on ")
    assert "Traceback" not in leader.log


# --- SQLite: one instance per file ---------------------------------------------------------------


async def test_on_sqlite_a_second_instance_refuses_to_start_in_one_line(
        world: World, instances: list[Instance], tmp_path: Path) -> None:
    db = tmp_path / "shared" / "ikabot.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    first_line, second_line = Line(world), Line(world)
    async with FakeTelegram(world=first_line) as first_api, \
            FakeTelegram(world=second_line) as second_api:
        first = await Instance.start(tmp_path / "a", DATABASE_URL=url,
                                     TELEGRAM_BASE_URL=first_api.base_url)
        instances.append(first)
        await world.wait_for(lambda: world.polling, timeout=STARTED, what="the first polls")

        second = await Instance.start(tmp_path / "b", DATABASE_URL=url,
                                      TELEGRAM_BASE_URL=second_api.base_url)
        assert await second.finish() == 2
        assert len(second.lines) == 1, second.log  # one line, no traceback
        line = second.lines[0]
        assert line.startswith("ikabot: another ikabot (process ")
        assert f"is already running on {db}" in line and "PostgreSQL" in line
        assert second_line.methods == []  # it never spoke to Telegram

        await _served(world)  # the first one carries on

        # A killed instance leaves no stale lock: the next one starts and serves.
        first.process.send_signal(signal.SIGKILL)
        await first.finish()
        third = await Instance.start(tmp_path / "c", DATABASE_URL=url,
                                     TELEGRAM_BASE_URL=second_api.base_url)
        instances.append(third)
        await _served(world)
        assert await third.stop() == 0
    assert "Traceback" not in third.log


# --- the pieces ----------------------------------------------------------------------------------


def test_sole_instance_refuses_a_second_holder_naming_the_first(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    with sole_instance(url):
        with pytest.raises(AnotherInstance) as refused, sole_instance(url):
            pass
        assert f"(process {os.getpid()})" in str(refused.value)
    with sole_instance(url):  # released on leaving
        pass
    with sole_instance("sqlite+aiosqlite://"), sole_instance("sqlite+aiosqlite://"):
        pass  # an in-memory database has nothing to share


async def test_leadership_on_sqlite_is_granted_at_once(tmp_path: Path) -> None:
    leadership = Leadership(f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}", retry_seconds=RETRY)
    await leadership.acquire()
    assert leadership.held and not leadership.shared
    assert await leadership.still_held()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_advisory_lock_has_one_holder_and_goes_with_its_session(
        database_url: URL) -> None:
    first = Leadership(database_url, retry_seconds=RETRY)
    second = Leadership(database_url, retry_seconds=RETRY)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held() and not await second.still_held()
        await first.release()
        assert await second.try_acquire()

        # The leader's session is ended under it (a database restart, a dropped connection):
        # it notices at its next check, and the lock is free for a standby.
        admin = database_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as connection:
            ended = connection.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                (APPLICATION_NAME,)).fetchall()
        assert ended == [(True,)]
        assert not await second.still_held()
        assert second.lost and not second.held
        assert await first.try_acquire()
    finally:
        await first.release()
        await second.release()
