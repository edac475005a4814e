"""TELEGRAM_PROXY: every call to Telegram, polling included, goes through the proxy."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.app import build_application, serving
from bot.fake_telegram import FakeTelegram
from storage.migrate import upgrade
from tests.e2e.conftest import TOKEN, Stage
from tests.proxies import HttpProxy, Socks5Proxy
from tests.test_cli import _clean_env, ikabot


@pytest.mark.parametrize("kind", [HttpProxy, Socks5Proxy], ids=["http", "socks5"])
async def test_the_bot_reaches_telegram_through_the_proxy(
        stage: Stage, kind: type[HttpProxy] | type[Socks5Proxy]) -> None:
    async with kind() as proxy:
        settings = stage.settings.model_copy(update={"telegram_proxy": proxy.url})
        async with serving(build_application(settings, clock=stage.clock)):
            stranger = stage.world.add_user(777, "Stranger", language_code="en")
            await stage.world.send_text(stranger, "/start")
            reply = await stage.world.wait_for_message(stranger.id, timeout=30)
            assert "777" in reply.text
        methods = proxy.methods()
    # Both request objects: PTB's getUpdates one, and the one for every other call.
    assert "getUpdates" in methods and "sendMessage" in methods and "getMe" in methods
    assert len(methods) == len(stage.world.requests) > 3  # nothing went around it


async def test_check_reaches_telegram_through_the_proxy(tmp_path: Path, stage: Stage) -> None:
    (tmp_path / "documents").mkdir(exist_ok=True)
    async with HttpProxy() as proxy:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", cwd=tmp_path, env=_clean_env(
                TELEGRAM_BOT_TOKEN=stage.settings.telegram_bot_token.get_secret_value()
                if stage.settings.telegram_bot_token else "",
                TELEGRAM_BASE_URL=stage.settings.telegram_base_url,
                TELEGRAM_PROXY=proxy.url, DATABASE_URL=stage.settings.database_url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, out.decode() + err.decode()
    assert "through TELEGRAM_PROXY" in out.decode()
    assert proxy.methods() == ["getMe"]


def _certificate(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (openssl's own tool); the server's context."""
    cert, key = folder / "telegram.pem", folder / "telegram.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_to_telegram_goes_through_the_proxys_connect_tunnel(tmp_path: Path) -> None:
    """As with the real api.telegram.org: the proxy opens a tunnel and sees no request in it."""
    cert, context = _certificate(tmp_path)
    (tmp_path / "documents").mkdir()
    async with FakeTelegram(TOKEN, tls=context) as tg, HttpProxy() as proxy:
        url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
        await upgrade(url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", cwd=tmp_path, env=_clean_env(
                TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=tg.base_url,
                TELEGRAM_PROXY=proxy.url, DATABASE_URL=url, SSL_CERT_FILE=str(cert)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        calls, base_url = [method for method, _ in tg.world.requests], tg.base_url
    assert process.returncode == 0, out.decode() + err.decode()
    assert base_url.startswith("https://") and "through TELEGRAM_PROXY" in out.decode()
    assert proxy.requests == [f"CONNECT 127.0.0.1:{urlsplit(base_url).port}"]
    assert calls == ["getMe"]  # it reached Telegram, inside the tunnel


def test_a_proxy_setting_is_checked_without_showing_its_password(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "check", TELEGRAM_PROXY="ftp://ika:hunter2@proxy.example:21")
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL settings: invalid setting TELEGRAM_PROXY: use "
                                    "http://HOST:PORT or socks5://HOST:PORT")
    assert "hunter2" not in result.stdout + result.stderr
