"""Start-up imports the driver of the configured database only, and Alembic only to migrate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrate import HEAD, upgrade_sync

PROBE = """
import json, sys
from bot.app import build_application
from bot.settings import Settings
settings = Settings(_env_file=None, telegram_bot_token="123456:TEST-probe",
                    database_url=sys.argv[1])
build_application(settings)
print(json.dumps(sorted(m for m in ("psycopg", "aiosqlite") if m in sys.modules)))
"""


def drivers_loaded(url: str, cwd: Path) -> list[str]:
    """The database drivers imported by building the application for ``url``, in a fresh
    interpreter (this one has imported both for other tests)."""
    done = subprocess.run([sys.executable, "-c", PROBE, url], capture_output=True, text=True,
                          cwd=cwd, check=True, timeout=120)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("url", "driver"), [
    ("sqlite+aiosqlite:///ikabot.db", "aiosqlite"),
    ("postgresql+psycopg://ikabot@127.0.0.1:5432/ikabot", "psycopg"),
])
def test_only_the_configured_databases_driver_is_imported(url: str, driver: str,
                                                          tmp_path: Path) -> None:
    assert drivers_loaded(url, tmp_path) == [driver]


UPGRADE = """
import json, sys
from storage.migrate import upgrade_sync, current_revision
import asyncio
upgrade_sync(sys.argv[1])
print(json.dumps(["alembic" in sys.modules, asyncio.run(current_revision(sys.argv[1]))]))
"""


def upgraded(url: str, cwd: Path) -> list[object]:
    """Whether upgrading the database at ``url`` imported Alembic (in a fresh interpreter),
    and the revision it is at afterwards."""
    done = subprocess.run([sys.executable, "-c", UPGRADE, url], capture_output=True, text=True,
                          cwd=cwd, check=True, timeout=120)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_alembic_is_loaded_only_when_the_schema_must_change(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    upgrade_sync(url, "0009")
    assert upgraded(url, tmp_path) == [True, HEAD]  # behind: Alembic migrates it
    assert upgraded(url, tmp_path) == [False, HEAD]  # at the head: one read, no Alembic
