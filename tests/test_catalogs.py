"""Every message in the code is translated in both catalogs, with the same placeholders.

The messages are extracted afresh from the source with Babel's own extractor, so a message added
to the code without `ikabot i18n` and a translation fails here, whatever the .pot says.
"""

from __future__ import annotations

import ast
import re
import string
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("bot", "handlers", "storage")
LANGUAGES = ("ms", "en")
GETTEXT_NAMES = {"_", "gettext", "ngettext", "pgettext", "npgettext", "N_"}

# A message key as a catalog knows it: (context, msgid) where msgid is the singular form.
Key = tuple[str | None, str]


def _source_messages() -> dict[Key, tuple[str, ...]]:
    """Every message the code marks for translation: key -> its forms (singular, plural)."""
    found: dict[Key, tuple[str, ...]] = {}
    for directory in SOURCE_DIRS:
        if not (ROOT / directory).is_dir():
            continue
        for _, _, message, _, context in extract_from_dir(
            str(ROOT / directory), [("**.py", "python")], keywords=DEFAULT_KEYWORDS
        ):
            forms = message if isinstance(message, tuple) else (message,)
            found[(context, forms[0])] = forms
    return found


def _read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=lang, domain="ikabot")


def _catalog(lang: str) -> Catalog:
    return _read(ROOT / "locales" / lang / "LC_MESSAGES" / "ikabot.po", lang)


def _forms(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _entries(catalog: Catalog) -> dict[Key, Message]:
    return {(m.context, _forms(m.id)[0]): m for m in catalog if m.id}


SOURCE = _source_messages()


def test_the_source_has_messages_to_check() -> None:
    # guards the extraction itself: a broken keyword list would make every other test vacuous
    assert len(SOURCE) >= 50
    assert (None, "Step {number}: {title}") in SOURCE
    assert (None, "Top management") in SOURCE  # marked with N_ in a table


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_source_message_is_translated_and_not_fuzzy(lang: str) -> None:
    entries = _entries(_catalog(lang))
    missing = [key[1] for key in SOURCE if key not in entries]
    fuzzy = [key[1] for key in SOURCE if key in entries and entries[key].fuzzy]
    empty = [key[1] for key in SOURCE if key in entries and not all(_forms(entries[key].string))]
    assert not missing, f"not in the {lang} catalog (run `ikabot i18n`): {missing}"
    assert not fuzzy, f"fuzzy in the {lang} catalog (review, then drop the flag): {fuzzy}"
    assert not empty, f"untranslated in the {lang} catalog: {empty}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_messages_keep_their_plural(lang: str) -> None:
    entries = _entries(_catalog(lang))
    for key, forms in SOURCE.items():
        if key not in entries:
            continue  # reported by the test above
        assert _forms(entries[key].id) == forms, f"stale plural for {key[1]!r} (run `ikabot i18n`)"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_the_english(lang: str) -> None:
    entries = _entries(_catalog(lang))
    wrong = []
    for key, forms in SOURCE.items():
        if key not in entries:
            continue
        allowed = set().union(*(_fields(f) for f in forms))
        for text in _forms(entries[key].string):
            # each form must fill every field of the singular and invent none
            if _fields(text) - allowed or _fields(forms[0]) - _fields(text):
                wrong.append((forms[0], text))
    assert not wrong, f"placeholders differ in the {lang} catalog: {wrong}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_obsolete_or_stale_entries_pile_up(lang: str) -> None:
    catalog = _catalog(lang)
    assert not catalog.obsolete, f"obsolete entries in {lang} (run `ikabot i18n`)"
    stale = [key[1] for key in _entries(catalog) if key not in SOURCE]
    assert not stale, f"entries no longer in the code, in {lang}: {stale}"


def test_the_template_matches_the_source() -> None:
    template = _entries(_read(ROOT / "locales" / "ikabot.pot"))
    assert set(template) == set(SOURCE), "locales/ikabot.pot is out of date: run `ikabot i18n`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_headers_and_compilation(lang: str) -> None:
    catalog = _catalog(lang)
    assert str(catalog.locale) == lang
    assert not list(catalog.check())  # Babel's own checks (e.g. python-format)
    write_mo(BytesIO(), catalog)


def test_malay_is_translated_not_copied() -> None:
    entries = _entries(_catalog("ms"))
    copied = [key[1] for key in SOURCE
              if key in entries and _forms(entries[key].string)[0] == key[1]]
    assert not copied, f"Malay msgstr equal to the English: {copied}"


# KDN's own terms stay as they are in Malay; the English names of things become the Malay names.
_KEPT = ("Minit Cerai", "Nota Diplomatik", "KLN", "BJA", "KDN", "Tidak", "Ya", "ASEAN", "AB")
_NAMED = {
    "top management": "Pengurusan Tinggi",
    "international division": "Bahagian Antarabangsa",
    "lead division": "Bahagian berkaitan",
}


def test_malay_keeps_the_glossary_terms() -> None:
    entries = _entries(_catalog("ms"))
    wrong = []
    for key in SOURCE.keys() & entries.keys():
        english, malay = key[1], " ".join(_forms(entries[key].string))
        for term in _KEPT:
            if f" {term} " in f" {english} ".replace("(", " ").replace(")", " ").replace(
                "/", " "
            ) and term not in malay:
                wrong.append((english, term))
        for phrase, term in _NAMED.items():
            if phrase in english.lower() and term.lower() not in malay.lower():
                wrong.append((english, term))
    assert not wrong, f"the Malay catalog must use KDN's terms: {wrong}"


def _bad_gettext_calls(path: Path) -> list[str]:
    """Calls like _(f"…") or _("…".format(…)): the catalog would never hold that text."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        )
        if name not in GETTEXT_NAMES:
            continue
        for arg in node.args:
            formatted = isinstance(arg, ast.JoinedStr | ast.BinOp) or (
                isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                and arg.func.attr == "format"
            )
            if formatted:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return bad


def test_no_formatting_inside_gettext_calls() -> None:
    files = [f for d in SOURCE_DIRS if (ROOT / d).is_dir() for f in (ROOT / d).rglob("*.py")]
    bad = [where for f in files for where in _bad_gettext_calls(f)]
    assert not bad, f'format after translating, _("…{{x}}…").format(x=…), not inside: {bad}'


def test_english_has_real_plurals_not_parenthesised_ones() -> None:
    # "1 reminder(s)" is what a program says; the catalogs' plural forms say "1 reminder"
    entries = _entries(_catalog("en"))
    wrong = [text for key in SOURCE if key in entries
             for text in _forms(entries[key].string) if re.search(r"\w\(s\)", text)]
    assert not wrong, f'use ngettext, not "(s)": {wrong}'


# Words a Malaysian reader takes for Indonesian: KDN writes diminta, sila, berjaya, menghantar,
# pautan, mesej, anda perlu.
_INDONESIAN = re.compile(
    r"\b(dimohon|silakan|berhasil|mengirim|tautan|pesan|anda harus)\b", re.IGNORECASE)


def test_malay_has_no_indonesian_leaning_words() -> None:
    entries = _entries(_catalog("ms"))
    wrong = [(text, found.group(0)) for key in SOURCE if key in entries
             for text in _forms(entries[key].string) if (found := _INDONESIAN.search(text))]
    assert not wrong, f"Indonesian-leaning words in the Malay catalog: {wrong}"


@pytest.mark.parametrize(("word", "text"), [("dimohon", "Input dimohon daripada PDRM."),
                                             ("pesan", "Sila baca pesan ini."),
                                             ("anda harus", "Anda harus menghantar fail.")])
def test_the_indonesian_check_catches_each_word(word: str, text: str) -> None:
    found = _INDONESIAN.search(text)
    assert found is not None and found.group(0).lower() == word
    assert _INDONESIAN.search("Sila hantar pesanan dan mesej itu.") is None
