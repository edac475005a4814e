"""Reading a /status filter from words, and writing it back into a button."""

from __future__ import annotations

import pytest

from bot.domain.case import CaseStatus, Instrument, Level
from bot.domain.case_filter import CLOSED, CaseFilter, from_token, parse_filter
from bot.domain.sop import load_sop
from bot.i18n import load_translators

STEPS = load_sop().keys
NUMBERS = {key: n for n, key in enumerate(STEPS, start=1)}
MALAY = load_translators("ms").get("ms")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_filter(text.split(), divisions=["BKKA", "BPI", "BDP"], steps=STEPS,
                        countries=MALAY.find_countries)


def test_no_words_is_every_open_case() -> None:
    parsed = parse("")
    assert parsed.filter == CaseFilter() and parsed.filter.is_default and parsed.unknown == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("Jepun", CaseFilter(country="JP")),
    ("Japan", CaseFilter(country="JP")),
    ("korea selatan", CaseFilter(country="KR")),
    ("BKKA lewat", CaseFilter(division="BKKA", overdue=True)),
    ("bpi overdue", CaseFilter(division="BPI", overdue=True)),
    ("2026 selesai", CaseFilter(year=2026, statuses=frozenset({CaseStatus.COMPLETED}))),
    ("ditutup 2025", CaseFilter(year=2025, statuses=CLOSED)),
    ("mou dua hala", CaseFilter(instrument=Instrument.MOU, level=Level.BILATERAL)),
    ("pelan tindakan serantau", CaseFilter(instrument=Instrument.ACTION_PLAN,
                                           level=Level.REGIONAL)),
    ("langkah 3", CaseFilter(step="minit_cerai")),
    ("step 9", CaseFilter(step="file_copy")),
    ("2", CaseFilter(step="collect_input")),
    ("Triti Indonesia tidak diluluskan", CaseFilter(
        instrument=Instrument.TREATY, country="ID",
        statuses=frozenset({CaseStatus.NOT_APPROVED}))),
])
def test_words_in_malay_or_english(text: str, expected: CaseFilter) -> None:
    parsed = parse(text)
    assert parsed.filter == expected and parsed.unknown == ()


def test_words_nothing_knows_are_handed_back_in_order() -> None:
    parsed = parse("BKKA zzqx lewat qqwv")
    assert parsed.filter == CaseFilter(division="BKKA", overdue=True)
    assert parsed.unknown == ("zzqx", "qqwv")
    # a division that may not lead cases, a step beyond the SOP's nine, a year out of range
    assert parse("AB langkah 12 1999").unknown == ("AB", "langkah", "12", "1999")


def test_a_later_word_replaces_an_earlier_one() -> None:
    assert parse("BKKA BPI").filter == CaseFilter(division="BPI")


@pytest.mark.parametrize("text", [
    "", "Jepun", "BKKA lewat", "2026 selesai", "ditutup", "withdrawn 2030", "mou dua hala",
    "program kerja pelbagai hala langkah 7 Papua New Guinea BDP lewat 2027",
])
def test_a_filter_reads_back_from_its_button_and_from_its_words(text: str) -> None:
    found = parse(text).filter
    token = found.token(NUMBERS)
    assert len(f"pg:1:{token}:9999".encode()) <= 64
    assert from_token(token, STEPS) == found
    assert parse(" ".join(found.words(NUMBERS))).filter == found


@pytest.mark.parametrize("token", ["f-q", "f-s0", "f-s10", "f-y1999", "f-cjp", "f-ixx", "x", "f-"])
def test_a_forged_token_reads_as_nothing(token: str) -> None:
    assert from_token(token, STEPS) is None


def test_each_way_to_widen_drops_one_condition() -> None:
    found = parse("BKKA Jepun lewat 2026 selesai").filter
    wider = found.parts()
    assert len(wider) == 5
    assert CaseFilter(division="BKKA", country="JP", year=2026,
                      statuses=frozenset({CaseStatus.COMPLETED})) in wider
    assert all(w != found for w in wider)
    assert CaseFilter().parts() == []
