"""The one-statement (PostgreSQL) and one-hop (SQLite) write paths keep the semantics of
a transaction: fencing, updates, cancel flags, one start per run id (both databases)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.engine.test_batch_fencing import (
    CURRENT_EPOCH,
    batch_fencing_noop,
    checkpoint,
    leased_run,
)
from workflows.engine import Engine
from workflows.engine._store import Write, WriteOutcome
from workflows.engine._store.runs import encode_args, finish_values, new_run_row
from workflows.engine._store.schema import events, runs


async def lone(engine: Engine, write: Write) -> WriteOutcome:
    return await engine._batcher.write(write)


async def stored_keys(engine: Engine, run_id: str) -> set[str]:
    async def read(conn: AsyncConnection) -> set[str]:
        rows = await conn.execute(select(events.c.key).where(events.c.run_id == run_id))
        return {r.key for r in rows}

    return await engine._db.run_read(read)


async def run_row(engine: Engine, run_id: str) -> Row[Any]:
    async def read(conn: AsyncConnection) -> Row[Any]:
        row = (await conn.execute(select(runs).where(runs.c.run_id == run_id))).first()
        assert row is not None
        return row

    return await engine._db.run_read(read)


async def test_a_lone_write_under_a_stale_epoch_changes_nothing(bare_engine: Engine) -> None:
    run_id = await leased_run(bare_engine)
    now = bare_engine._clock.time()
    stale = Write(
        run_id,
        CURRENT_EPOCH - 1,
        events=[checkpoint(bare_engine, run_id, 0, '"late"')],
        run_update=finish_values("completed", now, result='"late"'),
        done=(run_id,),
    )
    assert not (await lone(bare_engine, stale)).applied
    assert "p0" not in await stored_keys(bare_engine, run_id)
    assert (await run_row(bare_engine, run_id)).status == "running"


async def test_a_lone_write_ends_a_run_and_reports_a_pending_cancel(bare_engine: Engine) -> None:
    run_id = await leased_run(bare_engine)

    async def ask_cancel(conn: AsyncConnection) -> None:
        await conn.execute(
            update(runs).where(runs.c.run_id == run_id).values(cancel_requested=True)
        )

    await bare_engine._db.run_write(ask_cancel)
    now = bare_engine._clock.time()
    end = Write(
        run_id,
        CURRENT_EPOCH,
        events=[checkpoint(bare_engine, run_id, 0, '"done"')],
        run_update=finish_values("completed", now, result='"done"'),
        done=(run_id,),
    )
    outcome = await lone(bare_engine, end)
    assert outcome.applied and outcome.cancel_requested
    row = await run_row(bare_engine, run_id)
    assert (row.status, row.result, row.owner) == (
        "completed",
        '"done"',
        None,
    )
    assert "p0" in await stored_keys(bare_engine, run_id)


async def test_two_starts_of_one_run_id_in_one_batch_make_one_run(bare_engine: Engine) -> None:
    definition = batch_fencing_noop.__workflow__  # type: ignore[attr-defined]
    now = bare_engine._clock.time()
    args = encode_args(definition, (), {})

    def start() -> Write:
        created = checkpoint(bare_engine, "twice", 0, None)  # type: ignore[arg-type]
        created.update(key="created", type="run_created", position=None, checkpoint=False)
        return Write("twice", new_run=new_run_row("twice", definition, args, now), events=[created])

    first, second = await asyncio.gather(
        bare_engine._batcher.submit(start()), bare_engine._batcher.submit(start())
    )
    assert sorted([first.applied, second.applied]) == [False, True]
    assert await stored_keys(bare_engine, "twice") == {"created"}
