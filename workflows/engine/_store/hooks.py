"""Queries on hooks: register a token, deliver a payload, consume it once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import insert_ignoring_conflicts
from .schema import events, hook_payloads, hooks, runs


async def register(
    conn: AsyncConnection, token: str, run_id: str, position: int, now: float
) -> str | None:
    """Give ``token`` to ``run_id``; return the id of another live holder, if any."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, hooks, "token").returning(hooks.c.token)
    row = {"token": token, "run_id": run_id, "position": position, "created_at": now}
    if (await conn.execute(stmt, [row])).first() is not None:
        return None
    holder = (
        await conn.execute(select(hooks.c.run_id).where(hooks.c.token == token))
    ).scalar_one_or_none()
    if holder is None or holder == run_id:  # freed meanwhile, or ours already (replay)
        await conn.execute(insert_ignoring_conflicts(conn.dialect.name, hooks, "token"), [row])
        return None
    return str(holder)


async def holder_of(conn: AsyncConnection, token: str) -> tuple[str, float | None] | None:
    """The live run holding ``token`` with the deadline of its wait on it now in
    progress, if any; ``None`` when no run holds it (the caller locks the run's row)."""
    stmt = select(hooks.c.run_id, hooks.c.wait_deadline).where(hooks.c.token == token)
    row = (await conn.execute(stmt)).first()
    return None if row is None else (str(row.run_id), row.wait_deadline)


async def start_wait(
    conn: AsyncConnection, token: str, run_id: str, position: int, deadline: float
) -> None:
    """Record that the run's wait at ``position`` on ``token`` times out at ``deadline``."""
    await conn.execute(
        update(hooks)
        .where(hooks.c.token == token, hooks.c.run_id == run_id)
        .values(wait_position=position, wait_deadline=deadline)
    )


async def end_wait(conn: AsyncConnection, run_id: str, position: int) -> None:
    """The wait at ``position`` ended (took a payload, timed out, or was cancelled)."""
    await conn.execute(
        update(hooks)
        .where(hooks.c.run_id == run_id, hooks.c.wait_position == position)
        .values(wait_position=None, wait_deadline=None)
    )


async def add_payload(
    conn: AsyncConnection, token: str, run_id: str, payload: str, now: float, delivery: str
) -> bool:
    """Buffer a payload for ``token``; False if this delivery was buffered already (a
    concurrent repeat of it committed first)."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, hook_payloads, "delivery").returning(
        hook_payloads.c.id
    )
    row = {
        "token": token,
        "run_id": run_id,
        "payload": payload,
        "created_at": now,
        "delivery": delivery,
    }
    return (await conn.execute(stmt, [row])).first() is not None


async def delivered_to(conn: AsyncConnection, delivery: str) -> str | None:
    """The run a delivery already reached, if it did."""
    stmt = select(hook_payloads.c.run_id).where(hook_payloads.c.delivery == delivery)
    run_id = (await conn.execute(stmt)).scalar_one_or_none()
    return None if run_id is None else str(run_id)


async def take_payload(
    conn: AsyncConnection,
    token: str,
    run_id: str,
    position: int,
    now: float,
    deadline: float | None = None,
) -> tuple[int, str | None] | None:
    """Mark the oldest unconsumed payload of ``token`` consumed at ``position``; only
    one delivered by ``deadline`` counts (the deadline decides, not when we look).

    If one was already taken at that position (the write is being repeated after a
    lost acknowledgement), that one is returned again and nothing else is taken.
    """
    taken = select(hook_payloads.c.id, hook_payloads.c.payload).where(
        hook_payloads.c.run_id == run_id, hook_payloads.c.consumed_position == position
    )
    again = (await conn.execute(taken)).first()
    if again is not None:
        return int(again.id), again.payload
    stmt = (
        select(hook_payloads.c.id, hook_payloads.c.payload)
        .where(
            hook_payloads.c.token == token,
            hook_payloads.c.run_id == run_id,
            hook_payloads.c.consumed_at.is_(None),
        )
        .order_by(hook_payloads.c.id)
        .limit(1)
    )
    if deadline is not None:
        stmt = stmt.where(hook_payloads.c.created_at <= deadline)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    await conn.execute(
        update(hook_payloads)
        .where(hook_payloads.c.id == row.id)
        .values(consumed_at=now, consumed_position=position)
    )
    await end_wait(conn, run_id, position)
    return int(row.id), row.payload


async def give_back(conn: AsyncConnection, run_id: str, position: int) -> None:
    """Return a payload taken at ``position`` (by a wait since cancelled) to the buffer,
    where it keeps its place in delivery order."""
    await conn.execute(
        update(hook_payloads)
        .where(hook_payloads.c.run_id == run_id, hook_payloads.c.consumed_position == position)
        .values(consumed_at=None, consumed_position=None)
    )
    await end_wait(conn, run_id, position)


async def has_unconsumed(conn: AsyncConnection, run_id: str, tokens: Sequence[str]) -> bool:
    """Whether a payload for one of ``tokens`` waits to be consumed by ``run_id``."""
    if not tokens:
        return False
    stmt = select(
        exists().where(
            hook_payloads.c.run_id == run_id,
            hook_payloads.c.token.in_(list(tokens)),
            hook_payloads.c.consumed_at.is_(None),
        )
    )
    return bool((await conn.execute(stmt)).scalar())


async def list_hooks(conn: AsyncConnection, limit: int) -> Sequence[Row[Any]]:
    """Live hooks with their run's workflow and the count of buffered payloads."""
    pending = (
        select(func.count())
        .where(hook_payloads.c.token == hooks.c.token, hook_payloads.c.consumed_at.is_(None))
        .scalar_subquery()
    )
    stmt = (
        select(hooks, runs.c.workflow, runs.c.status, pending.label("buffered"))
        .join(runs, runs.c.run_id == hooks.c.run_id)
        .order_by(hooks.c.created_at)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


async def restore(conn: AsyncConnection, run_id: str, now: float) -> None:
    """Give a retried run back the tokens of the hooks it created (freed when it ended).

    A token taken meanwhile by another live run stays with that run.
    """
    created = select(events.c.position, events.c.data).where(
        events.c.run_id == run_id,
        events.c.type == "hook_created",
        events.c.checkpoint.is_(True),
        events.c.failed.is_(False),
    )
    rows = [
        {"token": json.loads(r.data), "run_id": run_id, "position": r.position, "created_at": now}
        for r in await conn.execute(created)
    ]
    if rows:
        await conn.execute(insert_ignoring_conflicts(conn.dialect.name, hooks, "token"), rows)
