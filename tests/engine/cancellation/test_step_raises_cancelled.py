"""A step body that raises ``asyncio.CancelledError`` itself (a client library aborting a
request that way) is not mistaken for a cancellation of the run: the step runs again and
the run completes with its result (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.engine.conftest import FAST
from workflows.engine import Engine, step, workflow

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


@step
async def sc_fetch() -> str:
    calls["fetch"] += 1
    if calls["fetch"] == 1:
        raise asyncio.CancelledError  # e.g. a client library's aborted request
    return "data"


@workflow
async def sc_flow() -> str:
    return await sc_fetch()


async def test_a_step_that_raises_cancelled_error_itself_runs_again_and_the_run_completes(
    db_url: str,
) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(sc_flow)
        assert await handle.result(timeout=5) == "data"
