"""Workers killed with SIGKILL at chosen points, then restarted (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

import tests.crash.flows as flows
from tests.crash.conftest import WorkerProcess
from workflows.engine import Engine, RunCrashLooped, RunStatus, StepRetriesExhausted

pytestmark = pytest.mark.crash

Spawn = Callable[..., WorkerProcess]
Journal = Callable[[], Counter[str]]


async def until(predicate: Callable[[], object], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def status_is(client: Engine, run_id: str, status: RunStatus, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while (await client.get_run(run_id)).status != status:
            await asyncio.sleep(0.05)


async def test_a_committed_step_never_runs_again(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(fault="after_step_committed:crash_b")
    handle = await client.start(flows.crash_three_steps, 1)
    assert await worker.exited() == -9
    spawn()
    assert await handle.result(timeout=20) == 1
    assert journal() == Counter({"crash_a": 1, "crash_b": 1, "crash_c": 1})


async def test_a_step_whose_result_was_not_committed_runs_again(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(fault="after_step:crash_b")
    handle = await client.start(flows.crash_three_steps, 1)
    assert await worker.exited() == -9
    spawn()
    assert await handle.result(timeout=20) == 1
    assert journal() == Counter({"crash_a": 1, "crash_b": 2, "crash_c": 1})


async def test_a_crash_does_not_reset_the_attempt_count(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(fault="after_attempt_failed:crash_always_fails@2")
    handle = await client.start(flows.crash_retries)
    assert await worker.exited() == -9
    spawn()
    with pytest.raises(StepRetriesExhausted) as info:
        await handle.result(timeout=20)
    assert info.value.attempts == 3
    assert journal()["crash_always_fails"] == 3  # not 2 + 3


async def test_a_payload_consumed_just_before_a_crash_is_not_delivered_again(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(fault="after_hook_consumed")
    handle = await client.start(flows.crash_hook, "h1")
    await status_is(client, handle.run_id, RunStatus.WAITING)
    await client.resume_hook("h1", {"approved": True})
    assert await worker.exited() == -9
    spawn()
    assert await handle.result(timeout=20) == [{"approved": True}, None]
    assert journal()["crash_after_wait"] == 1


async def completed_results(client: Engine, run_id: str) -> set[object]:
    run = await client.get_run(run_id)
    return {s.result for s in run.steps if s.status == "completed"}


async def test_after_a_crash_only_unfinished_parallel_steps_run(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn()
    handle = await client.start(flows.crash_parallel)
    async with asyncio.timeout(20):
        while await completed_results(client, handle.run_id) != {"fast1", "fast2"}:
            await asyncio.sleep(0.05)
    worker.kill()  # the slow step is still running
    spawn(extra_env={"CRASH_PAR_SLOW": "0.05"})
    assert await handle.result(timeout=20) == ["fast1", "fast2", "slow"]
    runs = journal()
    assert (runs["crash_par_fast1"], runs["crash_par_fast2"], runs["crash_par_start_slow"]) == (
        1,
        1,
        2,
    )


async def test_a_parent_crashing_after_starting_a_child_gets_one_child(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(fault="after_child_started")
    handle = await client.start(flows.crash_parent)
    assert await worker.exited() == -9
    spawn()
    assert await handle.result(timeout=20) == 42
    children = await client.list_runs(parent=handle.run_id)
    assert len(children) == 1 and children[0].parent_run_id == handle.run_id
    assert journal()["crash_a"] == 1


async def test_a_live_worker_takes_over_a_killed_workers_runs(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    doomed = spawn(worker_id="doomed", lease_ttl=1.0)
    handle = await client.start(flows.crash_takeover)
    await until(lambda: journal()["crash_slow_owner_start"] == 1)
    survivor = spawn(worker_id="survivor", lease_ttl=1.0, extra_env={"CRASH_SLOW": "0.05"})
    doomed.kill()
    # no restart: the survivor's sweep finds the expired lease
    assert await handle.result(timeout=20) == survivor.pid
    run = await client.get_run(handle.run_id)
    recovered = [e for e in run.events if e.type == "run_recovered"]
    assert len(recovered) == 1 and "survivor" in (recovered[0].data or "")


async def test_a_stalled_worker_cannot_write_after_losing_its_lease(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    stalled = spawn(worker_id="stalled", lease_ttl=1.0, extra_env={"CRASH_SLOW": "1.0"})
    handle = await client.start(flows.crash_takeover)
    await until(lambda: journal()["crash_slow_owner_start"] == 1)
    stalled.pause()  # SIGSTOP past its lease
    survivor = spawn(worker_id="survivor", lease_ttl=1.0, extra_env={"CRASH_SLOW": "0.05"})
    assert await handle.result(timeout=20) == survivor.pid
    stalled.resume()
    await until(lambda: journal()["crash_slow_owner_done"] == 2)  # the stalled step finished too...
    # it notices on its next heartbeat or write, whichever comes first
    await until(
        lambda: any(
            m in stalled.log.read_text() for m in ("lost the lease", "stopped on this worker")
        )
    )
    run = await client.get_run(handle.run_id)
    assert run.result == survivor.pid  # ...but its result never landed
    assert [s.result for s in run.steps] == [survivor.pid]


async def test_a_run_that_keeps_killing_its_worker_is_stopped(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    handle = await client.start(flows.crash_poison)

    async def crashed() -> bool:
        return (await client.get_run(handle.run_id)).status == RunStatus.CRASHED

    async with asyncio.timeout(60):
        while not await crashed():
            worker = spawn(lease_ttl=0.5, max_recoveries=2)
            while worker.proc.poll() is None and not await crashed():
                await asyncio.sleep(0.05)
    with pytest.raises(RunCrashLooped, match="retry"):
        await handle.result(timeout=5)
    assert journal()["crash_a"] == 1
    assert journal()["crash_kills_worker"] == 3  # the first run, then two recoveries
    assert worker.proc.poll() is None  # the worker that stopped the run lives on
