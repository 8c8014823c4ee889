"""Logs as an event stream: one JSON object per line on stdout."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"})


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line.

    ``json.dumps`` with ``ensure_ascii`` escapes newlines, other control characters and non-ASCII
    text, so a value supplied by a client (a user agent, an email address) cannot forge a second
    log line.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=True, default=str, separators=(",", ":"))
