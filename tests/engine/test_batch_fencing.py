"""The fence within one batch: a write under a stale lease epoch never lands, even
beside a write of the same run under the current epoch (both databases, and both of
PostgreSQL's write paths)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tests import databases
from tests.engine.conftest import FAST
from workflows.engine import Engine, workflow
from workflows.engine._store import Write, WriteOutcome
from workflows.engine._store.batch import _append_fenced, apply_writes
from workflows.engine._store.schema import events, runs

CURRENT_EPOCH = 3

Apply = Callable[[list[Write]], Awaitable[list[WriteOutcome]]]


@workflow
async def batch_fencing_noop() -> None:
    return None


@pytest.fixture
async def postgres_engine(postgres_database: str) -> AsyncIterator[Engine]:
    """An engine without a worker on PostgreSQL (the one-statement path is only there)."""
    await databases.truncate_all(postgres_database)
    async with Engine(postgres_database, **FAST) as engine:
        yield engine


async def leased_run(engine: Engine) -> str:
    """A run owned under lease epoch 3: the owner of epoch 2 (taken over since) may be
    a stalled worker that still writes."""
    handle = await engine.start(batch_fencing_noop)  # no worker: it stays pending

    async def take(conn: AsyncConnection) -> None:
        await conn.execute(
            update(runs)
            .where(runs.c.run_id == handle.run_id)
            .values(
                status="running",
                owner="current-owner",
                lease_epoch=CURRENT_EPOCH,
                lease_expires_at=engine._clock.time() + 60,
                started_at=engine._clock.time(),
                wake_at=None,
            )
        )

    await engine._db.run_write(take)
    return handle.run_id


def checkpoint(engine: Engine, run_id: str, position: int, data: str) -> dict[str, Any]:
    """A step's checkpoint row, with every column of the events table."""
    row: dict[str, Any] = {c.name: None for c in events.columns if c.name != "id"}
    row.update(
        run_id=run_id,
        key=f"p{position}",
        type="step_completed",
        at=engine._clock.time(),
        position=position,
        name="step",
        checkpoint=True,
        failed=False,
        attempt=1,
        data=data,
    )
    return row


async def check_only_the_current_epoch_lands(engine: Engine, apply: Apply) -> None:
    run_id = await leased_run(engine)
    stale, current = await apply(
        [  # one batch: a late checkpoint of epoch 2, and the current owner's next one
            Write(run_id, CURRENT_EPOCH - 1, events=[checkpoint(engine, run_id, 0, '"stale"')]),
            Write(run_id, CURRENT_EPOCH, events=[checkpoint(engine, run_id, 1, '"current"')]),
        ]
    )

    async def stored(conn: AsyncConnection) -> dict[str, str]:
        rows = await conn.execute(
            select(events.c.key, events.c.data).where(
                events.c.run_id == run_id, events.c.type == "step_completed"
            )
        )
        return {r.key: r.data for r in rows}

    assert await engine._db.run_read(stored) == {"p1": '"current"'}
    assert (stale.applied, current.applied) == (False, True)


async def test_the_transaction_path_refuses_a_stale_epoch_beside_the_current_one(
    bare_engine: Engine,
) -> None:
    db = bare_engine._db

    async def apply(writes: list[Write]) -> list[WriteOutcome]:
        return await db.run_write(lambda conn: apply_writes(conn, writes))

    await check_only_the_current_epoch_lands(bare_engine, apply)


@pytest.mark.postgres
async def test_the_one_statement_path_refuses_a_stale_epoch_beside_the_current_one(
    postgres_engine: Engine,
) -> None:
    db = postgres_engine._db

    async def apply(writes: list[Write]) -> list[WriteOutcome]:
        return await db.run_autocommit(lambda conn: _append_fenced(conn, writes))

    await check_only_the_current_epoch_lands(postgres_engine, apply)


async def test_a_group_commit_of_a_stale_and_the_current_epoch_applies_only_the_current(
    bare_engine: Engine,
) -> None:
    # both are queued before the batcher runs, so they share a batch (on PostgreSQL it
    # takes the one-statement path: only appends, all fenced)
    batcher = bare_engine._batcher

    async def apply(writes: list[Write]) -> list[WriteOutcome]:
        return list(await asyncio.gather(*[batcher.submit(w) for w in writes]))

    await check_only_the_current_epoch_lands(bare_engine, apply)
