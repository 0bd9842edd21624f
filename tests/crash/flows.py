"""Workflows run by crash-test worker processes.

Every step execution appends a line to the journal file named by ``CRASH_JOURNAL``,
so the test can count executions across processes that were killed.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from workflows.engine import HookTimeout, create_hook, start_child, step, workflow


def journal(entry: str) -> None:
    with open(os.environ["CRASH_JOURNAL"], "a") as f:
        f.write(f"{entry} {os.getpid()}\n")
        f.flush()


@step
async def crash_a(x: int) -> int:
    journal("crash_a")
    return x + 1


@step
async def crash_b(x: int) -> int:
    journal("crash_b")
    return x * 2


@step
async def crash_c(x: int) -> int:
    journal("crash_c")
    return x - 3


@workflow
async def crash_three_steps(x: int) -> int:
    return await crash_c(await crash_b(await crash_a(x)))


@step(max_attempts=3, backoff=0.05)
async def crash_always_fails() -> None:
    journal("crash_always_fails")
    raise ConnectionError("down")


@workflow
async def crash_retries() -> None:
    await crash_always_fails()


@step
async def crash_after_wait(payload: Any) -> Any:
    journal("crash_after_wait")
    return payload


@workflow
async def crash_hook(token: str) -> list[Any]:
    hook = await create_hook(token)
    first = await crash_after_wait(await hook.wait(timeout=60))
    try:
        second = await hook.wait(timeout=0.5)
    except HookTimeout:
        second = None
    return [first, second]


@step(max_attempts=1)
async def crash_par(tag: str, delay: float) -> str:
    journal(f"crash_par_start_{tag}")
    if tag == "slow":
        delay = float(os.environ.get("CRASH_PAR_SLOW", delay))
    await asyncio.sleep(delay)
    journal(f"crash_par_{tag}")
    return tag


@workflow
async def crash_parallel() -> list[str]:
    results = await asyncio.gather(
        crash_par("fast1", 0.05), crash_par("fast2", 0.1), crash_par("slow", 30)
    )
    return list(results)


@workflow
async def crash_child(x: int) -> int:
    return await crash_a(x)


@workflow
async def crash_parent() -> int:
    child = await start_child(crash_child, 41)
    return int(await child.result())


@step
async def crash_slow_owner() -> int:
    journal("crash_slow_owner_start")
    await asyncio.sleep(float(os.environ.get("CRASH_SLOW", "3")))
    journal("crash_slow_owner_done")
    return os.getpid()


@workflow
async def crash_takeover() -> int:
    return await crash_slow_owner()


@step
async def crash_kills_worker() -> None:
    journal("crash_kills_worker")
    os.kill(os.getpid(), 9)


@workflow
async def crash_poison() -> None:
    await crash_a(0)
    await crash_kills_worker()
