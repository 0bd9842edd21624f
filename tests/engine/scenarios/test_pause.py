"""A paused worker claims nothing new; its runs in hand go on; resumed, it claims at once
(both databases)."""

from __future__ import annotations

import asyncio

from tests.engine.conftest import FAST
from workflows.engine import Engine, RunStatus, step, workflow

gates: list[asyncio.Event] = []  # one per test: an Event belongs to one event loop


@step
async def pause_wait() -> str:
    await gates[-1].wait()
    return "done"


@workflow
async def pause_quick(n: int) -> int:
    return n


@workflow
async def pause_slow() -> str:
    return await pause_wait()


async def test_a_paused_worker_claims_nothing_until_resumed(db_url: str) -> None:
    gate = asyncio.Event()
    gates.append(gate)
    async with Engine(db_url, **FAST) as engine, engine.worker(concurrency=4) as worker:
        in_hand = await engine.start(pause_slow)
        async with asyncio.timeout(10):
            while in_hand.run_id not in worker.loaded:
                await asyncio.sleep(0.02)

        worker.pause()
        assert worker.paused
        waiting = [await engine.start(pause_quick, n) for n in range(3)]
        gate.set()  # the run in hand goes on while paused
        assert await in_hand.result(timeout=10) == "done"
        await asyncio.sleep(0.5)  # many poll intervals: a worker that claimed would have
        assert [await h.status() for h in waiting] == [RunStatus.PENDING] * 3

        worker.resume()
        assert [await h.result(timeout=10) for h in waiting] == [0, 1, 2]
