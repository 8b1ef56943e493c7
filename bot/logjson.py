"""Structured logs: one JSON object a line, and client addresses reduced to a keyed hash.

What a log line may hold is decided by the caller; this module only shapes it. The hash key is
random per process and changes every day (UTC), so a client's requests can be told apart within
a day without its address ever being written down or linkable across days.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
import sys
from typing import Any

_PROCESS_SECRET = secrets.token_bytes(32)


def client_hash(address: str, day: dt.date | None = None) -> str:
    """A short, keyed, daily-rotating hash of a client address."""
    key = _daily_key(day or dt.datetime.now(dt.UTC).date())
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _daily_key(day: dt.date) -> bytes:
    # once a day, not once a request
    return hmac.new(_PROCESS_SECRET, day.isoformat().encode(), hashlib.sha256).digest()


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message and any ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send the ``faqbot`` logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("faqbot")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # the JSON lines never show the caller's file and line, thread or process: skip finding
    # them for every record (the logging HOWTO's "Optimization"; ~15 µs a request)
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


#: uvicorn's own messages (start, stop, errors) as JSON lines too; its access log is off.
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bot.logjson.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
