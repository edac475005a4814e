"""Typed dates: the forms officers use, and nonsense refused."""

from datetime import date

import pytest

from bot.dates import parse_date


@pytest.mark.parametrize("text", ["31/8/2026", "31/08/2026", "31-08-2026", "31.8.2026",
                                  "2026-08-31", " 31/8/2026 "])
def test_forms_officers_type(text: str) -> None:
    assert parse_date(text) == date(2026, 8, 31)


@pytest.mark.parametrize("text", ["", "semalam", "31/13/2026", "30/2/2026", "8/31/2026x",
                                  "2026/08/31/1", "31 Ogos 2026", "99999"])
def test_nonsense_is_none(text: str) -> None:
    assert parse_date(text) is None
