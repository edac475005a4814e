"""Typed text and file names made safe to store and show."""

from __future__ import annotations

import pytest

from bot.text import clean, clean_data, fit_file_name


@pytest.mark.parametrize(("typed", "kept"), [
    ("Wisma Putra, Bilik 2", "Wisma Putra, Bilik 2"),
    ("a\x00b", "ab"),
    ("line one\nline two\tcolumn", "line one\nline two\tcolumn"),
    ("carriage\r\nreturn", "carriage\nreturn"),
    ("\x1b[31mred\x1b[0m", "[31mred[0m"),
    ("del\x7f and c1\x85", "del and c1"),
    ("lone \ud800 surrogate", "lone  surrogate"),
    ("👨‍👩‍👧 family, ✅ and Jawi ڤوترا", "👨‍👩‍👧 family, ✅ and Jawi ڤوترا"),
])
def test_clean_drops_control_characters_and_keeps_newlines_and_tabs(typed: str,
                                                                    kept: str) -> None:
    assert clean(typed) == kept


def test_clean_data_cleans_every_string_keys_included() -> None:
    assert clean_data({"k\x00": ["a\x00", {"b": "c\x07"}, 3, None, True]}) == {
        "k": ["a", {"b": "c"}, 3, None, True]}


def test_a_long_file_name_is_cut_keeping_its_extension() -> None:
    name = fit_file_name("Laporan " * 50 + ".pdf", fallback="x.bin", limit=255)
    assert len(name) == 255 and name.endswith("….pdf") and name.startswith("Laporan Laporan")


@pytest.mark.parametrize(("given", "expected"), [
    ("Outcome\x00\n\tdocument.docx", "Outcome document.docx"),
    ("   ", "IKA-2026-001.bin"),
    (None, "IKA-2026-001.bin"),
    ("\x00\x01", "IKA-2026-001.bin"),
    ("short.pdf", "short.pdf"),
])
def test_a_file_name_is_cleaned_or_replaced(given: str | None, expected: str) -> None:
    assert fit_file_name(given, fallback="IKA-2026-001.bin", limit=255) == expected


@pytest.mark.parametrize("name", ["x" * 300, "a." + "b" * 300, "name.with a space " * 20])
def test_any_name_fits_the_limit(name: str) -> None:
    fitted = fit_file_name(name, fallback="f", limit=40)
    assert 0 < len(fitted) <= 40 and fitted.endswith("…")
