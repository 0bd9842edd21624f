"""A run stopped by its own ``workflow(timeout=)`` can be retried: the call its deadline
cut short runs again and the retried run completes, even when the engine's clock and the
event loop's clock disagree (a ``FakeClock`` here; a wall-clock step in production)."""

from __future__ import annotations

import asyncio

import pytest

from tests.engine.conftest import FAST
from workflows.engine import Engine, WorkflowTimedOut, step, workflow
from workflows.engine.testing import FakeClock

state = {"slow": True}


@step
async def dc_work() -> str:
    if state["slow"]:
        await asyncio.sleep(2)
    return "done"


@workflow(timeout=0.5)
async def dc_timeboxed() -> str:
    return await dc_work()


async def test_retrying_a_run_that_timed_out_runs_the_cut_short_step_again(db_url: str) -> None:
    state["slow"] = True
    async with Engine(db_url, clock=FakeClock(), **FAST) as engine, engine.worker():
        handle = await engine.start(dc_timeboxed)
        with pytest.raises(WorkflowTimedOut):
            await handle.result(timeout=10)
        state["slow"] = False  # the step is fast now: the retry completes
        await engine.retry(handle.run_id)
        assert await handle.result(timeout=10) == "done"
