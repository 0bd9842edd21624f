"""Logging for every ``feedback-bot`` command: set up once, at the command line's edge.

::

    configure_logging(load_log_settings(), default_level="INFO")

``LOG_FORMAT=text`` (the default) writes one readable line per record on stderr;
``LOG_FORMAT=json`` one JSON object per line, with the record's structured fields
(``run_id``, ``workflow``, ``step``, ``attempt``, ``duration_ms``, ...) as keys, for log
shippers. Libraries only log; this is the one place that adds a handler.

Records are handed to a thread that formats and writes them (a ``QueueListener``), so
a line costs the event loop a few microseconds, not the write; the thread writes what
is queued when the process exits (a process killed outright loses its last few).

What is logged at INFO and above names things (run ids, steps, Slack methods, error
codes) and never carries a token, a secret or a customer's words: those appear, if
anywhere, at DEBUG.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import queue
import sys
import time
from logging.handlers import QueueHandler, QueueListener
from typing import Any, TextIO

from feedback.settings import LogSettings

__all__ = ["JsonFormatter", "configure_logging", "flush_logs"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# what every LogRecord has: anything else came in through ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_PLAIN = (str, int, float, bool)  # written as they are; anything else as its str()
# libraries that say too much at INFO: SQLAlchemy logs every statement once enabled,
# Alembic its plugins and migrations (``db upgrade`` says what it did)
_QUIET = ("sqlalchemy", "aiosqlite", "asyncio", "alembic")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": f"{_utc_second(int(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():  # in the order given, after the standard
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, _PLAIN) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class _Queued(QueueHandler):
    """Hands records to :class:`_Writer`'s thread as they are: formatting and writing
    happen there, off the event loop (a step's line costs its loop about 4 µs, not 10)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # same process: nothing to make picklable


class _Writer:
    """The thread that formats and writes queued records; stopped at exit, after which
    records are written directly (so that nothing logged late is lost)."""

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler
        self.queued = _Queued(queue.SimpleQueue())
        self.queued.setLevel(handler.level)
        self._listener = QueueListener(self.queued.queue, handler, respect_handler_level=True)
        self._listener.start()
        self._running = True
        atexit.register(self.stop)

    def stop(self) -> None:
        root = logging.getLogger()
        if self.queued in root.handlers:
            root.removeHandler(self.queued)
            root.addHandler(self.handler)
        if self._running:
            self._running = False
            self._listener.stop()  # writes what was queued
            atexit.unregister(self.stop)


_writer: list[_Writer] = []  # the one this module started, to replace on a second call


def configure_logging(
    settings: LogSettings, *, default_level: str = "WARNING", stream: TextIO | None = None
) -> None:
    """Send the process's logs to stderr in the configured format and level.

    Calling it again (tests run several commands in one process) replaces what it
    set up before and leaves other handlers alone.

    Args:
        settings: ``LOG_FORMAT`` and ``LOG_LEVEL``.
        default_level: The level when ``LOG_LEVEL`` is unset (the command's choice).
        stream: Where to write (default: ``sys.stderr`` at the time of the call).
    """
    level = logging.getLevelName(settings.log_level or default_level)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setLevel(level)  # records other loggers let through below it stay unwritten
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    while _writer:
        old = _writer.pop()
        old.stop()
        root.removeHandler(old.handler)
        old.handler.close()
    writer = _Writer(handler)
    _writer.append(writer)
    root.addHandler(writer.queued)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))


def flush_logs() -> None:
    """Write what is queued and from now on write directly (tests read what was logged)."""
    for writer in _writer:
        writer.stop()
