"""A durable ``sleep`` whose duration is computed from the wall clock ("sleep until
9:00") replays without a ``NonDeterminismError``: the stored wake-up time counts, not the
argument, so the run wakes and finishes after it unloads and reloads (both databases)."""

from __future__ import annotations

import time

from tests.engine.conftest import FAST
from workflows.engine import Engine, sleep, workflow


@workflow
async def sd_until(target: float) -> str:
    await sleep(max(0.0, target - time.time()))
    return "woke"


async def test_sleeping_until_a_wall_clock_time_survives_an_unload(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(sd_until, time.time() + 0.5)
        assert await handle.result(timeout=10) == "woke"
