"""bench/export.py works: a tiny run on each database. The benchmark itself is timed by hand
(bench/README.md); nothing here measures time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

BENCH = Path(__file__).resolve().parents[1] / "bench" / "export.py"


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_export_benchmark_runs_and_prints_its_table(db: str, request: pytest.FixtureRequest,
                                                        tmp_path: Path) -> None:
    where: list[str] = []
    if db == "postgresql":
        server: URL = request.getfixturevalue("postgres_server")
        where = ["--pg-url", server.render_as_string(hide_password=False)]
    result = subprocess.run(
        [sys.executable, str(BENCH), "--cases", "60", "--db", db, "--repeat", "1", *where],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert table.startswith(f"{db}: 60 cases")
    for line in ("| xlsx (n=1) |", "| csv (n=1) |", "| peak RSS: bot process / workbook writer"):
        assert line in table, table
    assert "60 cases" in result.stderr
