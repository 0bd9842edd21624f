"""Logging for every ``feedback-bot`` command: set up once, at the command line's edge.

::

    configure_logging(load_log_settings(), default_level="INFO")

``LOG_FORMAT=text`` (the default) writes one readable line per record on stderr;
``LOG_FORMAT=json`` one JSON object per line, with the record's structured fields
(``run_id``, ``workflow``, ``step``, ``attempt``, ``duration_ms``, ...) as keys, for log
shippers. Libraries only log; this is the one place that adds a handler.

Records are handed to a thread that formats and writes them in batches (at most 50 ms
late), so a line costs the event loop a few microseconds, not the formatting and the
write; what is queued is written when the process exits (a process killed outright
loses its last few lines).

What is logged at INFO and above names things (run ids, steps, Slack methods, error
codes) and never carries a token, a secret or a customer's words: those appear, if
anywhere, at DEBUG.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import queue
import sys
import threading
import time
from logging.handlers import QueueHandler
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
    """The thread that formats and writes queued records, a batch at a time.

    After the first record of a batch it waits :attr:`WINDOW`, so that a burst of lines
    is one write and one wake-up of this thread, not one per line (each wake-up takes
    the interpreter lock from the event loop). Stopped at exit, after which records are
    written directly, so that nothing logged late is lost.
    """

    WINDOW = 0.05

    def __init__(self, handler: logging.StreamHandler[TextIO]) -> None:
        self.handler = handler
        self._records: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        self.queued = _Queued(self._records)
        self.queued.setLevel(handler.level)
        self._thread = threading.Thread(target=self._drain, name="log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def stop(self) -> None:
        root = logging.getLogger()
        if self.queued in root.handlers:
            root.removeHandler(self.queued)
            root.addHandler(self.handler)
        if self._thread.is_alive():
            self._records.put_nowait(None)
            self._thread.join(timeout=5)
        atexit.unregister(self.stop)

    def _drain(self) -> None:
        records = self._records
        while True:
            batch = [records.get()]
            if batch[0] is not None:
                time.sleep(self.WINDOW)
                with contextlib.suppress(queue.Empty):
                    while True:
                        batch.append(records.get_nowait())
            self._write([r for r in batch if r is not None])
            if None in batch:
                return

    def _write(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            try:
                lines.append(self.handler.format(record) + "\n")
            except Exception:
                self.handler.handleError(record)
        if not lines:
            return
        with self.handler.lock or contextlib.nullcontext():
            try:
                self.handler.stream.write("".join(lines))
                self.handler.flush()
            except Exception:
                self.handler.handleError(records[-1])


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is at each write, not as it was when configured
    (tests capture it, one test at a time)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


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
        stream: Where to write (default: ``sys.stderr``, whatever it is at each write).
    """
    level = logging.getLevelName(settings.log_level or default_level)
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
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
