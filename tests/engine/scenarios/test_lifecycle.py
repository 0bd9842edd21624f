"""Children, cancel, retry, determinism and timeouts (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.engine.scenarios.test_waits import wait_for_status
from workflows.engine import (
    Engine,
    InvalidRunState,
    NonDeterminismError,
    RunCancelled,
    RunHandle,
    RunNotFound,
    RunStatus,
    StepRetriesExhausted,
    WorkflowTimedOut,
    create_hook,
    sleep,
    start_child,
    step,
    workflow,
)

calls: Counter[str] = Counter()
switches: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    switches.clear()


@step
async def life_count(tag: str) -> str:
    calls[tag] += 1
    return tag


@workflow
async def life_child(n: int) -> int:
    await life_count("child")
    return n * 10


@workflow
async def life_parent() -> list[int]:
    first = await start_child(life_child, 1)
    second = await start_child(life_child, 2, run_id="named-child")
    return [await first.result(), await second.result()]


async def test_children_run_and_their_links_are_queryable(engine: Engine) -> None:
    handle = await engine.start(life_parent)
    assert await handle.result(timeout=15) == [10, 20]
    parent = await engine.get_run(handle.run_id)
    assert parent.children == tuple(sorted([f"{handle.run_id}:0", "named-child"]))
    child = await engine.get_run("named-child")
    assert child.parent_run_id == handle.run_id
    assert [r.run_id for r in await engine.list_runs(parent=handle.run_id)] != []
    assert calls["child"] == 2


@workflow
async def life_failing_child() -> None:
    raise ValueError("child broke")


@workflow
async def life_parent_of_failure() -> str:
    child = await start_child(life_failing_child)
    try:
        await child.result()
    except ValueError as exc:
        return f"parent saw: {exc}"
    return "no error"


async def test_a_child_error_reaches_the_parent_with_its_type(engine: Engine) -> None:
    handle = await engine.start(life_parent_of_failure)
    assert await handle.result(timeout=15) == "parent saw: child broke"


gates: dict[str, asyncio.Event] = {}


@step
async def life_blocking() -> str:
    calls["blocking"] += 1
    await asyncio.wait_for(gates["blocker"].wait(), 10)
    return "released"


@workflow
async def life_two_steps() -> str:
    await life_blocking()
    return await life_count("second")


async def cancel_during_first_step(engine: Engine) -> RunHandle:
    """Start ``life_two_steps``, cancel it while its first step runs, let the step end."""
    gates["blocker"] = blocker = asyncio.Event()
    handle = await engine.start(life_two_steps)
    async with asyncio.timeout(5):
        while calls["blocking"] == 0:
            await asyncio.sleep(0.01)
    await engine.cancel(handle.run_id)
    blocker.set()
    with pytest.raises(RunCancelled):
        await handle.result(timeout=10)
    return handle


async def test_cancel_stops_before_the_next_step(engine: Engine) -> None:
    handle = await cancel_during_first_step(engine)
    assert calls["second"] == 0
    assert await handle.status() == RunStatus.CANCELLED


async def test_retry_continues_a_cancelled_run_from_its_last_completed_step(engine: Engine) -> None:
    handle = await cancel_during_first_step(engine)
    await engine.retry(handle.run_id)
    assert await handle.result(timeout=10) == "second"
    assert calls == Counter({"blocking": 1, "second": 1})


@workflow
async def life_waits(token: str) -> Any:
    hook = await create_hook(token)
    return await hook.wait()


async def test_cancelling_a_waiting_run_ends_it_and_frees_its_hook(engine: Engine) -> None:
    handle = await engine.start(life_waits, "cancel-me")
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    assert await engine.cancel(handle.run_id) == RunStatus.CANCELLED
    with pytest.raises(RunCancelled):
        await handle.result(timeout=5)
    assert await engine.list_hooks() == []


async def test_cancel_and_retry_name_unknown_runs_and_wrong_states(engine: Engine) -> None:
    with pytest.raises(RunNotFound):
        await engine.cancel("nope")
    with pytest.raises(RunNotFound):
        await engine.get_run("nope")
    handle = await engine.start(life_child, 1)
    await handle.result(timeout=10)
    with pytest.raises(InvalidRunState, match="completed"):
        await engine.retry(handle.run_id)


@step(max_attempts=1)
async def life_fragile() -> str:
    calls["fragile"] += 1
    if not switches.get("fixed"):
        raise RuntimeError("not yet")
    return "fixed"


@workflow
async def life_retryable() -> str:
    await life_count("first")
    return await life_fragile()


async def test_retry_reruns_only_the_failed_step(engine: Engine) -> None:
    handle = await engine.start(life_retryable)
    with pytest.raises(StepRetriesExhausted):
        await handle.result(timeout=10)
    switches["fixed"] = True
    await engine.retry(handle.run_id)
    assert await handle.result(timeout=10) == "fixed"
    assert calls == Counter({"first": 1, "fragile": 2})
    run = await engine.get_run(handle.run_id)
    assert [e.type for e in run.events].count("run_retried") == 1


@workflow
async def life_changes_its_mind(token: str) -> str:
    await life_count("a")
    hook = await create_hook(token)
    await hook.wait()
    await life_count("b")
    return "done"


@step
async def life_other_step() -> str:
    return "other"


async def test_replay_detects_a_different_step_at_a_position(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = await engine.start(life_changes_its_mind, "nd")
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    # the code changes while the run waits: the first step is now another one
    monkeypatch.setattr(f"{__name__}.life_count", lambda tag: life_other_step())
    await engine.resume_hook("nd", None)
    with pytest.raises(NonDeterminismError) as info:
        await handle.result(timeout=10)
    assert info.value.position == 0
    assert "life_count" in str(info.value) and "life_other_step" in str(info.value)


@workflow(timeout=0.3)
async def life_too_slow() -> None:
    await sleep(30)


async def test_a_workflow_past_its_deadline_fails(engine: Engine) -> None:
    handle = await engine.start(life_too_slow)
    with pytest.raises(WorkflowTimedOut):
        await handle.result(timeout=10)


async def test_stopping_the_worker_while_a_run_ends_still_ends_it(db_url: str) -> None:
    async with Engine(db_url, idle_window=30, poll_interval=0.05) as engine:
        async with engine.worker() as worker:
            handle = await engine.start(life_waits, "stop-while-ending")
            async with asyncio.timeout(10):  # parked in memory, still owned by the worker
                while handle.run_id not in worker.parked:
                    await asyncio.sleep(0.01)
            await engine.cancel(handle.run_id)  # the executor is now ending the run
        run = await engine.get_run(handle.run_id)
        assert run.status == RunStatus.CANCELLED and run.owner is None


async def test_a_malformed_database_url_is_an_engine_error() -> None:
    from workflows.engine import EngineError

    with pytest.raises(EngineError, match="cannot parse database URL"):
        Engine("not a url")
