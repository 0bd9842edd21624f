"""The fence: writes under a stale lease epoch never land (both databases)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from workflows.engine import Engine
from workflows.engine._replay import EventType, event_row
from workflows.engine._store import Write, leases
from workflows.engine._store.schema import events


async def test_a_write_with_a_stale_epoch_is_refused(bare_engine: Engine) -> None:
    engine = bare_engine
    from tests.engine.scenarios.test_steps import steps_pipeline

    handle = await engine.start(steps_pipeline, 1)
    db, batcher = engine._db, engine._batcher

    async def claim(worker: str, now: float) -> list[leases.Claimed]:
        return await db.run_write(
            lambda conn: leases.claim(
                conn, worker=worker, limit=1, now=now, ttl=1.0, max_recoveries=5
            )
        )

    clock = engine._clock.time()
    [first] = await claim("a", clock)
    [second] = await claim("b", clock + 5)  # a's lease expired: b takes over
    assert (first.epoch, second.epoch) == (1, 2)
    late = event_row(
        handle.run_id,
        "p0",
        EventType.STEP_COMPLETED,
        clock,
        position=0,
        name="x",
        checkpoint=True,
        data="1",
    )
    outcome = await batcher.write(Write(handle.run_id, first.epoch, events=[late]))
    assert not outcome.applied
    current = event_row(
        handle.run_id,
        "p0",
        EventType.STEP_COMPLETED,
        clock,
        position=0,
        name="x",
        checkpoint=True,
        data="2",
    )
    assert (await batcher.write(Write(handle.run_id, second.epoch, events=[current]))).applied

    async def stored(conn: AsyncConnection) -> list[str]:
        rows = await conn.execute(
            select(events.c.data).where(events.c.run_id == handle.run_id, events.c.key == "p0")
        )
        return [r.data for r in rows]

    assert await db.run_read(stored) == ["2"]
