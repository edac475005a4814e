"""The `ikabot` command, run for real in a subprocess, in a directory of the test's own."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.fake_telegram import FakeTelegram
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:not-a-real-token-tests-only"


def _clean_env(**settings: str) -> dict[str, str]:
    """The process environment without any ikabot setting from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in
           {name.upper() for name in Settings.model_fields}}
    env.update(settings)
    return env


def ikabot(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` in ``cwd`` with only the given settings."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=_clean_env(**settings),
        capture_output=True, text=True, timeout=180, check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line an operator's mistake produces: no traceback, nothing else."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ikabot: ")
    return lines[0]


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(count)


# --- run ------------------------------------------------------------------------------------


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "run")
    assert result.returncode == 2
    line = _one_line(result)
    assert "TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line and ".env" in line
    assert not (tmp_path / "ikabot.db").exists()


def test_a_blank_token_in_dotenv_is_missing_too(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = ikabot(tmp_path, "run", "--webhook")
    assert result.returncode == 2
    assert "@BotFather" in _one_line(result)


async def test_run_serves_telegram_until_interrupted_and_never_logs_the_token(
        tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n", encoding="utf-8")
    async with FakeTelegram(TOKEN) as tg:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path,
            env=_clean_env(TELEGRAM_BASE_URL=tg.base_url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            stranger = tg.world.add_user(777, "Stranger", language_code="en")
            await tg.world.wait_for(lambda: tg.world.polling, timeout=60, what="the bot polls")
            await tg.world.send_text(stranger, "/start")
            reply = await tg.world.wait_for_message(stranger.id, timeout=30)
            assert "777" in reply.text
            menu = tg.world.commands({"type": "all_private_chats"}, language_code="en")
            assert ("status", "Open cases, or one case: /status IKA-2026-001") in menu
        finally:
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    logged = (out + err).decode()
    assert "Traceback" not in logged
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert {"alembic_version", "cases", "divisions", "users", "events"} <= _tables(
        tmp_path / "ikabot.db")


def test_a_bad_setting_names_the_field(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, TIMEZONE="Asia/Atlantis")
    assert result.returncode == 2
    line = _one_line(result)
    assert "TIMEZONE" in line and "Asia/Atlantis" in line
    assert not (tmp_path / "ikabot.db").exists()


def test_a_bad_database_url_is_not_echoed_with_its_password(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "db", "upgrade", DATABASE_URL="mysql://ika:hunter2@db/ikabot")
    assert result.returncode == 2
    line = _one_line(result)
    assert "DATABASE_URL" in line and "hunter2" not in line


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    # port 1 on loopback: nothing listens there, so the connection is refused at once
    url = "postgresql://ika:hunter2@127.0.0.1:1/ikabot"
    result = ikabot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 2
    line = _one_line(result)
    assert "cannot open the database" in line and "127.0.0.1:1" in line
    assert "hunter2" not in line


def test_a_wrong_sop_file_names_its_line_and_field(tmp_path: Path) -> None:
    text = (ROOT / "bot" / "domain" / "sop.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("owner = \"lead\""))
    lines[at] = 'owner = "boss"'
    (tmp_path / "my-sop.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ikabot(tmp_path, "run", TELEGRAM_BOT_TOKEN=TOKEN, SOP_FILE="my-sop.toml")
    assert result.returncode == 2
    line = _one_line(result)
    assert f"my-sop.toml:{at + 1}" in line and "step.1.owner" in line


# --- db upgrade and org import ----------------------------------------------------------------


def test_db_upgrade_creates_the_tables_once(tmp_path: Path) -> None:
    db = tmp_path / "data" / "ika.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    first = ikabot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert "upgraded" in first.stdout
    assert {"alembic_version", "cases", "step_records", "divisions", "users", "events",
            "documents"} <= _tables(db)
    again = ikabot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_org_import_loads_the_example_and_is_idempotent(tmp_path: Path) -> None:
    shutil.copy(ROOT / "org.example.toml", tmp_path)
    result = ikabot(tmp_path, "org", "import", "org.example.toml")
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    divisions, users = _count(tmp_path / "ikabot.db", "divisions"), _count(
        tmp_path / "ikabot.db", "users")
    assert divisions >= 2 and users >= 2
    again = ikabot(tmp_path, "org", "import", "org.example.toml")
    assert again.returncode == 0 and "0 created, 0 updated" in again.stdout
    assert _count(tmp_path / "ikabot.db", "divisions") == divisions


def test_a_broken_org_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    lines = (ROOT / "org.example.toml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("kind = \"division\""))
    lines[at] = 'kind = "departmant"'
    (tmp_path / "org.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ikabot(tmp_path, "org", "import", "org.toml")
    assert result.returncode == 2
    line = _one_line(result)
    assert f"org.toml:{at + 1}" in line and "kind" in line
    assert _count(tmp_path / "ikabot.db", "divisions") == 0  # all or nothing


def test_a_missing_org_file_is_one_line(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "org", "import", "nowhere.toml")
    assert result.returncode == 2
    assert "nowhere.toml" in _one_line(result)


# --- the command itself -----------------------------------------------------------------------


def test_the_console_script_is_installed_and_lists_the_commands(tmp_path: Path) -> None:
    script = shutil.which("ikabot", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e . installs the `ikabot` command"
    result = subprocess.run([script, "--help"], cwd=tmp_path, env=_clean_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    for command in ("run", "db", "org", "i18n"):
        assert command in result.stdout


def test_version_is_the_installed_one(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ikabot {version('ikabot')}"


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = ikabot(tmp_path)
    assert result.returncode == 2 and "usage: ikabot" in result.stderr


def test_the_token_never_reaches_the_log(tmp_path: Path) -> None:
    script = f"""
import logging
from bot.cli import configure_logging
configure_logging().protect({TOKEN!r})
url = "https://api.telegram.org/bot{TOKEN}/getUpdates"
logging.getLogger("httpx").info("HTTP Request: POST %s", url)
logging.getLogger("telegram.ext.Updater").warning("Network error on %s", url)
logging.getLogger("bot.app").info("polling %s", url)
try:
    raise RuntimeError("cannot reach " + url)
except RuntimeError:
    logging.getLogger("telegram.ext.Application").exception("Error while getting updates")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_clean_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert "HTTP Request" not in result.stderr  # httpx's per-request INFO lines are off
    assert result.stderr.count("[REDACTED]") == 3  # the warning, the info, the traceback
    assert "RuntimeError: cannot reach https://api.telegram.org/bot[REDACTED]/getUpdates" in (
        result.stderr)


# --- i18n -------------------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the source tree, so `ikabot i18n` may rewrite its catalogs."""
    root = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.mo")
    for name in ("bot", "handlers", "storage", "locales"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy(ROOT / "babel.cfg", root)
    return root


def _catalog_bodies(root: Path) -> dict[str, str]:
    """The .po files without their header, which records dates."""
    return {lang: (root / "locales" / lang / "LC_MESSAGES" / "ikabot.po").read_text(
        encoding="utf-8").split("\n\n", 1)[1] for lang in ("ms", "en")}


def test_i18n_extracts_updates_and_compiles(checkout: Path) -> None:
    before = _catalog_bodies(checkout)
    result = ikabot(checkout, "i18n")
    assert result.returncode == 0, result.stderr
    assert "every message is translated" in result.stdout
    assert (checkout / "locales" / "ikabot.pot").is_file()
    for lang in ("ms", "en"):
        assert (checkout / "locales" / lang / "LC_MESSAGES" / "ikabot.mo").stat().st_size > 0
    assert _catalog_bodies(checkout) == before  # the committed catalogs were up to date


def test_i18n_adds_a_new_message_and_asks_for_its_translation(checkout: Path) -> None:
    with (checkout / "bot" / "messages.py").open("a", encoding="utf-8") as source:
        source.write('\n\nNEW = N_("The reminder for {case} was sent.")\n')
    result = ikabot(checkout, "i18n")
    assert result.returncode == 1
    assert "untranslated: 'The reminder for {case} was sent.'" in result.stderr
    for lang in ("ms", "en"):
        po = checkout / "locales" / lang / "LC_MESSAGES" / "ikabot.po"
        assert 'msgid "The reminder for {case} was sent."' in po.read_text(encoding="utf-8")
