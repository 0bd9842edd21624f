"""An engine opened on tables made by an earlier version brings them up to date."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.engine.conftest import FAST
from workflows.engine import Engine, create_hook, workflow


@workflow
async def upgrade_waits(token: str) -> object:
    return await (await create_hook(token)).wait(timeout=30)


ADDED_SINCE = [  # columns the previous release did not have
    ("wf_events", "args_digest"),
    ("wf_hooks", "wait_position"),
    ("wf_hooks", "wait_deadline"),
    ("wf_hook_payloads", "delivery"),
]


async def test_tables_of_an_earlier_version_gain_the_new_columns(db_url: str) -> None:
    async with Engine(db_url, **FAST) as engine:

        async def make_old(conn: AsyncConnection) -> None:
            await conn.execute(text("DROP INDEX wf_hook_payloads_delivery"))
            await conn.execute(text("DROP TABLE wf_workers"))
            for table, column in ADDED_SINCE:
                await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))

        await engine._db.run_write(make_old)

    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(upgrade_waits, "upgraded")
        async with asyncio.timeout(10):
            while not await engine.list_hooks():
                await asyncio.sleep(0.02)
        await engine.resume_hook("upgraded", "yes", idempotency_key="k")
        assert await handle.result(timeout=10) == "yes"
        assert await engine.resume_hook("upgraded", "yes", idempotency_key="k") == handle.run_id
