"""``engine.retry()`` of a run cancelled while one branch was running a step runs that
step again: the retried run takes the hook payload and completes (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.engine.conftest import FAST
from workflows.engine import Engine, RunCancelled, create_hook, step, workflow

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


@step
async def ra_work() -> str:
    calls["work"] += 1
    await asyncio.sleep(1.0)
    return "worked"


@workflow
async def ra_flow(token: str) -> list[Any]:
    hook = await create_hook(token)
    work = asyncio.ensure_future(ra_work())
    answer = asyncio.ensure_future(hook.wait())
    _, pending = await asyncio.wait({work, answer}, return_when=asyncio.FIRST_EXCEPTION)
    for branch in pending:  # the branch that sees the cancel raises; stop its sibling
        branch.cancel()
    await asyncio.wait({work, answer})
    return [work.result(), answer.result()]


async def wait_for_calls(count: int) -> None:
    async with asyncio.timeout(10):
        while calls["work"] < count:
            await asyncio.sleep(0.02)


async def test_retrying_a_run_cancelled_mid_step_runs_the_step_again_and_completes(
    db_url: str,
) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(ra_flow, "ra")
        await wait_for_calls(1)  # the step is running
        await engine.cancel(handle.run_id)
        with pytest.raises(RunCancelled):
            await handle.result(timeout=10)
        await engine.retry(handle.run_id)
        await wait_for_calls(2)  # the step runs again
        await engine.resume_hook("ra", "answer")
        assert await handle.result(timeout=6) == ["worked", "answer"]
