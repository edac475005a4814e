"""Countries as Malaysian officers name and type them: CLDR's names with Malaysia's usage.

CLDR (through Babel) knows every country in Malay and English; Malaysia writes a few of them
differently ("Palestin", not "Wilayah Palestin"), and officers type short and old names ("UK",
"Cina", "Viet Nam") that CLDR does not list. A typed name finds one country, asks which of
several was meant, or suggests the closest names (difflib) when nothing matches.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

# CLDR territory codes that are not countries an IKA is signed with: groupings, placeholders and
# outlying areas that CLDR lists beside the ISO 3166 countries.
NOT_COUNTRIES = frozenset(
    {"AC", "CP", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)

# Where Malaysia's usage (Wisma Putra's lists, KDN's letters) differs from CLDR's name.
NAMES: Mapping[str, Mapping[str, str]] = {
    "ms": {
        "BN": "Brunei Darussalam",
        "CD": "Republik Demokratik Congo",
        "CG": "Republik Congo",
        "HK": "Hong Kong",
        "MM": "Myanmar",
        "MO": "Macau",
        "PS": "Palestin",
        "TR": "Türkiye",
    },
    "en": {
        "BN": "Brunei Darussalam",
        "CD": "Democratic Republic of the Congo",
        "CG": "Republic of the Congo",
        "HK": "Hong Kong",
        "MM": "Myanmar",
        "MO": "Macao",
        "PS": "Palestine",
    },
}

# Other names officers type, in either language. Each names one country only: a typed alias is
# taken as meant, so "UK" is the United Kingdom and never Ukraine.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "AE": ("UAE", "Emiriah", "Emiriah Arab Bersatu", "United Arab Emirates"),
    "BN": ("Brunei",),
    "CN": ("Cina", "China (Tanah Besar)", "Tanah Besar China", "Republik Rakyat China",
           "People's Republic of China", "PRC"),
    "CD": ("DR Congo", "DRC", "Congo Kinshasa"),
    "CG": ("Congo Brazzaville",),
    "GB": ("UK", "Britain", "Great Britain", "Britain Raya", "United Kingdom",
           "United Kingdom of Great Britain and Northern Ireland"),
    "KP": ("North Korea", "Korea Utara", "DPRK"),
    "KR": ("South Korea", "Korea Selatan", "Republic of Korea", "Republik Korea", "ROK"),
    "LA": ("Lao PDR", "Republik Demokratik Rakyat Laos"),
    "MM": ("Burma",),
    "PS": ("Palestine", "Palestin", "Negara Palestin", "State of Palestine",
           "Wilayah Palestin", "Palestinian Territories"),
    "RU": ("Rusia", "Russia", "Persekutuan Rusia", "Russian Federation"),
    "TL": ("Timor Leste", "East Timor", "Timor Timur"),
    "TR": ("Turki", "Turkey", "Turkiye"),
    "US": ("USA", "US", "Amerika", "America", "United States of America"),
    "VN": ("Viet Nam",),
}

SUGGESTIONS = 4  # at most this many closest names offered when nothing matches


def fold(text: str) -> str:
    """Lower case, no accents, words of letters and digits: "Côte d’Ivoire" -> "cote d ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def country_name(locale: Locale, lang: str, iso_code: str) -> str:
    """The country's name in ``lang`` as Malaysia writes it; the code when CLDR has none."""
    code = iso_code.strip().upper()
    name = NAMES.get(lang, {}).get(code) or locale.territories.get(code)
    return name if isinstance(name, str) else code


@dataclass(frozen=True)
class _Entry:
    """One country's code, folded names (both languages) and folded aliases."""

    code: str
    names: tuple[str, ...]
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def _index() -> tuple[_Entry, ...]:
    """Each country ikabot knows, with every name it may be typed as."""
    locales = {lang: Locale.parse(tag) for lang, tag in (("ms", "ms_MY"), ("en", "en_MY"))}
    codes = sorted(
        code for code in locales["en"].territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha()
        and code not in NOT_COUNTRIES
    )
    return tuple(
        _Entry(
            code,
            tuple(sorted({fold(country_name(loc, lang, code)) for lang, loc in locales.items()})),
            tuple(sorted({fold(alias) for alias in ALIASES.get(code, ())})),
        )
        for code in codes
    )


def is_country(code: str) -> bool:
    """True for a country's ISO code that ikabot knows."""
    return any(entry.code == code for entry in _index())


def _rank(query: str, entry: _Entry) -> int | None:
    """0 exact, 1 a name starts with it, 2 a word does, 3 it occurs inside; None: no match."""
    names = entry.names + entry.aliases
    if query == entry.code.casefold() or query in names:
        return 0
    if any(name.startswith(query) for name in names):
        return 1
    if any(word.startswith(query) for name in names for word in name.split()):
        return 2
    # a short fragment inside a word matches too much to be useful ("in" in "Indonesia", "China")
    if len(query) >= 3 and any(query in name for name in names):
        return 3
    return None


def _has_words(query: str, entry: _Entry) -> bool:
    """Whether ``query`` appears as whole words in one of the country's names ("Guinea")."""
    return any(f" {query} " in f" {name} " for name in entry.names + entry.aliases)


def find(text: str) -> list[tuple[str, int]]:
    """(code, rank) of every country whose name matches ``text``, best rank first."""
    query = fold(text)
    if not query:
        return []
    found = [(entry.code, rank) for entry in _index()
             if (rank := _rank(query, entry)) is not None]
    return sorted(found, key=lambda pair: pair[1])


@dataclass(frozen=True)
class Lookup:
    """What a typed name found: one country, several to choose from, or names close to it."""

    country: str | None = None
    choices: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()


def lookup(text: str) -> Lookup:
    """The country ``text`` names, or the ones it may mean (best first), or the closest names.

    One country is taken when the text is an alias, or the only country it names exactly with
    no other country bearing the same words ("Guinea" asks: Guinea-Bissau, Papua New Guinea…).
    """
    query = fold(text)
    if not query:
        return Lookup()
    by_alias = [entry.code for entry in _index() if query in entry.aliases]
    if len(by_alias) == 1:
        return Lookup(country=by_alias[0])
    found = find(text)
    exact = [code for code, rank in found if rank == 0]
    entries = {entry.code: entry for entry in _index()}
    alike = [code for code, _ in found
             if code not in exact and _has_words(query, entries[code])]
    if (len(exact) == 1 and not alike) or len(found) == 1:
        return Lookup(country=(exact or [found[0][0]])[0])
    if found:
        return Lookup(choices=tuple(code for code, _ in found))
    return Lookup(suggestions=_closest(query))


def _closest(query: str) -> tuple[str, ...]:
    """Countries whose names look most like ``query`` (a misspelling), closest first."""
    owner: dict[str, str] = {}
    for entry in _index():
        for name in entry.names + entry.aliases:
            owner.setdefault(name, entry.code)
    codes: list[str] = []
    for name in difflib.get_close_matches(query, list(owner), n=SUGGESTIONS * 2, cutoff=0.7):
        if owner[name] not in codes:
            codes.append(owner[name])
    return tuple(codes[:SUGGESTIONS])
