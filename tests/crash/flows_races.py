"""Workflows run by crash-test worker processes for tests/crash/test_stalls.py.

Steps append to the journal of ``tests.crash.flows`` (one line per start and end), so
that a test counts executions across processes that were stopped or killed.
"""

from __future__ import annotations

import asyncio

from tests.crash.flows import journal
from workflows.engine import step, workflow


@step(max_attempts=1)
async def races_stalled(x: int, tag: str) -> int:
    journal(f"races_stalled_{tag}_start")
    await asyncio.sleep(2.0)
    journal(f"races_stalled_{tag}_done")
    return x + 1


@step(max_attempts=1)
async def races_after_stall(x: int) -> int:
    journal("races_after_stall_start")
    await asyncio.sleep(0.5)
    journal("races_after_stall_done")
    return x * 10


@workflow
async def races_stall(x: int) -> int:
    """Two steps the test stalls its worker in, then one more."""
    first = await races_stalled(x, "first")
    second = await races_stalled(first, "second")
    return await races_after_stall(second)


@step
async def races_ordinary_step(x: int) -> int:
    journal("races_ordinary_step")
    await asyncio.sleep(0.3)  # an HTTP call, say: the poison run kills the worker meanwhile
    return x + 1


@workflow
async def races_ordinary(x: int) -> int:
    """A healthy run: two steps of a third of a second."""
    return await races_ordinary_step(await races_ordinary_step(x))
