"""Waiting for the bot to finish what people set off, shared by the scenario and the REPL.

After a person acts, the app starts runs or wakes waiting ones; the demo waits until
none is pending, running or due before it shows what the bot did. A run woken by a
click stays ``waiting`` with its wake-up time passed until a worker claims it, so it
counts as busy; runs waiting for a person (a question in a DM) or for a timer not yet
due (a reminder) are settled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime

from workflows.engine import Engine, RunRecord, RunStatus

__all__ = ["settled"]

WATCHED = (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.FAILED)


async def settled(
    engine: Engine, *, timeout: float = 30.0, known: Collection[str] = ()
) -> list[RunRecord]:
    """Wait until no run is pending, running or due, or until a run fails.

    Args:
        engine: The bot's engine.
        timeout: Seconds to wait at most.
        known: Ids of failed runs already reported; they do not end the wait again.

    Returns:
        The failed runs not in ``known``: empty when everything settled well.

    Raises:
        TimeoutError: Runs were still busy after ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout):
        while True:
            await asyncio.sleep(0.05)
            runs = await engine.list_runs(status=WATCHED, limit=1000)
            failed = [r for r in runs if r.status == RunStatus.FAILED and r.run_id not in known]
            now = datetime.now(UTC)
            if failed or not any(_busy(run, now) for run in runs):
                return failed


def _busy(run: RunRecord, now: datetime) -> bool:
    if run.status == RunStatus.WAITING:
        return run.wake_at is not None and run.wake_at <= now
    return run.status in (RunStatus.PENDING, RunStatus.RUNNING)
