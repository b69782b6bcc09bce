"""Structured service logs: one key=value line per event, labelled, with secrets masked.

Operators grep these lines and log shippers parse them, so every line has the same
shape (``time level logger event key=value ...``). When shipfeed talks to the built-in
simulator every line says ``SIMULATED``: a log excerpt pasted into a ticket must never be
mistaken for real confirmations. Secret values are masked by a filter on the handler, so
a secret that slips into any message (an exception text quoting a request) is still
never written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

#: The logger every service event goes through.
log = logging.getLogger("shipfeed")

_MASK = "***"


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event: ``name`` and its fields become ``event=name key=value ...``."""
    log.log(level, name, extra={"fields": fields})


class KeyValueFormatter(logging.Formatter):
    """``2026-01-31T10:00:00Z INFO SIMULATED shipfeed event=feed_created feed=3 ...``."""

    def __init__(self, simulated: bool) -> None:
        super().__init__()
        self.simulated = simulated

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [at, record.levelname]
        if self.simulated:
            parts.append("SIMULATED")
        parts.append(record.name)
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields is not None:
            parts.append(f"event={_quote(record.getMessage())}")
            parts.extend(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)
        else:
            parts.append(f"msg={_quote(record.getMessage())}")
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class RedactSecrets(logging.Filter):
    """Replace every known secret value in a record's final text with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        fields = getattr(record, "fields", None)
        if fields is not None:
            record.fields = {k: self.redact(str(v)) for k, v in fields.items()}
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
            record.msg = f"{message} | {self.redact(text)}"
        return True


def configure(
    *,
    level: str = "INFO",
    simulated: bool,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route all logging to one key=value handler on ``stream`` (default stderr).

    Replaces handlers installed by an earlier call, so a process that configures twice
    (tests run several services in one interpreter) never writes a line twice.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_shipfeed", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter(simulated))
    handler.addFilter(RedactSecrets(secrets))
    handler._shipfeed = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "paramiko", "watchdog", "schedule", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
