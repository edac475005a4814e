"""`ikabot run` at start, as a real process: it waits out a network that is not up yet, and a
token Telegram rejects ends it in one line that holds no part of the token."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

from bot.fake_telegram import FakeTelegram
from tests.test_cli import _clean_env, _one_line, ikabot

TOKEN = "987654321:Zq8xW3vKp0LmT7rYb2NcJ5hG"  # no word of it in any message
GOOD_TOKEN = "123456789:not-a-real-token-tests-only"


def _no_part_of(token: str, text: str) -> None:
    """Neither the token, nor its secret half, nor any long piece of that."""
    secret = token.split(":")[1]
    pieces = {secret[i:i + 8] for i in range(len(secret) - 7)}
    assert token not in text and secret not in text
    assert not [piece for piece in pieces if piece in text]


async def test_a_token_telegram_rejects_is_one_line_without_it_and_exit_2(
        tmp_path: Path) -> None:
    async with FakeTelegram(GOOD_TOKEN) as tg:  # answers 401 to any other well-formed token
        result = await asyncio.to_thread(ikabot, tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN,
                                         TELEGRAM_BASE_URL=tg.base_url)
        assert [name for name, _ in tg.world.requests] == []  # refused before any method
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert line.startswith("ikabot: Telegram rejected the token")
    _no_part_of(TOKEN, result.stdout + result.stderr)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_with_telegram_unreachable_it_retries_then_serves_once_it_answers(
        tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there yet
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path,
        env=_clean_env(TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
                       TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while len([line for line in lines if "unreachable" in line]) < 2:
            raw = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert raw, "ikabot exited: " + "".join(lines)
            lines.append(raw.decode())
        async with FakeTelegram(GOOD_TOKEN, port=port) as tg:
            stranger = tg.world.add_user(777, "Stranger", language_code="en")
            await tg.world.wait_for(lambda: tg.world.polling, timeout=60, what="the bot polls")
            await tg.world.send_text(stranger, "/start")
            reply = await tg.world.wait_for_message(stranger.id, timeout=30)
            assert "777" in reply.text
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    logged = "".join(lines) + (out + err).decode()
    assert "Traceback" not in logged
    failures = [line for line in lines if "unreachable" in line]
    assert len(failures) == 2 and all(line.count("\n") == 1 for line in failures)
    assert "next try in 1 s" in failures[0] and "next try in 2 s" in failures[1]
    _no_part_of(GOOD_TOKEN, logged)
