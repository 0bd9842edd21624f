"""Edge cases found in review: branches, idle runs, retries, lost acknowledgements."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.engine.conftest import FAST, Tuning
from tests.engine.scenarios.test_waits import wait_for_status
from workflows.engine import (
    BranchError,
    Engine,
    HookTimeout,
    RunStatus,
    WorkflowTimedOut,
    create_hook,
    sleep,
    step,
    workflow,
)

switches: dict[str, Any] = {}


@step
async def review_tag(tag: str) -> str:
    return tag


async def two_calls(name: str) -> str:
    first = await review_tag(f"{name}1")
    return first + await review_tag(f"{name}2")


@workflow
async def review_multi_call_branches() -> list[str]:
    return list(await asyncio.gather(two_calls("x"), two_calls("y")))


async def test_a_branch_making_two_durable_calls_is_refused(engine: Engine) -> None:
    # replay could hand their results to the wrong calls, so the engine says no
    handle = await engine.start(review_multi_call_branches)
    with pytest.raises(BranchError, match="child workflows"):
        await handle.result(timeout=10)


@step
async def review_short() -> int:
    await asyncio.sleep(0.05)
    return 1


@workflow
async def review_wait_beside_a_step(token: str) -> list[Any]:
    hook = await create_hook(token)
    return list(await asyncio.gather(hook.wait(), review_short()))


@workflow
async def review_quick() -> str:
    return "quick"


async def test_a_run_idle_after_its_last_step_unloads_and_frees_its_slot(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker(concurrency=1) as worker:
        waiting = await engine.start(review_wait_beside_a_step, "beside")
        await wait_for_status(engine, waiting.run_id, RunStatus.WAITING)
        assert waiting.run_id not in worker.loaded
        assert await (await engine.start(review_quick)).result(timeout=5) == "quick"
        await engine.resume_hook("beside", "x")
        assert await waiting.result(timeout=10) == ["x", 1]


@workflow
async def review_fails_then_waits(token: str) -> Any:
    hook = await create_hook(token)
    if not switches.get("fixed"):
        raise RuntimeError("not yet")
    return await hook.wait()


async def test_a_retried_run_gets_its_hook_tokens_back(engine: Engine) -> None:
    switches.clear()
    handle = await engine.start(review_fails_then_waits, "comeback")
    with pytest.raises(RuntimeError):
        await handle.result(timeout=10)
    switches["fixed"] = True
    await engine.retry(handle.run_id)
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    assert await engine.resume_hook("comeback", "ok") == handle.run_id
    assert await handle.result(timeout=10) == "ok"


@workflow(timeout=0.3)
async def review_slow_once() -> str:
    if not switches.get("fast"):
        await sleep(30)
    return "done"


async def test_a_retried_run_gets_its_time_limit_afresh(engine: Engine) -> None:
    switches.clear()
    handle = await engine.start(review_slow_once)
    with pytest.raises(WorkflowTimedOut):
        await handle.result(timeout=10)
    switches["fast"] = True
    await engine.retry(handle.run_id)
    assert await handle.result(timeout=10) == "done"


@workflow
async def review_two_waits(token: str) -> list[Any]:
    hook = await create_hook(token)
    await sleep(0.4)  # both payloads arrive meanwhile
    first = await hook.wait(timeout=10)
    try:
        second = await hook.wait(timeout=0.3)
    except HookTimeout:
        second = None
    return [first, second]


@asynccontextmanager
async def lose_acknowledgements(engine: Engine, every: int = 1) -> AsyncIterator[None]:
    """Commit write transactions, then report a dropped connection for one in ``every``
    (so that each write's retry, the next transaction, is acknowledged).

    Transactions are counted per task, since a write is retried in the task that made
    it: its retry is then the acknowledged one whatever other tasks (the worker's claims,
    the batcher) write meanwhile. With one count for the whole engine, their writes in
    between could make a retry lose its acknowledgement again and again, backing off for
    seconds while what its first attempt committed went on without it (a hook delivery
    then found its run finished, and raised HookNotFound).
    """
    db = engine._db
    original = db._write_tx
    counts: dict[asyncio.Task[Any] | None, int] = {}

    @asynccontextmanager
    async def flaky() -> AsyncIterator[Any]:
        async with original() as conn:
            yield conn
        task = asyncio.current_task()
        counts[task] = count = counts.get(task, 0) + 1
        if count % (every + 1) == 1:
            raise ConnectionResetError("connection lost after COMMIT")

    db._write_tx = flaky  # type: ignore[method-assign]
    try:
        yield
    finally:
        db._write_tx = original  # type: ignore[method-assign]


async def test_a_delivery_retried_after_a_lost_acknowledgement_counts_once(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(review_two_waits, "lost-ack")
        async with asyncio.timeout(10):
            while not await engine.list_hooks():
                await asyncio.sleep(0.02)
        async with lose_acknowledgements(engine):
            await engine.resume_hook("lost-ack", "only")
        assert await handle.result(timeout=10) == ["only", None]


async def test_a_payload_take_retried_after_a_lost_acknowledgement_takes_one(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(review_two_waits, "takes")
        async with asyncio.timeout(10):
            while not await engine.list_hooks():
                await asyncio.sleep(0.02)
        await engine.resume_hook("takes", "P1")
        await engine.resume_hook("takes", "P2")
        async with lose_acknowledgements(engine):  # each write is committed twice
            result = await handle.result(timeout=20)
        assert result == ["P1", "P2"]


@workflow
async def review_plain(x: int) -> int:
    return await review_short() + x


async def test_a_claim_retried_after_a_lost_acknowledgement_runs_what_it_took(
    db_url: str,
) -> None:
    options: Tuning = {**FAST, "lease_ttl": 60.0}  # an orphaned claim would wait a minute
    async with Engine(db_url, **options) as engine:
        handles = [await engine.start(review_plain, i) for i in range(5)]  # no worker: pending
        async with lose_acknowledgements(engine), engine.worker():
            results = await asyncio.gather(*(h.result(timeout=10) for h in handles))
        assert results == [1, 2, 3, 4, 5]
        for handle in handles:
            run = await engine.get_run(handle.run_id)
            assert run.recoveries == 0
            assert "run_recovered" not in [e.type for e in run.events]
