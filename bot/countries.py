"""Countries as Malaysian officers name and type them: CLDR's names with Malaysia's usage.

CLDR (through Babel) knows every country in Malay and English; Malaysia writes a few of them
differently ("Palestin", not "Wilayah Palestin"), and officers type short and old names ("UK",
"Cina", "Viet Nam") that CLDR does not list. A typed name finds one country, asks which of
several was meant, or suggests the closest names (difflib) when nothing matches. A name typed
whole wins over the names it is part of ("Ireland", not "…Northern Ireland"). In a /status
filter (``named``) only whole names, aliases, codes and starts of four letters or more count,
so that ordinary words ("dan", "all", "the") are never taken for a country.
"""

from __future__ import annotations

import difflib
import unicodedata
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

# CLDR territory codes that are not countries an IKA is signed with: groupings, placeholders and
# outlying areas that CLDR lists beside the ISO 3166 countries.
NOT_COUNTRIES = frozenset(
    {"AC", "CP", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)

# ISO 3166 codes of dependent territories (neither UN members nor observer states): when a name
# is a state's and part of a territory's ("Samoa", "American Samoa"), the state is meant.
TERRITORIES = frozenset({
    "AI", "AQ", "AS", "AW", "AX", "BL", "BM", "BQ", "BV", "CC", "CK", "CW", "CX", "EH", "FK",
    "FO", "GF", "GG", "GI", "GL", "GP", "GS", "GU", "HK", "HM", "IM", "IO", "JE", "KY", "MF",
    "MO", "MP", "MQ", "MS", "NC", "NF", "NU", "PF", "PM", "PN", "PR", "RE", "SH", "SJ", "SX",
    "TC", "TF", "TK", "UM", "VG", "VI", "WF", "YT",
})

# Words that name a form of state rather than a place: "Republik Dominica" (the Dominican
# Republic) does not make "Dominica" a name of two countries; "Guinea-Bissau" does for "Guinea".
FORM_WORDS = frozenset({
    "republic", "republik", "of", "the", "democratic", "demokratik", "people", "s", "rakyat",
    "federal", "federation", "persekutuan", "kingdom", "state", "states", "negara", "islamic",
})

MIN_PREFIX = 4  # letters a filter word needs before it may stand for the start of a name

# Where Malaysia's usage (Wisma Putra's lists, KDN's letters) differs from CLDR's name.
NAMES: Mapping[str, Mapping[str, str]] = {
    "ms": {
        "BN": "Brunei Darussalam",
        "CD": "Republik Demokratik Congo",
        "CG": "Republik Congo",
        "CZ": "Republik Czech",
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
    "CZ": ("Czech", "Czech Republic", "Czechia", "Republik Czech"),
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
    """Lower case, no accents or dots, words of letters and digits: "Côte d’Ivoire" -> "cote d
    ivoire", "U.K." -> "uk"."""
    decomposed = unicodedata.normalize("NFKD", text.replace(".", ""))
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

    @property
    def sovereign(self) -> bool:
        """False for a dependent territory."""
        return self.code not in TERRITORIES


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


@lru_cache(maxsize=1)
def _by_code() -> Mapping[str, _Entry]:
    return {entry.code: entry for entry in _index()}


@lru_cache(maxsize=1)
def _typed_names() -> tuple[tuple[str, str], ...]:
    """(folded name or alias, code) of every country, sorted by name: looked up by bisection."""
    return tuple(sorted({(name, entry.code) for entry in _index()
                         for name in entry.names + entry.aliases}))


def is_country(code: str) -> bool:
    """True for a country's ISO code that ikabot knows."""
    return code in _by_code()


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


def _holds(query: str, name: str) -> bool:
    """Whether ``name`` is ``query`` with a word of a place beside it ("guinea bissau")."""
    padded = f" {name} "
    if f" {query} " not in padded:
        return False
    return any(word not in FORM_WORDS for word in padded.replace(f" {query} ", " ", 1).split())


def _alike(query: str, code: str) -> list[str]:
    """The other states whose own names hold ``query`` as a place's name ("Guinea")."""
    return [entry.code for entry in _index()
            if entry.code != code and entry.sovereign
            and any(_holds(query, name) for name in entry.names)]


def _resolve(query: str, found: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Of the countries ``query`` matched, the ones it stands for: an alias or an exact name
    (a state's before a territory's) wins over every partial match, unless other states bear
    the same name beside a word of their own ("Guinea", "Sudan": then all of them)."""
    by_alias = [entry.code for entry in _index() if query in entry.aliases]
    if len(by_alias) == 1:
        return [(by_alias[0], 0)]
    exact = [code for code, rank in found if rank == 0]
    exact = [code for code in exact if _by_code()[code].sovereign] or exact
    if len(exact) == 1:
        return [(exact[0], 0)] + [(code, 1) for code in _alike(query, exact[0])]
    if exact:
        return [(code, 0) for code in exact]
    return found


def find(text: str) -> list[tuple[str, int]]:
    """(code, rank) of the countries ``text`` stands for as typed at intake, best rank first:
    one when it names one, several when it may mean any of them, none when nothing matches."""
    query = fold(text)
    if not query:
        return []
    found = [(entry.code, rank) for entry in _index()
             if (rank := _rank(query, entry)) is not None]
    return sorted(_resolve(query, found), key=lambda pair: pair[1])


def named(text: str) -> list[str]:
    """The codes a /status filter word stands for, as ``find`` gives them but strictly: a whole
    name or alias, a code typed in capitals ("KE", never "ke"), or the start of names of at
    least MIN_PREFIX letters ("Kore" for both Koreas). One is meant; several ask."""
    query = fold(text)
    if not query:
        return []
    typed = _typed_names()
    found: dict[str, int] = {}
    code = text.strip()
    if len(code) == 2 and code.isupper() and is_country(code):
        found[code] = 0
    prefix = len(query.replace(" ", "")) >= MIN_PREFIX
    for name, owner in typed[bisect_left(typed, (query, "")):]:
        if not name.startswith(query):
            break
        if name == query:
            found[owner] = 0
        elif prefix:
            found.setdefault(owner, 2)
    if not found:
        return []
    ranked = sorted(found.items(), key=lambda pair: (pair[1], pair[0]))
    return [code for code, _ in sorted(_resolve(query, ranked), key=lambda pair: pair[1])]


@dataclass(frozen=True)
class Lookup:
    """What a typed name found: one country, several to choose from, or names close to it."""

    country: str | None = None
    choices: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()


def lookup(text: str) -> Lookup:
    """The country ``text`` names, or the ones it may mean (best first), or the closest names.

    One country is taken when the text is an alias, or the only country it names exactly with
    no other state bearing the same name beside a word of its own ("Guinea" asks:
    Guinea-Bissau, Papua New Guinea…), or the only country it matches at all.
    """
    found = [code for code, _ in find(text)]
    if len(found) == 1:
        return Lookup(country=found[0])
    if found:
        return Lookup(choices=tuple(found))
    query = fold(text)
    return Lookup(suggestions=_closest(query)) if query else Lookup()


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
