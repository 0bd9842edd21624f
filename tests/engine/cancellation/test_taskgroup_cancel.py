"""``engine.cancel()`` of a run whose workflow uses ``asyncio.TaskGroup`` stops only that
run: the worker, its other runs and the task that entered ``engine.worker()`` carry on
(both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from tests.engine.conftest import FAST
from workflows.engine import Engine, create_hook, step, workflow


@step
async def tk_tick(i: int) -> int:
    await asyncio.sleep(0.05)
    return i


@workflow
async def tk_healthy(n: int) -> int:
    total = 0
    for i in range(n):
        total += await tk_tick(i)
    return total


@step
async def tk_long() -> int:
    await asyncio.sleep(1.0)
    return 1


@workflow
async def tk_grouped(token: str) -> list[Any]:
    hook = await create_hook(token)
    async with asyncio.TaskGroup() as tg:
        answer = tg.create_task(hook.wait())
        long = tg.create_task(cast(Coroutine[Any, Any, int], tk_long()))  # stays loaded
    return [answer.result(), long.result()]


async def test_cancelling_a_run_that_uses_a_taskgroup_stops_only_that_run(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        healthy = await engine.start(tk_healthy, 40)
        grouped = await engine.start(tk_grouped, "tk")
        await asyncio.sleep(0.3)
        await engine.cancel(grouped.run_id)
        assert await healthy.result(timeout=10) == sum(range(40))
