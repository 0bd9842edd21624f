"""Edge cases from the issue: infinite floats, timeouts and children, retried hook
timeouts (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from workflows.engine import (
    Engine,
    HookTimeout,
    RunStatus,
    SerializationError,
    WorkflowTimedOut,
    create_hook,
    start_child,
    step,
    workflow,
)

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


async def settled(engine: Engine, run_id: str, timeout: float = 5) -> RunStatus:
    """The run's status once it has ended, or as it is after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        status = (await engine.get_run(run_id)).status
        if status.finished or loop.time() > give_up:
            return status
        await asyncio.sleep(0.05)


@step
async def edge_infinite_step() -> float:
    calls["infinite"] += 1
    return float("inf")


@workflow
async def edge_step_returns_infinity() -> float:
    return await edge_infinite_step()


async def test_a_step_returning_infinity_fails_with_a_serialization_error(
    engine: Engine,
) -> None:
    handle = await engine.start(edge_step_returns_infinity)
    with pytest.raises(SerializationError, match="edge_infinite_step"):
        await handle.result(timeout=10)
    assert calls["infinite"] == 1  # not retried, like any unstorable value
    assert (await engine.get_run(handle.run_id)).status == RunStatus.FAILED


@workflow
async def edge_workflow_returns_infinity() -> float:
    return float("inf")


async def test_a_workflow_returning_infinity_fails_promptly_naming_the_workflow(
    engine: Engine,
) -> None:
    handle = await engine.start(edge_workflow_returns_infinity)
    with pytest.raises(SerializationError, match="edge_workflow_returns_infinity"):
        await handle.result(timeout=5)
    assert (await engine.get_run(handle.run_id)).status == RunStatus.FAILED


@workflow
async def edge_waiting_child(token: str) -> Any:
    hook = await create_hook(token)
    return await hook.wait()


@workflow(timeout=0.5)
async def edge_impatient_parent(token: str) -> Any:
    child = await start_child(edge_waiting_child, token)
    return await child.result()


async def test_a_workflow_timeout_cancels_the_runs_children(engine: Engine) -> None:
    handle = await engine.start(edge_impatient_parent, "never-answered")
    with pytest.raises(WorkflowTimedOut):
        await handle.result(timeout=10)
    [child] = (await engine.get_run(handle.run_id)).children
    assert await settled(engine, child) == RunStatus.CANCELLED
    assert await engine.list_hooks() == []  # its token is free again


@workflow
async def edge_uncaught_hook_timeout(token: str) -> Any:
    hook = await create_hook(token)
    return await hook.wait(timeout=1.0)


async def test_retrying_a_run_failed_on_a_hook_timeout_waits_again(engine: Engine) -> None:
    handle = await engine.start(edge_uncaught_hook_timeout, "second-chance")
    with pytest.raises(HookTimeout):
        await handle.result(timeout=10)
    await engine.retry(handle.run_id)
    # it waits again with a fresh deadline, instead of replaying the timeout
    async with asyncio.timeout(5):
        while (status := (await engine.get_run(handle.run_id)).status) != RunStatus.WAITING:
            assert status in (RunStatus.PENDING, RunStatus.RUNNING), status
            await asyncio.sleep(0.02)
    assert await engine.resume_hook("second-chance", "answer") == handle.run_id
    assert await handle.result(timeout=10) == "answer"
