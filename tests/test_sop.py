"""The SOP file: the shipped nine steps, a ministry's override, and wrong files refused."""

from pathlib import Path

import pytest

from bot.domain.sop import Anchor, Capture, Owner, load_sop
from bot.tomlfile import TomlFileError

SHIPPED = Path(__file__).parents[1] / "bot" / "domain" / "sop.toml"


def test_shipped_sop_has_the_nine_steps_of_the_spec() -> None:
    sop = load_sop()
    owners = [s.owner for s in sop.step]
    assert len(sop.step) == 9
    assert owners == [Owner.AB, Owner.LEAD, Owner.LEAD, Owner.LEAD, Owner.LEAD, Owner.AB,
                      Owner.LEAD, Owner.LEAD, Owner.AB]
    assert [s.due.calendar_days for s in sop.step] == [3, 14, 3, 3, 3, 3, 3, 3, 3]
    assert sop.step[0].due.after is Anchor.RECEIVED
    assert sop.step_for(Capture.DECISION).key == "minit_cerai"
    assert sop.number("file_copy") == 9 and sop.next_key("file_copy") is None
    assert sop.get("minit_cerai").title("ms").startswith("Angkat Minit Cerai")
    assert sop.source("AGC") is not None and sop.source("AGC").name("en") == \
        "Attorney General's Chambers"  # type: ignore[union-attr]


def _variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "sop.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i + 1 for i, ln in enumerate(path.read_text().splitlines()) if needle in ln]
    return hits[nth - 1]


def test_a_ministry_may_override_durations_and_owners(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'due = { days = 2, unit = "weeks", after = "previous" }',
                    'due = { days = 21, after = "previous" }')
    path.write_text(path.read_text().replace('key = "inform_ab"\nowner = "lead"',
                                             'key = "inform_ab"\nowner = "ab"'))
    sop = load_sop(path)
    assert sop.get("collect_input").due.calendar_days == 21
    assert sop.get("inform_ab").owner is Owner.AB


def test_wrong_owner_is_refused_with_its_line_and_field(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'key = "negotiate"\nowner = "lead"',
                    'key = "negotiate"\nowner = "kln"')
    with pytest.raises(TomlFileError) as err:
        load_sop(path)
    assert err.value.field == "step.6.owner"
    assert err.value.line == _line_of(path, 'owner = "kln"')
    assert str(err.value).startswith(f"{path}:{err.value.line}")


def test_negative_duration_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'key = "file_copy"\nowner = "ab"\ncapture = "file_ref"',
                    'key = "file_copy"\nowner = "ab"\ncapture = "file_ref"')
    text = path.read_text()
    last_due = text.rindex("due = { days = 3")
    rest = text[last_due + len("due = { days = 3"):]
    path.write_text(text[:last_due] + "due = { days = -3" + rest)
    with pytest.raises(TomlFileError) as err:
        load_sop(path)
    assert err.value.field == "step.8.due.days"
    assert err.value.line == _line_of(path, "days = -3")


def test_unknown_field_and_bad_toml_are_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'key = "receive"', 'key = "receive"\ncolour = "red"')
    with pytest.raises(TomlFileError) as err:
        load_sop(path)
    assert err.value.field == "step.0.colour" and err.value.line == _line_of(path, "colour")
    broken = tmp_path / "broken.toml"
    broken.write_text('[sop]\nname_ms = "x\n')
    with pytest.raises(TomlFileError) as err:
        load_sop(broken)
    assert err.value.line == 2


def test_sop_without_a_decision_step_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'capture = "decision"\n', "")
    with pytest.raises(TomlFileError, match="exactly one step must capture 'decision'"):
        load_sop(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TomlFileError, match="cannot read the file"):
        load_sop(tmp_path / "nope.toml")
