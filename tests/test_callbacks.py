"""Button data reads back exactly, and anything forged or stale reads as nothing."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.callbacks import (
    MAX_BYTES,
    AfterRefusal,
    Approve,
    Choice,
    Page,
    Report,
    ToggleInput,
    choice_pattern,
    decode,
    encode,
)

REFS = st.from_regex(r"IKA-20[2-9][0-9]-[0-9]{3}", fullmatch=True)
KEYS = st.from_regex(r"[a-z][a-z0-9_]{1,31}", fullmatch=True)


@given(REFS, st.integers(1, 999), st.booleans())
def test_approval_round_trip(ref: str, round_: int, approve: bool) -> None:
    button = Approve(ref, round_, approve)
    data = encode(button)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == button


@given(REFS, KEYS)
def test_report_and_revise_round_trip(ref: str, key: str) -> None:
    assert decode(encode(Report(ref, key))) == Report(ref, key)
    assert decode(encode(AfterRefusal(ref, key))) == AfterRefusal(ref, key)


def test_other_buttons_round_trip() -> None:
    for button in (ToggleInput("IKA-2026-001", "PDRM"), Page("open", 3), Page("IKA-2026-001", 0),
                   Choice("instrument", "mou"), Choice("date", "2026-08-31")):
        assert decode(encode(button)) == button


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "ap:1:IKA-2026-001:1:maybe",
        "ap:2:IKA-2026-001:1:y",  # a future or past version
        "ap:1:IKA-2026-001:1:y:extra",
        "ap:1:DROP TABLE:1:y",
        "st:1:IKA-2026-001:../../etc",
        "x" * 65,
        "ap:1:IKA-2026-001:1:y\n",
    ],
)
def test_forged_or_stale_data_reads_as_nothing(data: str | None) -> None:
    assert decode(data) is None


def test_encode_refuses_what_could_not_read_back() -> None:
    with pytest.raises(ValueError):
        encode(Report("IKA-2026-001", "Not A Key"))


def test_a_choice_pattern_takes_its_field_alone_or_every_field_it_starts() -> None:
    skip, level = encode(Choice("filed_date", "signed_on")), encode(Choice("new_level", "x"))
    assert choice_pattern("filed_date").match(skip)
    assert not choice_pattern("filed").match(skip)  # a field's whole name
    assert choice_pattern("new_", whole=False).match(level)
    assert not choice_pattern("new_", whole=False).match(skip)
