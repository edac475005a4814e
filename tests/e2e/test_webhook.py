"""Webhook mode: Telegram's posts are served only with the secret token; others are refused."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from bot.app import build_application, serving
from bot.fake_telegram import FakeTelegram
from bot.settings import Settings
from bot.version import ikabot_version
from bot.webhook import WebhookServer
from storage.db import make_engine, session_factory
from storage.leader import Leadership
from storage.migrate import upgrade
from storage.org import import_org
from tests.conftest import empty_postgres
from tests.e2e.conftest import ORG_FILE, TOKEN
from tests.test_cli import _clean_env

SECRET = "s3cret-from-the-operator_42"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1788235200, "text": text,
        "chat": {"id": user_id, "type": "private", "first_name": "Aminah"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Aminah", "language_code": "ms"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }}


async def test_webhook_checks_the_secret_token(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await import_org(ORG_FILE, session_factory=session_factory(engine))
    await engine.dispose()
    port = _free_port()
    async with FakeTelegram(TOKEN) as tg:
        aminah = tg.world.add_user(1001, "Aminah")
        tg.world.chats[1001].started = True
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=TOKEN, telegram_base_url=tg.base_url, database_url=url,
            webhook_url=f"https://ikabot.example.gov.my/tg/{port}", webhook_port=port,
            webhook_secret=SECRET,
        )
        async with serving(build_application(settings), webhook=True), httpx.AsyncClient() as http:
            assert tg.world.webhook_url == settings.webhook_url
            target = f"http://127.0.0.1:{port}/tg/{port}"
            body = json.dumps(_update(1, aminah.id, "/start"))
            headers = {"Content-Type": "application/json"}
            forged = await http.post(target, content=body, headers=headers)
            wrong = await http.post(target, content=body, headers={
                **headers, "X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert forged.status_code == wrong.status_code == 403
            assert tg.world.messages(aminah.id) == []
            real = await http.post(target, content=body, headers={
                **headers, "X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert real.status_code == 200
            reply = await tg.world.wait_for_message(aminah.id, include_earlier=True)
            assert "Selamat datang" in reply.text

            health = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "version": ikabot_version()}
            assert (await http.post(target, content="not json", headers={
                **headers, "X-Telegram-Bot-Api-Secret-Token": SECRET})).status_code == 400
        # Once the bot has stopped, nothing answers there any more.
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/healthz")


async def test_healthz_answers_503_while_the_bot_is_not_serving(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    port = _free_port()
    async with FakeTelegram(TOKEN) as tg:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=TOKEN, telegram_base_url=tg.base_url, database_url=url,
            webhook_url=f"https://ikabot.example.gov.my/tg/{port}", webhook_port=port,
            webhook_secret=SECRET,
        )
        application = build_application(settings)
        server = WebhookServer(application, settings, "9.9.9")
        server.listen()  # as `ikabot run --webhook` does, before a standby waits for the lead
        await application.initialize()
        try:
            async with httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{port}/healthz")
                post = await http.post(
                    f"http://127.0.0.1:{port}/tg/{port}", content=json.dumps(_update(1, 1001,
                                                                                     "/start")),
                    headers={"Content-Type": "application/json",
                             "X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            assert post.status_code == 503  # Telegram sends it again later
            assert application.update_queue.empty()
        finally:
            await server.stop()
            await application.shutdown()
            await application.services.engine.dispose()


async def test_ikabot_run_webhook_serves_healthz_until_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    async with FakeTelegram(TOKEN) as tg:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--webhook", cwd=tmp_path,
            env=_clean_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=tg.base_url,
                           WEBHOOK_URL=f"https://ikabot.example.gov.my/tg/{port}",
                           WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET, LOG_FORMAT="json"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            public = f"https://ikabot.example.gov.my/tg/{port}"
            await tg.world.wait_for(lambda: tg.world.webhook_url == public, timeout=60,
                                    what="the bot sets its webhook")
            async with httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code == 200 and health.json()["status"] == "ok"
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    logged = [json.loads(line) for line in err.decode().splitlines()]
    assert any(line["message"] == "ikabot is ready" for line in logged)
    assert SECRET not in err.decode() and TOKEN not in err.decode()


@pytest.fixture
def postgres_url(_postgres_database: URL) -> URL:
    """The session's PostgreSQL database, emptied."""
    empty_postgres(_postgres_database)
    return _postgres_database


@pytest.mark.postgres
async def test_a_standby_answers_503_and_stops_on_sigterm(tmp_path: Path,
                                                          postgres_url: URL) -> None:
    url = postgres_url.render_as_string(hide_password=False)
    leader = Leadership(url, retry_seconds=0.5)
    await leader.acquire()  # another instance serves this database
    port = _free_port()
    try:
        async with FakeTelegram(TOKEN) as tg, httpx.AsyncClient() as http:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--webhook", cwd=tmp_path,
                env=_clean_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=tg.base_url,
                               DATABASE_URL=url, LEADER_RETRY_SECONDS="0.5",
                               WEBHOOK_URL=f"https://ikabot.example.gov.my/tg/{port}",
                               WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert process.stderr is not None
            logged = []

            async def standing_by() -> None:
                assert process.stderr is not None
                async for line in process.stderr:
                    logged.append(line.decode())
                    if "standby" in logged[-1]:
                        return

            await asyncio.wait_for(standing_by(), timeout=60)
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
            process.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(process.communicate(), timeout=60)
        err = "".join(logged) + rest.decode()
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert process.returncode == 0, err
        assert "Traceback" not in err and "stopping: a stop signal" in err
        assert tg.world.webhook_url != f"https://ikabot.example.gov.my/tg/{port}"
    finally:
        await leader.release()
