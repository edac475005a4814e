"""Reading a /status filter from words, and writing it back into a button."""

from __future__ import annotations

import pytest

from bot.countries import named
from bot.domain.case import CaseStatus, Instrument, Level
from bot.domain.case_filter import CLOSED, CaseFilter, Choice, from_token, parse_filter
from bot.domain.sop import load_sop

STEPS = load_sop().keys
NUMBERS = {key: n for n, key in enumerate(STEPS, start=1)}


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_filter(text.split(), divisions=["BKKA", "BPI", "BDP"], steps=STEPS,
                        countries=named)


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
    # ... and the earlier one is handed back, so the answer can say it was left out
    assert parse("BKKA BPI").replaced == ("BKKA",)
    assert parse("Jepun lewat Korea Selatan").replaced == ("Jepun",)
    assert parse("ditutup selesai 2025 2026").replaced == ("ditutup", "2025")
    assert parse("Jepun Japan JP lewat overdue").replaced == ()  # the same value again


@pytest.mark.parametrize(("text", "expected"), [
    ("BKKA dan lewat", CaseFilter(division="BKKA", overdue=True)),
    ("Jepun, BKKA, lewat", CaseFilter(country="JP", division="BKKA", overdue=True)),
    ("Jepun,lewat", CaseFilter(country="JP", overdue=True)),
    ("mou atau triti", CaseFilter(instrument=Instrument.TREATY)),
    ("di BPI yang lewat", CaseFilter(division="BPI", overdue=True)),
    ("Japan and overdue or closed", CaseFilter(country="JP", overdue=True, statuses=CLOSED)),
    ("in 2026 & selesai", CaseFilter(year=2026, statuses=frozenset({CaseStatus.COMPLETED}))),
    ("dan", CaseFilter()),
])
def test_connectors_between_filters_are_passed_over_unsaid(text: str,
                                                          expected: CaseFilter) -> None:
    parsed = parse(text)
    assert parsed.filter == expected and parsed.unknown == () and not parsed.choices


@pytest.mark.parametrize("text", ["the", "all", "ke", "jep", "ukr", "is", "to", "kes", "sini"])
def test_an_ordinary_word_is_never_a_country(text: str) -> None:
    parsed = parse(f"BPI {text}")
    assert parsed.filter == CaseFilter(division="BPI")
    assert parsed.unknown == (text,) and not parsed.choices


def test_dan_between_divisions_keeps_every_word_in_the_answer() -> None:
    parsed = parse("BKK dan BDP")
    assert parsed.filter == CaseFilter(division="BDP")  # "dan" is not Antigua dan Barbuda
    assert parsed.unknown == ("BKK",)  # BKK is not a division: named, not dropped
    assert parsed.choices == (Choice("BKK", "division", ("BKKA",)),)


@pytest.mark.parametrize(("text", "expected"), [
    ("U.K.", "GB"), ("u.k.", "GB"), ("UK", "GB"), ("uk", "GB"), ("U.S.A.", "US"), ("KE", "KE"),
    ("JP", "JP"), ("Ireland", "IE"), ("Perancis", "FR"), ("Belanda", "NL"),
    ("Netherlands", "NL"), ("Samoa", "WS"), ("Dominica", "DM"), ("Republik Czech", "CZ"),
    ("Czech Republic", "CZ"), ("Indo", "ID"), ("Filipina", "PH"), ("Saudi", "SA"),
    ("Papua New Guinea", "PG"), ("Antigua dan Barbuda", "AG"), ("Saint Kitts dan Nevis", "KN"),
    ("China (Tanah Besar)", "CN"), ("Timor-Leste", "TL"),
    ("United Kingdom of Great Britain and Northern Ireland", "GB"),
])
def test_a_country_by_a_whole_name_a_code_or_the_start_of_one(text: str, expected: str) -> None:
    parsed = parse(f"{text} lewat")
    assert parsed.filter == CaseFilter(country=expected, overdue=True)
    assert parsed.unknown == () and not parsed.choices and not parsed.replaced


@pytest.mark.parametrize(("text", "codes"), [
    ("Korea", {"KR", "KP"}), ("Kore", {"KR", "KP"}), ("Guinea", {"GN", "GW", "GQ", "PG"}),
    ("Congo", {"CG", "CD"}), ("Sudan", {"SD", "SS"}), ("Amer", {"US", "AS"}),
])
def test_a_name_of_several_countries_is_a_choice(text: str, codes: set[str]) -> None:
    parsed = parse(f"BKKA {text} lewat")
    assert parsed.filter == CaseFilter(division="BKKA", overdue=True)  # the rest still applies
    assert parsed.unknown == (text,) and parsed.not_understood == ()
    [choice] = parsed.choices
    assert (choice.word, choice.condition, set(choice.values)) == (text, "country", codes)
    assert {f.country for f in choice.options(parsed.filter)} == codes
    assert all(f.division == "BKKA" and f.overdue for f in choice.options(parsed.filter))


def test_the_start_of_a_division_code_is_a_choice_not_a_guess() -> None:
    parsed = parse("bkk lewat zzqx Korea")
    assert parsed.filter == CaseFilter(overdue=True)
    assert parsed.unknown == ("bkk", "zzqx", "Korea")
    assert parsed.not_understood == ("zzqx",)
    assert [(c.word, c.values) for c in parsed.choices] == [("bkk", ("BKKA",)),
                                                             ("Korea", ("KP", "KR"))]
    assert parsed.choices[0].options(parsed.filter) == [CaseFilter(division="BKKA",
                                                                   overdue=True)]
    assert parse("B").choices == ()  # one letter starts too much to mean anything


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
