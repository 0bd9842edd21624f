"""Engine fixtures: an engine with a running worker, on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict

import pytest

from workflows.engine import Engine


class Tuning(TypedDict, total=False):
    """Keyword options of :class:`Engine` (fields of ``EngineOptions``) that tests set."""

    lease_ttl: float
    idle_window: float
    poll_interval: float


FAST: Tuning = {"idle_window": 0.1, "poll_interval": 0.05, "lease_ttl": 5.0}


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    """An engine with an in-process worker (concurrency 8)."""
    async with Engine(db_url, **FAST) as engine, engine.worker(concurrency=8):
        yield engine


@pytest.fixture
async def bare_engine(db_url: str) -> AsyncIterator[Engine]:
    """An engine without a worker: runs stay pending until a test starts one."""
    async with Engine(db_url, **FAST) as engine:
        yield engine
