"""Logging for every ``feedback-bot`` command: set up once, at the command line's edge.

::

    configure_logging(load_log_settings(), default_level="INFO")

``LOG_FORMAT=text`` (the default) writes one readable line per record on stderr;
``LOG_FORMAT=json`` one JSON object per line, with the record's structured fields
(``run_id``, ``workflow``, ``step``, ``attempt``, ``duration_ms``, ...) as keys, for log
shippers. Libraries only log; this is the one place that adds a handler.

What is logged at INFO and above names things (run ids, steps, Slack methods, error
codes) and never carries a token, a secret or a customer's words: those appear, if
anywhere, at DEBUG.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from feedback.settings import LogSettings

__all__ = ["JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# what every LogRecord has: anything else came in through ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
# libraries that say too much at INFO: SQLAlchemy logs every statement once enabled,
# Alembic its plugins and migrations (``db upgrade`` says what it did)
_QUIET = ("sqlalchemy", "aiosqlite", "asyncio", "alembic")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class _Ours(logging.StreamHandler[TextIO]):
    """Marks the handler this module installed, so a second call replaces it."""


def configure_logging(
    settings: LogSettings, *, default_level: str = "WARNING", stream: TextIO | None = None
) -> None:
    """Send the process's logs to stderr in the configured format and level.

    Calling it again (tests run several commands in one process) replaces the
    handler it added before and leaves other handlers alone.

    Args:
        settings: ``LOG_FORMAT`` and ``LOG_LEVEL``.
        default_level: The level when ``LOG_LEVEL`` is unset (the command's choice).
        stream: Where to write (default: ``sys.stderr`` at the time of the call).
    """
    level = logging.getLevelName(settings.log_level or default_level)
    handler = _Ours(stream if stream is not None else sys.stderr)
    handler.setLevel(level)  # records other loggers let through below it stay unwritten
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Ours)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
