"""Logging to stderr (the journal's input): text or JSON lines, the token and secret redacted."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

# Packages whose messages at LOG_LEVEL an operator wants to see; everything else logs warnings
# (or worse, when LOG_LEVEL is above WARNING) only.
OWN_LOGGERS = ("bot", "handlers", "storage")
# httpx logs every request URL at INFO, and Bot API URLs contain the token (<root>/bot<token>/…).
QUIET_LOGGERS = ("httpx", "httpcore")
# A case's reference, as storage.cases.next_ref makes it: IKA-<year>-<number>.
CASE_REF = re.compile(r"\bIKA-\d{4}-\d{3,}\b")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replace each protected secret (the bot token) wherever it appears in a log record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def protect(self, secret: str) -> None:
        """Redact ``secret`` from now on."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every protected secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, traceback and stack in place; never drop it."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as logging does
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so the text the handler prints is the redacted one.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the case it is about, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        message = record.getMessage()
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        case = getattr(record, "case", None)
        found = CASE_REF.search(message)
        if case is None and found is not None:
            case = found.group(0)
        if case is not None:
            line["case"] = str(case)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: LogFormat = "text",
                      redactor: RedactSecrets | None = None) -> RedactSecrets:
    """Log to stderr for the whole process; returns the filter that hides the secrets."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    redactor = redactor or RedactSecrets()
    handler.addFilter(redactor)
    own = logging.getLevelName(level.upper())
    others = max(logging.WARNING, own)
    logging.basicConfig(level=others, handlers=[handler], force=True)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(others)
    return redactor
