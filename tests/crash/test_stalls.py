"""Workers stopped (SIGSTOP) past their lease and woken again, and poison runs beside
healthy ones (both databases)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable

import pytest

import tests.crash.flows as crash_flows
import tests.crash.flows_races as flows
from tests.crash.conftest import WorkerProcess
from workflows.engine import Engine, RunCrashLooped, RunStatus

pytestmark = pytest.mark.crash

Spawn = Callable[..., WorkerProcess]
Journal = Callable[[], Counter[str]]


async def test_a_stalled_worker_that_wakes_leaves_the_live_execution_alone(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(worker_id="sleepy", lease_ttl=1.5)
    handle = await client.start(flows.races_stall, 1)

    async def recovered() -> list[str]:
        run = await client.get_run(handle.run_id)
        return [e.data or "" for e in run.events if e.type == "run_recovered"]

    # stalled twice: whether its wake-up races its own lease renewal depends on what
    # the worker's loops were doing when it stopped
    stalls = [
        ("races_stalled_first_start", "races_stalled_second_start"),
        ("races_stalled_second_start", "races_after_stall_start"),
    ]
    for during, then in stalls:
        async with asyncio.timeout(20):
            while journal()[during] == 0:
                await asyncio.sleep(0.05)
        worker.pause()  # SIGSTOP mid-step, past its lease; no other worker takes the run
        await asyncio.sleep(3.0)
        worker.resume()
        async with asyncio.timeout(20):  # the next step starts, or the run was disturbed
            while journal()[then] == 0 and not await recovered():
                await asyncio.sleep(0.05)
        if await recovered():
            break
    with contextlib.suppress(TimeoutError):  # (asserted below, with what the journal shows)
        await handle.result(timeout=8)
    runs = journal()
    run = await client.get_run(handle.run_id)
    assert (run.status, run.result) == ("completed", 30), (runs, await recovered())
    assert runs["races_after_stall_start"] == 1, runs
    assert runs["races_stalled_first_start"] <= 2 and runs["races_stalled_second_start"] <= 2, runs
    # the run's one execution went on: the worker did not "recover" it from itself
    assert await recovered() == []


async def test_healthy_runs_claimed_beside_a_poison_run_are_not_stopped_as_crashed(
    client: Engine, spawn: Spawn
) -> None:
    healthy = [await client.start(flows.races_ordinary, i) for i in range(5)]
    poison = await client.start(crash_flows.crash_poison)  # its second step kills its worker
    ids = [h.run_id for h in [*healthy, poison]]
    # all six are pending before a worker starts: the first one claims them together

    async def all_ended() -> bool:
        return all([(await client.get_run(run_id)).status.finished for run_id in ids])

    workers = 0
    async with asyncio.timeout(60):
        while not await all_ended():
            assert workers < 12, "the runs never ended"
            worker = spawn(lease_ttl=1.0, max_recoveries=3)
            workers += 1
            while worker.proc.poll() is None and not await all_ended():
                await asyncio.sleep(0.05)
    with pytest.raises(RunCrashLooped):
        await poison.result(timeout=5)
    statuses = [(await client.get_run(h.run_id)).status for h in healthy]
    assert statuses == [RunStatus.COMPLETED] * 5, statuses
    assert [await h.result(timeout=5) for h in healthy] == [2, 3, 4, 5, 6]
