"""deploy/ikabot.service: a unit systemd accepts as written, with the hardening it promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "ikabot.service"
INSTALLED = "/opt/ikabot/.venv/bin/ikabot"


def _settings(text: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit (keys may repeat), comments left out."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_runs_ikabot_as_a_dedicated_user_hardened() -> None:
    unit = _settings(UNIT.read_text(encoding="utf-8"))
    assert unit["User"] == ["ikabot"] and unit["Restart"] == ["on-failure"]
    assert unit["EnvironmentFile"] == ["/etc/ikabot/.env"]
    assert unit["ExecStart"] == [f"{INSTALLED} run"]
    assert unit["NoNewPrivileges"] == ["yes"] and unit["ProtectSystem"] == ["strict"]
    assert unit["CapabilityBoundingSet"] == [""] and unit["WantedBy"] == ["multi-user.target"]


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed here (it comes with systemd); the unit "
                    "is verified where it is, as on CI's Debian image")
    return found


def _installable(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's ikabot (verify checks it exists)."""
    ikabot = Path(sys.executable).parent / "ikabot"
    assert ikabot.is_file(), "pip install -e . installs the `ikabot` command"
    unit = tmp_path / "ikabot.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(ikabot)),
                    encoding="utf-8")
    return unit


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path, systemd_analyze: str) -> None:
    unit = _installable(tmp_path)
    result = subprocess.run([systemd_analyze, "verify", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)
    # verify exits 0 even for unknown keys and bad values; it warns on stderr, so: no output.
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr


def test_systemd_analyze_verify_would_see_a_mistake(tmp_path: Path,
                                                    systemd_analyze: str) -> None:
    unit = _installable(tmp_path)
    unit.write_text(unit.read_text().replace("NoNewPrivileges", "NoNewPrivilege"))
    result = subprocess.run([systemd_analyze, "verify", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert "Unknown key 'NoNewPrivilege'" in result.stderr


def test_the_units_exposure_is_low(tmp_path: Path, systemd_analyze: str) -> None:
    unit = _installable(tmp_path)
    # 0 is fully locked down, 10 is exposed; systemd calls up to 2.0 "OK".
    result = subprocess.run([systemd_analyze, "security", "--offline=yes", "--threshold=20",
                             str(unit)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout[-500:] + result.stderr
    assert "Overall exposure level for ikabot.service: 1." in result.stdout
