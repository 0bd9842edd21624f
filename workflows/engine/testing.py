"""Helpers for testing workflows without waiting for real time.

::

    from workflows.engine.testing import FakeClock, run_until_idle, temporary_engine

    async def test_reminder_fires_after_an_hour():
        clock = FakeClock()
        async with temporary_engine(clock=clock) as engine:
            handle = await engine.start(remind, "req-1")
            await run_until_idle(engine)          # the run now sleeps, unloaded
            clock.advance(3600)
            await run_until_idle(engine)
            assert await handle.result() == "reminded"

Advance the fake clock while the engine is idle (after :func:`run_until_idle`): time
jumps while steps execute would expire their leases. Step and workflow timeouts use
the event loop's clock, not this one.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ._engine import Engine
from ._store import leases as lease_queries


class FakeClock:
    """A clock that moves only when told to; waits end when it passes their deadline."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._tick = asyncio.Event()

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward, waking every wait whose deadline passed."""
        self._now += seconds
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:
        deadline = None if timeout is None else self._now + timeout
        while not event.is_set():
            if deadline is not None and self._now >= deadline:
                return False
            tick = self._tick
            waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(tick.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return True


@asynccontextmanager
async def temporary_engine(*, concurrency: int = 10, **options: Any) -> AsyncIterator[Engine]:
    """An engine on a throwaway SQLite file, with an in-process worker running.

    Args:
        concurrency: The worker's concurrency.
        **options: Passed to :class:`Engine` (``clock=``, ``idle_window=``...).
    """
    options.setdefault("idle_window", 0.05)
    options.setdefault("poll_interval", 0.05)
    options.setdefault("sqlite_synchronous", "NORMAL")
    with tempfile.TemporaryDirectory(prefix="workflows-test-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'runs.db'}"
        async with Engine(url, **options) as engine, engine.worker(concurrency=concurrency):
            yield engine


async def run_until_idle(engine: Engine, *, timeout: float = 10.0) -> None:
    """Wait until no run is executing and none is due now.

    Runs that wait for a future time or for a hook count as idle.

    Raises:
        TimeoutError: Work was still going on after ``timeout`` real seconds.
    """
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    quiet = 0
    while quiet < 3:  # idle on three checks in a row: nothing was in flight between them
        busy = engine.busy or await _due_runs(engine) > 0
        quiet = 0 if busy else quiet + 1
        if loop.time() > give_up:
            raise TimeoutError(f"the engine was still busy after {timeout}s")
        await asyncio.sleep(0.01)


async def _due_runs(engine: Engine) -> int:
    now = engine._clock.time()
    return await engine._db.run_read(lambda conn: lease_queries.count_due(conn, now))
