"""bench/sweep.py works: a tiny run on each database. The benchmark itself is timed by hand
(bench/README.md); nothing here measures time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

BENCH = Path(__file__).resolve().parents[1] / "bench" / "sweep.py"


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_sweep_benchmark_runs_and_prints_its_table(db: str, request: pytest.FixtureRequest,
                                                       tmp_path: Path) -> None:
    where: list[str] = []
    if db == "postgresql":
        server: URL = request.getfixturevalue("postgres_server")
        where = ["--pg-url", server.render_as_string(hide_password=False)]
    result = subprocess.run(
        [sys.executable, str(BENCH), "--cases", "200", "--db", db, "--due", "20",
         "--repeat", "3", "--idle-repeat", "5", *where],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert table.startswith(f"{db}: 200 open cases")
    for line in ("| nothing due (n=5)", "| 20 due: check, claim + plan, mark sent (n=3)",
                 "| peak RSS of the sweeping process"):
        assert line in table, table
    assert not list(tmp_path.iterdir())  # the SQLite file was temporary; PostgreSQL's dropped


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_status_benchmark_runs_and_prints_its_table(db: str, request: pytest.FixtureRequest,
                                                        tmp_path: Path) -> None:
    where: list[str] = []
    if db == "postgresql":
        server: URL = request.getfixturevalue("postgres_server")
        where = ["--pg-url", server.render_as_string(hide_password=False)]
    result = subprocess.run(
        [sys.executable, str(BENCH.parent / "status.py"), "--cases", "200", "--db", db,
         "--repeat", "2", *where],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert table.startswith(f"{db}: 200 open cases, 20 closed")
    for line in ("| /status (n=2)", "| /status Jepun (n=2)", "| /status REF (n=2)",
                 "| /done (n=2)", "| peak RSS"):
        assert line in table, table
    assert not list(tmp_path.iterdir())


def test_the_updates_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH.parent / "updates.py"), "--updates", "24", "--pairs", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert table.startswith("24 updates a run, 1,000 open cases (SQLite)")
    assert "| with the whole-list /status |" in table and "| without it |" in table, table
    assert "Traceback" not in result.stderr, result.stderr
