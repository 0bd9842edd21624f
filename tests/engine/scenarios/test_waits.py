"""Sleeps and hooks: durable deadlines, buffering, unloading (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.engine.conftest import FAST
from workflows.engine import (
    Engine,
    HookConflict,
    HookNotFound,
    HookTimeout,
    RunStatus,
    create_hook,
    now,
    sleep,
    step,
    uuid,
    workflow,
)
from workflows.engine.testing import FakeClock, run_until_idle

calls: Counter[str] = Counter()
seen: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    seen.clear()


async def wait_for_status(
    engine: Engine, run_id: str, status: RunStatus, timeout: float = 10
) -> None:
    async with asyncio.timeout(timeout):
        while (await engine.get_run(run_id)).status != status:
            await asyncio.sleep(0.02)


@step
async def waits_mark(tag: str) -> str:
    calls[tag] += 1
    return tag


@workflow
async def waits_sleeper(seconds: float) -> str:
    await waits_mark("before")
    await sleep(seconds)
    return await waits_mark("after")


async def test_a_sleep_deadline_survives_a_restart_and_fires_when_overdue(db_url: str) -> None:
    clock = FakeClock()
    async with Engine(db_url, clock=clock, **FAST) as engine, engine.worker():
        handle = await engine.start(waits_sleeper, 3600)
        await run_until_idle(engine)
        run = await engine.get_run(handle.run_id)
        assert run.status == RunStatus.WAITING and run.wake_at is not None
        scheduled = next(e for e in run.events if e.type == "sleep_scheduled")
    clock.advance(7200)  # the deadline passes while no worker runs
    async with Engine(db_url, clock=clock, **FAST) as engine, engine.worker():
        assert await handle_of(engine, handle.run_id).result(timeout=10) == "after"
        run = await engine.get_run(handle.run_id)
        assert next(e for e in run.events if e.type == "sleep_scheduled") == scheduled
    assert calls == Counter({"before": 1, "after": 1})


async def test_a_restart_does_not_reset_a_sleep(db_url: str) -> None:
    clock = FakeClock()
    async with Engine(db_url, clock=clock, **FAST) as engine, engine.worker():
        handle = await engine.start(waits_sleeper, 100)
        await run_until_idle(engine)
    clock.advance(60)
    async with Engine(db_url, clock=clock, **FAST) as engine, engine.worker():
        await run_until_idle(engine)
        assert (await engine.get_run(handle.run_id)).status == RunStatus.WAITING
        clock.advance(41)  # 101 s after the sleep began, not 160
        assert await handle_of(engine, handle.run_id).result(timeout=10) == "after"


def handle_of(engine: Engine, run_id: str) -> Any:
    return engine.handle(run_id)


async def test_a_waiting_run_is_unloaded(engine: Engine) -> None:
    handle = await engine.start(waits_sleeper, 30)
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    assert not engine.busy  # unloaded: no worker holds it in memory
    run = await engine.get_run(handle.run_id)
    assert run.owner is None


@workflow
async def waits_two_payloads(token: str) -> list[Any]:
    hook = await create_hook(token)
    await waits_mark("hook-created")
    await sleep(3600)
    return [await hook.wait(), await hook.wait()]


async def test_payloads_delivered_before_the_wait_are_buffered_in_order(db_url: str) -> None:
    clock = FakeClock()
    async with Engine(db_url, clock=clock, **FAST) as engine, engine.worker():
        handle = await engine.start(waits_two_payloads, "approve:1")
        await run_until_idle(engine)
        assert await engine.resume_hook("approve:1", {"n": 1}) == handle.run_id
        await engine.resume_hook("approve:1", {"n": 2})
        hooks = await engine.list_hooks()
        assert [(h.token, h.buffered) for h in hooks] == [("approve:1", 2)]
        clock.advance(3600)
        assert await handle.result(timeout=10) == [{"n": 1}, {"n": 2}]


async def test_delivering_to_an_unknown_or_finished_token_raises(engine: Engine) -> None:
    with pytest.raises(HookNotFound, match="nobody"):
        await engine.resume_hook("nobody", 1)
    handle = await engine.start(waits_one_payload, "once", None)
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    await engine.resume_hook("once", "x")
    assert await handle.result(timeout=10) == "x"
    with pytest.raises(HookNotFound):
        await engine.resume_hook("once", "late")


@workflow
async def waits_one_payload(token: str, timeout: float | None) -> Any:
    hook = await create_hook(token)
    try:
        return await hook.wait(timeout=timeout)
    except HookTimeout:
        return "timed out"


async def test_a_token_is_unique_among_live_runs(engine: Engine) -> None:
    first = await engine.start(waits_one_payload, "shared", None)
    await wait_for_status(engine, first.run_id, RunStatus.WAITING)
    second = await engine.start(waits_one_payload, "shared", None)
    with pytest.raises(HookConflict) as info:
        await second.result(timeout=10)
    assert info.value.holder == first.run_id
    assert first.run_id in str(info.value)


async def test_a_token_is_free_again_once_its_run_finished(engine: Engine) -> None:
    first = await engine.start(waits_one_payload, "reused", None)
    await wait_for_status(engine, first.run_id, RunStatus.WAITING)
    await engine.resume_hook("reused", 1)
    await first.result(timeout=10)
    second = await engine.start(waits_one_payload, "reused", None)
    await wait_for_status(engine, second.run_id, RunStatus.WAITING)
    await engine.resume_hook("reused", 2)
    assert await second.result(timeout=10) == 2


async def test_a_hook_wait_times_out(engine: Engine) -> None:
    handle = await engine.start(waits_one_payload, "slow", 0.3)
    assert await handle.result(timeout=10) == "timed out"


@workflow
async def waits_consumes_twice(token: str) -> list[Any]:
    hook = await create_hook(token)
    first = await hook.wait(timeout=30)
    try:
        second = await hook.wait(timeout=0.3)
    except HookTimeout:
        second = "nothing"
    return [first, second]


async def test_a_payload_is_consumed_once(engine: Engine) -> None:
    handle = await engine.start(waits_consumes_twice, "one")
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    await engine.resume_hook("one", "p")
    assert await handle.result(timeout=10) == ["p", "nothing"]


@workflow
async def waits_records_values(token: str) -> list[str]:
    stamp, ident = now(), uuid()
    seen["first"] = (stamp, ident)
    hook = await create_hook(token)
    await hook.wait()
    return [stamp.isoformat(), str(ident)]


async def test_now_and_uuid_replay_the_recorded_values(engine: Engine) -> None:
    handle = await engine.start(waits_records_values, "vals")
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    first = seen["first"]
    await engine.resume_hook("vals", None)
    result = await handle.result(timeout=10)
    assert result == [first[0].isoformat(), str(first[1])]
    assert seen["first"] == first  # the replay saw the same values


@step
async def waits_quick(x: int) -> int:
    return x + 1


@workflow
async def waits_three_steps(x: int) -> int:
    return await waits_quick(await waits_quick(await waits_quick(x)))


async def test_hundreds_of_waiting_runs_do_not_delay_a_new_run(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker(concurrency=4) as worker:
        waiting = [await engine.start(waits_one_payload, f"w{i}", None) for i in range(200)]
        async with asyncio.timeout(30):
            while len(await engine.list_runs(status="waiting", limit=1000)) < 200:
                await asyncio.sleep(0.05)
        # if waiting runs held worker slots, this run could never start
        fresh = await engine.start(waits_three_steps, 0)
        assert await fresh.result(timeout=5) == 3
        assert sum(1 for w in waiting if w.run_id in worker.loaded) <= 4


async def test_a_burst_of_deliveries_wakes_every_waiting_run(db_url: str) -> None:
    # few parked slots and a short idle window: runs are unloaded while probing
    engine = Engine(db_url, idle_window=0.05, poll_interval=0.05)
    async with engine, engine.worker(concurrency=20, max_parked=8):
        handles = [await engine.start(waits_one_payload, f"burst-{i}", None) for i in range(150)]
        async with asyncio.timeout(60):
            while len(await engine.list_runs(status="waiting", limit=1000)) < 150:
                await asyncio.sleep(0.05)
        await asyncio.gather(*(engine.resume_hook(f"burst-{i}", i) for i in range(150)))
        results = await asyncio.gather(*(h.result(timeout=60) for h in handles))
    assert results == list(range(150))
