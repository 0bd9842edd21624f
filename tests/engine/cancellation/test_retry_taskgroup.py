"""``engine.retry()`` of a run whose step failed inside an ``asyncio.TaskGroup`` runs the
sibling branch the TaskGroup cancelled (a durable ``sleep``) again, so the retried run
completes (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from tests.engine.conftest import FAST
from tests.engine.scenarios.test_waits import wait_for_status
from workflows.engine import Engine, RunStatus, sleep, step, workflow

state = {"fail": True}


@step(max_attempts=1)
async def rc_flaky() -> str:
    await asyncio.sleep(0.2)  # the sibling's sleep checkpoint is written first
    if state["fail"]:
        raise ValueError("boom")
    return "ok"


@workflow
async def rc_taskgroup() -> str:
    async with asyncio.TaskGroup() as tg:
        flaky = tg.create_task(cast(Coroutine[Any, Any, str], rc_flaky()))
        tg.create_task(sleep(0.5))
    return flaky.result()


async def test_retrying_a_run_that_failed_in_a_taskgroup_reruns_the_cancelled_sibling(
    db_url: str,
) -> None:
    state["fail"] = True
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(rc_taskgroup)
        await wait_for_status(engine, handle.run_id, RunStatus.FAILED)
        state["fail"] = False
        await engine.retry(handle.run_id)
        assert await handle.result(timeout=6) == "ok"
