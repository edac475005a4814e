"""`ikabot check`: one line a check, non-zero on any failure, never the token."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.checks import check_catalogs
from bot.fake_telegram import FakeTelegram
from bot.i18n import locales_root
from bot.settings import Settings
from storage.migrate import alembic_config, head_revision, upgrade
from tests.test_cli import _clean_env

TOKEN = "123456789:check-token-tests-only"
WHAT = ["settings", "database", "catalogs", "SOP", "documents", "telegram"]


async def check(cwd: Path, **settings: str) -> tuple[int, list[str], str]:
    """Run `ikabot check` in ``cwd``; its status, its lines, and everything it wrote."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", cwd=cwd, env=_clean_env(**settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), (out + err).decode()


def _status(lines: list[str]) -> dict[str, str]:
    """``{"database": "ok", "telegram": "FAIL", …}`` from the lines."""
    return {line[5:].split(":")[0]: line[:4].strip() for line in lines}


async def _ready(tmp_path: Path) -> dict[str, str]:
    await upgrade(f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}")
    (tmp_path / "documents").mkdir()
    return {"TELEGRAM_BOT_TOKEN": TOKEN}


async def test_a_healthy_setup_passes_every_check(tmp_path: Path) -> None:
    settings = await _ready(tmp_path)
    async with FakeTelegram(TOKEN) as tg:
        status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL=tg.base_url, **settings)
    assert status == 0, output
    assert list(_status(lines)) == WHAT and set(_status(lines).values()) == {"ok"}
    assert f"schema revision {head_revision()} (current)" in output
    assert "@ikabot_test_bot" in output
    assert TOKEN not in output and "Traceback" not in output


async def test_a_token_telegram_rejects_fails_without_showing_it(tmp_path: Path) -> None:
    await _ready(tmp_path)
    wrong = "987654321:a-token-telegram-does-not-know"
    async with FakeTelegram(TOKEN) as tg:
        status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL=tg.base_url,
                                            TELEGRAM_BOT_TOKEN=wrong)
    assert status == 1
    assert _status(lines)["telegram"] == "FAIL" and _status(lines)["database"] == "ok"
    assert "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)" in output
    assert wrong not in output and wrong.split(":")[1] not in output


async def test_a_database_one_revision_behind_fails(tmp_path: Path) -> None:
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    await upgrade(f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}", previous)
    (tmp_path / "documents").mkdir()
    async with FakeTelegram(TOKEN) as tg:
        status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL=tg.base_url,
                                            TELEGRAM_BOT_TOKEN=TOKEN)
    assert status == 1
    assert _status(lines) == {**dict.fromkeys(WHAT, "ok"), "database": "FAIL"}
    assert f"has revision {previous}, this ikabot needs {head}: run `ikabot db upgrade`" in output


async def test_an_unwritable_documents_dir_fails(tmp_path: Path) -> None:
    settings = await _ready(tmp_path)
    (tmp_path / "blocker").write_text("a file where a directory should be")
    async with FakeTelegram(TOKEN) as tg:
        status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL=tg.base_url,
                                            DOCUMENTS_DIR="blocker", **settings)
    assert status == 1
    assert _status(lines) == {**dict.fromkeys(WHAT, "ok"), "documents": "FAIL"}
    assert "blocker is not a directory" in output


async def test_a_check_makes_nothing_a_missing_database_or_documents_dir_fails(
        tmp_path: Path) -> None:
    """A probe changes nothing: no empty database, no documents directory on an unmounted
    volume's mount point."""
    async with FakeTelegram(TOKEN) as tg:
        status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL=tg.base_url,
                                            TELEGRAM_BOT_TOKEN=TOKEN)
    assert status == 1
    assert _status(lines) == {**dict.fromkeys(WHAT, "ok"), "database": "FAIL",
                              "documents": "FAIL"}
    assert "ikabot.db: no such file (run `ikabot db upgrade`" in output
    assert "documents does not exist" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


async def test_a_bad_setting_and_an_unreachable_database_fail(tmp_path: Path) -> None:
    status, lines, _ = await check(tmp_path, TIMEZONE="Asia/Atlantis")
    assert status == 1 and lines[0].startswith("FAIL settings: invalid setting TIMEZONE")
    status, lines, output = await check(
        tmp_path, DATABASE_URL="postgresql://ika:hunter2@127.0.0.1:1/ikabot",
        TELEGRAM_BASE_URL="http://127.0.0.1:1")
    assert status == 1 and "hunter2" not in output
    assert _status(lines)["database"] == _status(lines)["telegram"] == "FAIL"
    assert "TELEGRAM_BOT_TOKEN is not set" in output


def test_a_missing_catalog_fails(tmp_path: Path) -> None:
    shutil.copytree(locales_root(), tmp_path / "locales")
    (tmp_path / "locales" / "en" / "LC_MESSAGES" / "ikabot.po").unlink()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    result = check_catalogs(settings, tmp_path / "locales")
    assert not result.ok and "en catalog" in result.line() and result.line().startswith("FAIL")
    assert check_catalogs(settings).ok


async def test_a_database_from_a_newer_ikabot_fails(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    await upgrade(url)
    with sqlite3.connect(tmp_path / "ikabot.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    db.close()
    status, lines, output = await check(tmp_path, TELEGRAM_BASE_URL="http://127.0.0.1:1")
    assert status == 1 and _status(lines)["database"] == "FAIL"
    assert "has revision 9999, newer than this ikabot knows" in output
