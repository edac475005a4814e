"""LOG_LEVEL and LOG_FORMAT: text or JSON lines on stderr, the case named, secrets never."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_cli import _clean_env, ikabot

TOKEN = "123456789:log-token-tests-only"
SECRET = "webhook-secret-tests-only"


def _log(tmp_path: Path, level: str, fmt: str) -> str:
    """What a process configured with ``level`` and ``fmt`` writes for a few typical records."""
    script = f"""
import logging
from bot.logs import configure_logging
redactor = configure_logging({level!r}, {fmt!r})
redactor.protect({TOKEN!r}); redactor.protect({SECRET!r})
log = logging.getLogger("handlers.notify")
log.debug("planning nudges for %s", "IKA-2026-007")
log.info("IKA-2026-007: step collect_input done")
log.warning("cannot write to chat %s: %s", -1001, "bot{TOKEN}/sendMessage refused")
logging.getLogger("telegram.ext.Updater").info("a library's chatter")
logging.getLogger("handlers.errors").info("the case", extra={{"case": "IKA-2026-008"}})
try:
    raise RuntimeError("secret was {SECRET}")
except RuntimeError:
    log.exception("IKA-2026-009: saved, but the chats could not all be told")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_clean_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == ""
    return result.stderr


def test_json_lines_name_the_case_and_hide_the_secrets(tmp_path: Path) -> None:
    out = _log(tmp_path, "INFO", "json")
    lines = [json.loads(line) for line in out.splitlines()]  # every line is one JSON object
    assert [(ln["level"], ln.get("case")) for ln in lines] == [
        ("INFO", "IKA-2026-007"), ("WARNING", None), ("INFO", "IKA-2026-008"),
        ("ERROR", "IKA-2026-009")]
    assert lines[0] == {"time": lines[0]["time"], "level": "INFO", "logger": "handlers.notify",
                        "message": "IKA-2026-007: step collect_input done",
                        "case": "IKA-2026-007"}
    assert lines[0]["time"].endswith("+00:00")
    assert "RuntimeError: secret was [REDACTED]" in lines[-1]["traceback"]
    assert TOKEN not in out and SECRET not in out and "[REDACTED]" in lines[1]["message"]


def test_log_level_sets_ikabots_own_loggers(tmp_path: Path) -> None:
    debug = _log(tmp_path, "DEBUG", "text")
    assert "planning nudges for IKA-2026-007" in debug
    assert "a library's chatter" not in debug  # libraries stay at WARNING
    quiet = _log(tmp_path, "WARNING", "text")
    assert "step collect_input done" not in quiet
    assert "WARNING handlers.notify: cannot write to chat -1001" in quiet
    assert TOKEN not in debug + quiet and SECRET not in debug + quiet


def test_a_bad_log_setting_is_named(tmp_path: Path) -> None:
    result = ikabot(tmp_path, "db", "upgrade", LOG_LEVEL="loud")
    assert result.returncode == 2
    assert result.stderr.startswith("ikabot: invalid setting LOG_LEVEL")
    fine = ikabot(tmp_path, "db", "upgrade", LOG_LEVEL="debug", LOG_FORMAT="JSON")
    assert fine.returncode == 0, fine.stderr


def test_an_update_that_fails_is_logged_with_its_case() -> None:
    from datetime import UTC, datetime

    from telegram import CallbackQuery, Chat, Message, Update, User

    from handlers.errors import case_of

    person, chat = User(2001, "Chong", False), Chat(-1001, "supergroup")
    moment = datetime(2026, 9, 1, tzinfo=UTC)
    typed = Message(1, moment, chat, from_user=person, text="/note IKA-2026-0042 KLN called")
    tapped = Update(2, callback_query=CallbackQuery("q", person, "chat", data="rp:1:IKA-2026-007:x",
                                                    message=typed))
    assert case_of(Update(1, message=typed)) == "IKA-2026-0042"
    assert case_of(tapped) == "IKA-2026-007"  # the button names it first
    assert case_of(Update(3, message=Message(3, moment, chat, text="/help"))) is None
    assert case_of("not an update") is None
