"""`ikabot demo` plays a whole case with the real bot, in Malay or English, with no token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings

FINALE = {"ms": ("Langkah 9", "Kes selesai", "Ya: diluluskan oleh KSU"),
          "en": ("Step 9", "The case is complete", "Ya: approved by KSU")}


@pytest.mark.parametrize("lang", ["ms", "en"])
def test_demo_plays_a_whole_case(lang: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in {name.upper() for name in Settings.model_fields}}
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--lang", lang], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    for words in FINALE[lang]:
        assert words in result.stdout
    assert "(protected: True)" in result.stdout  # the document AB got cannot be forwarded
    assert not list(tmp_path.iterdir()), "the demo leaves nothing behind"
