"""A step cut short by the workflow's own ``asyncio.wait_for`` stays cut short on replay:
the workflow sees the same ``TimeoutError`` again, and the run finishes after it unloads
and reloads (both databases)."""

from __future__ import annotations

import asyncio

from tests.engine.conftest import FAST
from tests.engine.scenarios.test_waits import wait_for_status
from workflows.engine import Engine, RunStatus, create_hook, step, workflow


@step
async def wf_slow() -> int:
    await asyncio.sleep(2)
    return 1


@workflow
async def wf_timeboxed(token: str) -> str:
    try:
        await asyncio.wait_for(wf_slow(), 0.5)  # longer than the idle window (0.1 in FAST)
        got = "in time"
    except TimeoutError:
        got = "timed out"
    hook = await create_hook(token)
    answer = await hook.wait()  # the run unloads; the payload reloads it: a replay
    return f"{got}/{answer}"


async def test_a_step_timed_out_by_wait_for_times_out_again_on_replay_and_the_run_finishes(
    db_url: str,
) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(wf_timeboxed, "tb")
        await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
        await engine.resume_hook("tb", "yes")
        assert await handle.result(timeout=8) == "timed out/yes"
