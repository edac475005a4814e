"""The installed ikabot's version, as `ikabot --version`, backups and /healthz report it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def ikabot_version() -> str:
    """The version pip installed, or ``0+unknown`` when run from a tree that was not."""
    try:
        return version("ikabot")
    except PackageNotFoundError:
        return "0+unknown"
