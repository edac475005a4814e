"""Read a TOML file into a pydantic model, reporting the line and field at fault."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")


class TomlFileError(ValueError):
    """A file that cannot be used, with where and why."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = str(path), line, field, reason
        where = f"{self.path}:{line}" if line else self.path
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}{what}: {reason}")


def locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best line number (1-based) for a pydantic error location such as ('step', 2, 'owner')."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    parts = list(loc)
    if parts and isinstance(parts[0], str):
        table = parts.pop(0)
        index = parts.pop(0) if parts and isinstance(parts[0], int) else 0
        headers = [i for i, ln in enumerate(lines) if (m := _HEADER.match(ln)) and m[1] == table]
        if index < len(headers):
            start = headers[index]
            following = [i for i, ln in enumerate(lines) if i > start and _HEADER.match(ln)]
            end = following[0] if following else len(lines)
        elif headers:
            return headers[-1] + 1
    key = next((p for p in parts if isinstance(p, str)), None)
    if key is not None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=|[{{,]\s*{re.escape(key)}\s*=")
        for i in range(start, end):
            if pattern.search(lines[i]):
                return i + 1
    return start + 1 if start or lines else None


def load_toml(path: Path | str, model: type[M]) -> M:
    """Parse and validate ``path`` as ``model``; raise TomlFileError naming the line at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TomlFileError(path, None, None, f"cannot read the file ({exc.strerror})") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's error carries its position only in the message
        found = _POSITION.search(str(exc))
        line = int(found[1]) if found else None
        reason = _POSITION.sub("", str(exc)).strip()
        raise TomlFileError(path, line, None, f"not valid TOML: {reason}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc) or None
        raise TomlFileError(path, locate(text, loc), field, first["msg"]) from exc
