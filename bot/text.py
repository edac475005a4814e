"""Typed text made safe to store and show (no NUL, no other control characters), and text
measured as Telegram measures it."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

_KEPT = frozenset("\n\t")
# Cc: C0/C1 controls, NUL among them (PostgreSQL stores no NUL in text or JSONB).
# Cs: lone surrogates, which are no UTF-8 at all.
_DROPPED = frozenset(("Cc", "Cs"))


def clean(text: str) -> str:
    """``text`` without NUL and other control characters (newlines and tabs stay)."""
    if text.isprintable():  # the common case, in C
        return text
    return "".join(c for c in text
                   if c in _KEPT or unicodedata.category(c) not in _DROPPED)


def clean_data(value: Any) -> Any:
    """JSON-like data with every string in it (keys too) cleaned."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_data(key): clean_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_data(item) for item in value]
    return value


MAX_EXTENSION = 16  # ".docx", ".pdf": longer "extensions" are part of the name


def fit_file_name(name: str | None, *, fallback: str, limit: int) -> str:
    """A file's name cleaned (no control characters, tabs and newlines included) and cut to
    ``limit`` characters, its extension kept; ``fallback`` when nothing is left."""
    text = " ".join(clean(name or "").split())
    if not text:
        text = fallback
    if len(text) <= limit:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) + 1 > MAX_EXTENSION or " " in extension:
        stem, extension = text, ""
    suffix = "…" + (f".{extension}" if extension else "")
    return stem[:limit - len(suffix)].rstrip() + suffix


_TAG = re.compile(r"<[^>]*>")


def telegram_length(text: str) -> int:
    """How long Telegram counts plain text: in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def plain_text(text: str) -> str:
    """What an HTML message shows: its text without tags, entities read."""
    return html.unescape(_TAG.sub("", text))


def shown_length(text: str) -> int:
    """How long Telegram counts an HTML message."""
    return telegram_length(plain_text(text))
