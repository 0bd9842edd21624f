"""PostgreSQL: runs complete with their right results while every backend of the engine
is terminated (``pg_terminate_backend``) between and during its writes."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests import databases
from tests.engine.conftest import FAST
from workflows.engine import Engine, step, workflow


@step
async def pt_step(i: int, k: int) -> int:
    await asyncio.sleep(0.01)
    return k


@workflow
async def pt_flow(i: int) -> int:
    total = 0
    for k in range(10):
        total += await pt_step(i, k)
    return total


@pytest.mark.postgres
async def test_runs_complete_while_the_engines_connections_are_terminated(
    postgres_database: str,
) -> None:
    await databases.truncate_all(postgres_database)
    dsn = make_url(postgres_database).set(drivername="postgresql")
    admin = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        async with Engine(postgres_database, **FAST) as engine, engine.worker(concurrency=8):
            handles = [await engine.start(pt_flow, i) for i in range(8)]
            for _ in range(6):
                await asyncio.sleep(0.07)
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            results = [await h.result(timeout=30) for h in handles]
    finally:
        await admin.close()
    assert results == [45] * 8
