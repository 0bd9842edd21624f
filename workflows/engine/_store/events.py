"""Queries on a run's history: what replay loads, and checkpoint look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import events

_REPLAY = (
    select(
        events.c.position,
        events.c.type,
        events.c.name,
        events.c.checkpoint,
        events.c.failed,
        events.c.attempt,
        events.c.wake_at,
        events.c.data,
        events.c.args_digest,
    )
    .where(events.c.position.is_not(None), events.c.key.not_like("%~%"))
    .order_by(events.c.id)
)


async def replay_rows(conn: AsyncConnection, run_id: str) -> Sequence[Any]:
    """The positioned events replay needs (superseded ones, marked ``~``, left out)."""
    return (await conn.execute(_REPLAY.where(events.c.run_id == run_id))).all()


async def has_checkpoint_at(conn: AsyncConnection, run_id: str, positions: Sequence[int]) -> bool:
    """Whether one of ``positions`` of the run has an outcome recorded."""
    if not positions:
        return False
    stmt = select(
        exists().where(
            events.c.run_id == run_id,
            events.c.checkpoint.is_(True),
            events.c.position.in_(list(positions)),
        )
    )
    return bool((await conn.execute(stmt)).scalar())


async def replace_checkpoint(conn: AsyncConnection, row: dict[str, Any], suffix: str) -> None:
    """Make ``row`` the checkpoint at its key; one already there is kept in the history
    under ``key~suffix`` (no longer read by replay), so ``row`` is the newest event."""
    await conn.execute(
        update(events)
        .where(events.c.run_id == row["run_id"], events.c.key == row["key"])
        .values(key=events.c.key + "~" + suffix, checkpoint=False)
    )
    await conn.execute(insert(events), [row])
