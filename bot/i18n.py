"""Translations: the ms and en catalogs, dates and country names, loaded once at start.

The catalogs are the `.po` files under the `locales` package, compiled in memory when they are
loaded, so a compiled catalog can never be stale and no build step is needed to run the bot.
There is no global ``gettext.install()``: each user and chat gets a ``Translator`` passed in.
"""

from __future__ import annotations

import importlib.util
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format
from babel.lists import format_list as babel_format_list
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po
from babel.support import Translations

from bot import countries

DOMAIN = "ikabot"
LANGUAGES = ("ms", "en")
# The language the msgids are written in: its catalog is the messages themselves.
SOURCE_LANGUAGE = "en"

# Babel (CLDR) locales for dates, lists and country names: Malaysian usage in both languages.
BABEL_LOCALES: Mapping[str, str] = {"ms": "ms_MY", "en": "en_MY"}

ListStyle = Literal["standard", "or"]


class CatalogError(RuntimeError):
    """A translation catalog that is missing or cannot be read."""


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, don't translate"
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


def malay_time(clock: time) -> str:
    """A time as official Malay writes it: "9.00 pagi", "12.30 tengah hari", "5.00 petang".

    CLDR's Malay pattern gives "5:00 PTG"; KDN's letters and minutes write the 12-hour clock
    with a full stop and the part of the day in words.
    """
    hour = clock.hour % 12 or 12
    if clock.hour == 0:
        part = "tengah malam"
    elif clock.hour < 12:
        part = "pagi"
    elif clock.hour == 12:
        part = "tengah hari"
    elif clock.hour < 19:
        part = "petang"
    else:
        part = "malam"
    return f"{hour}.{clock.minute:02d} {part}"


def placeholders(message: str) -> set[str]:
    """The ``{names}`` that ``str.format`` fills in ``message``."""
    return {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}


@dataclass(frozen=True)
class Translator:
    """One language: messages, dates, lists and country names."""

    lang: str
    translations: Translations
    locale: Locale

    def gettext(self, message: str) -> str:
        """``message`` in this language."""
        return self.translations.gettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n``, in this language."""
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` in this language, where ``context`` tells apart equal English words."""
        return str(self.translations.pgettext(context, message))

    def format_date(self, day: date, format: str = "long") -> str:
        """A date as people write it here: "31 Ogos 2026" / "31 August 2026"."""
        return babel_format_date(day, format=format, locale=self.locale)

    def format_datetime(self, moment: datetime, tz: tzinfo, format: str | None = None) -> str:
        """An aware moment in the office time zone ``tz``: "31 Ogos 2026, 5.00 petang".

        Without ``format`` it is the long date and the time as officials write it (seconds mean
        nothing to an officer); with one, Babel's own format of that name or pattern.
        """
        if format is not None:
            return babel_format_datetime(moment, format=format, tzinfo=tz, locale=self.locale)
        local = moment.astimezone(tz)
        pattern = str(get_datetime_format("medium", locale=self.locale))
        return pattern.replace("{1}", self.format_date(local.date())).replace(
            "{0}", self.format_time(local, tz))

    def format_time(self, moment: datetime, tz: tzinfo) -> str:
        """The clock time in ``tz``: "5.00 petang" in Malay, "5:00 pm" in English."""
        local = moment.astimezone(tz)
        if self.lang == "ms":
            return malay_time(local.time())
        return babel_format_time(local, format="short", tzinfo=tz, locale=self.locale)

    def format_list(self, items: Iterable[str], style: ListStyle = "standard") -> str:
        """"A, B dan C" / "A, B and C"; style "or" gives "A, B atau C" / "A, B or C"."""
        return babel_format_list(list(items), style=style, locale=self.locale)

    def country_name(self, iso_code: str) -> str:
        """The country's name in this language, as Malaysia writes it; the code when unknown."""
        return countries.country_name(self.locale, self.lang, iso_code)

    def find_countries(self, text: str) -> list[str]:
        """ISO codes of the countries ``text`` names in Malay or English (leniently, as intake
        reads a name: ``countries.find``), best first; several when it names more than one."""
        return [code for code, _ in sorted(
            countries.find(text),
            key=lambda pair: (pair[1], countries.fold(self.country_name(pair[0]))))]

    def lookup_country(self, text: str) -> countries.Lookup:
        """The country ``text`` names, or the ones it may mean, or the closest names."""
        found = countries.lookup(text)
        order = {code: i for i, code in enumerate(self.find_countries(text))}
        return replace(found, choices=tuple(sorted(found.choices, key=lambda c: order[c])))


@dataclass(frozen=True)
class Translators:
    """The translator for each language, and the default for any other language code."""

    default_language: str
    by_language: Mapping[str, Translator]

    def get(self, lang: str | None) -> Translator:
        """The translator for ``lang``; the default language's for an unknown or missing code."""
        found = self.by_language.get((lang or "").lower())
        return found if found is not None else self.by_language[self.default_language]

    @property
    def default(self) -> Translator:
        """The default language's translator."""
        return self.by_language[self.default_language]


def locales_root() -> Traversable:
    """The installed ``locales`` directory (a namespace package: works installed or editable)."""
    try:
        root = resources.files("locales")
        if catalog_path(root, LANGUAGES[0]).is_file():
            return root
    except NotADirectoryError:
        # Python 3.11's MultiplexedPath refuses the placeholder entry that setuptools' editable
        # finder puts in a namespace package's __path__: look at its real directories instead.
        pass
    except ModuleNotFoundError as exc:
        raise CatalogError("the 'locales' package is not installed") from exc
    # Also reached when another `locales` directory (the working directory's, say) comes first
    # in the namespace: take the one that holds ikabot's catalogs.
    spec = importlib.util.find_spec("locales")
    entries = (spec.submodule_search_locations if spec is not None else None) or []
    for entry in entries:
        if catalog_path(Path(entry), LANGUAGES[0]).is_file():
            return Path(entry)
    raise CatalogError(f"no ikabot catalogs in the 'locales' package (looked in {list(entries)})")


def catalog_path(root: Traversable, lang: str) -> Traversable:
    """Where the ``lang`` catalog lives under ``root``."""
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(root: Traversable, lang: str) -> Catalog:
    """Parse the ``lang`` .po catalog; CatalogError when it is missing, unreadable or empty."""
    path = catalog_path(root, lang)
    try:
        with path.open("rb") as po:
            catalog = read_po(po, locale=lang, domain=DOMAIN, abort_invalid=True)
    except (OSError, PoFileError, UnicodeDecodeError, ValueError) as exc:
        raise CatalogError(f"cannot read the {lang} catalog {path}: {exc}") from exc
    if not any(message.id for message in catalog):
        raise CatalogError(f"the {lang} catalog {path} has no messages")
    return catalog


def load_translator(lang: str, root: Traversable | None = None) -> Translator:
    """Read, compile (in memory) and wrap the ``lang`` catalog."""
    if lang not in BABEL_LOCALES:
        raise CatalogError(f"no such language: {lang!r} (ikabot speaks {', '.join(LANGUAGES)})")
    catalog = read_catalog(locales_root() if root is None else root, lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translator(
        lang=lang,
        translations=Translations(compiled, domain=DOMAIN),
        locale=Locale.parse(BABEL_LOCALES[lang]),
    )


def load_translators(default_language: str, root: Traversable | None = None) -> Translators:
    """Load every catalog once, at start; CatalogError if any is missing."""
    if default_language not in LANGUAGES:
        raise CatalogError(f"the default language must be one of {', '.join(LANGUAGES)}")
    found = locales_root() if root is None else root
    return Translators(
        default_language=default_language,
        by_language={lang: load_translator(lang, found) for lang in LANGUAGES},
    )


def catalog_problems(path: Traversable, lang: str) -> list[str]:
    """What a translator still has to do in a catalog: untranslated, fuzzy, wrong placeholders."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    problems = [f"obsolete entry {key!r} (run `ikabot i18n`)" for key in catalog.obsolete]
    for message in catalog:
        if not message.id:
            continue  # the header
        ids, strings = _forms(message.id), _forms(message.string)
        expected = set().union(*(placeholders(i) for i in ids))
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        elif not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
        elif any(placeholders(s) - expected or placeholders(ids[0]) - placeholders(s)
                 for s in strings):
            problems.append(f"placeholders differ from the English: {ids[0]!r}")
    return problems


def _forms(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple of forms (one, or one per plural form)."""
    if isinstance(value, list | tuple):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def fill_source_catalog(path: Path) -> int:
    """Make each msgstr of the source-language catalog its msgid (as ``msgen``); count changes."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=SOURCE_LANGUAGE, domain=DOMAIN)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        source = (message.id[0], message.id[1]) if isinstance(message.id, tuple | list) \
            else message.id
        # Babel's fuzzy guesses from a similar old message are wrong here: the msgid is the text.
        if message.string != source or message.fuzzy:
            message.string = source
            message.flags.discard("fuzzy")
            filled += 1
    if filled:
        with path.open("wb") as po:
            write_po(po, catalog, width=76, ignore_obsolete=True)
    return filled
