"""PostgreSQL drops every connection while runs are in flight: nothing is lost or
duplicated. (SQLite is embedded: its equivalent, a process restart, is covered by the
SIGKILL tests.)"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests import databases
from workflows.engine import Engine, step, workflow

pytestmark = pytest.mark.crash
executions: Counter[str] = Counter()


@step(max_attempts=1)
async def restart_step(run: int, n: int) -> int:
    executions[f"{run}:{n}"] += 1
    await asyncio.sleep(0.02)
    return n


@workflow
async def restart_flow(run: int) -> int:
    total = 0
    for n in range(5):
        total += await restart_step(run, n)
    return total


async def drop_connections(url: str) -> int:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return len(rows)


async def test_dropping_every_connection_loses_and_duplicates_nothing(
    postgres_database: str,
) -> None:
    await databases.truncate_all(postgres_database)
    executions.clear()
    async with (
        Engine(postgres_database, lease_ttl=30, poll_interval=0.05) as engine,
        engine.worker(concurrency=50),
    ):
        handles = [await engine.start(restart_flow, i) for i in range(40)]
        results = asyncio.gather(*(h.result(timeout=60) for h in handles))
        dropped = 0
        for _ in range(5):
            await asyncio.sleep(0.15)
            dropped += await drop_connections(postgres_database)
        assert await results == [10] * 40
    assert dropped > 0
    assert set(executions.values()) == {1}  # every step ran exactly once
    assert len(executions) == 40 * 5
