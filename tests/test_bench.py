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
