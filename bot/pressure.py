"""Acknowledgements first: the worker holds back while Slack's requests queue up.

Slack waits three seconds for each acknowledgement, and what it acknowledges is safe
in the database; filing it can wait a moment. So while requests pile up in the server
(a burst: several in flight at once), ``feedback-bot serve`` asks its worker child to
claim no new runs, and lets it go again once the server has been calm for a while.
Steady traffic (Slack sends one workspace a few events a second) never holds it back,
and a flood longer than :attr:`Pressure.max_hold` cannot starve it: the worker then
runs for as long again before it may be held once more.

The server side is :class:`Pressure`; the worker side is :func:`follow`, reading one
byte per change from a pipe the server passes to the child (end of file: the server is
gone, and the worker stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from workflows.engine import Worker

__all__ = ["HOLD", "RELEASE", "Pressure", "follow", "told"]

logger = logging.getLogger(__name__)

HOLD = b"h"
RELEASE = b"r"


class Pressure:
    """Counts the requests in flight and says when the worker should hold back.

    Args:
        on_change: Called with ``True`` when requests start to queue (``busy_at`` in
            flight at once), with ``False`` once at most one has been in flight for
            ``calm_after`` seconds, or the hold has lasted ``max_hold`` seconds.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        on_change: Callable[[bool], None],
        *,
        busy_at: int = 4,
        calm_after: float = 0.5,
        max_hold: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.busy_at = busy_at
        self.calm_after = calm_after
        self.max_hold = max_hold
        self._on_change = on_change
        self._clock = clock
        self.in_flight = 0
        self.busy = False
        self._since = 0.0  # when the hold began
        self._last_crowded = 0.0  # when more than one request was last in flight
        self._rested_until = 0.0  # after a hold of max_hold, none before this
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> None:
        """A request arrived."""
        self.in_flight += 1
        if self.in_flight > 1:
            self._last_crowded = now = self._clock()
            if not self.busy and self.in_flight >= self.busy_at and now >= self._rested_until:
                self.busy, self._since = True, now
                self._on_change(True)
                self._check_later(self.calm_after)

    def exit(self) -> None:
        """A request was answered."""
        self.in_flight -= 1

    def check(self) -> None:
        """Release the hold if the server has been calm long enough, or held too long
        (the timer calls this; tests may too)."""
        self._timer = None
        if not self.busy:
            return
        now = self._clock()
        if now - self._since >= self.max_hold:
            self._rested_until = now + self.max_hold
        elif self.in_flight > 1 or now - self._last_crowded < self.calm_after:
            calm_in = self.calm_after - (now - self._last_crowded)
            self._check_later(min(max(calm_in, 0.05), self._since + self.max_hold - now))
            return
        self.busy = False
        self._on_change(False)

    def _check_later(self, delay: float) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(delay, self.check)

    def close(self) -> None:
        """Stop the timer (the server is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def told(fd: int, worker: Worker) -> None:
    """Apply what the server wrote to the pipe ``fd`` so far, without waiting (before
    the worker starts: it must not claim a run while the server is busy)."""
    os.set_blocking(fd, False)
    with contextlib.suppress(BlockingIOError):
        if os.read(fd, 64)[-1:] == HOLD:
            worker.pause()


async def follow(fd: int, worker: Worker, stop: asyncio.Event) -> None:
    """Hold and release ``worker`` as the server writes to the pipe ``fd``; set
    ``stop`` when the server closes it (it stopped, or died)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while chunk := await reader.read(64):
            held = chunk[-1:] == HOLD  # only the latest change counts
            if held != worker.paused:
                worker.pause() if held else worker.resume()
                logger.info("worker %s", "held back: a burst of requests" if held else "released")
    finally:
        transport.close()
    logger.info("the server closed the worker's pipe: stopping")
    stop.set()
