"""Queries on runs: insert, read, list, cancel, retry, finish."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import insert_ignoring_conflicts, notify
from .schema import events, hook_payloads, hooks, runs

TERMINAL = ("completed", "failed", "cancelled", "crashed")


async def insert_new(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert runs, skipping ids that exist; return the ids actually inserted."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, runs, "run_id").returning(runs.c.run_id)
    result = await conn.execute(stmt, rows)
    return {row.run_id for row in result}


async def fetch(conn: AsyncConnection, run_id: str) -> Row[Any] | None:
    return (await conn.execute(select(runs).where(runs.c.run_id == run_id))).first()


async def fetch_for_update(conn: AsyncConnection, run_id: str) -> Row[Any] | None:
    stmt = select(runs).where(runs.c.run_id == run_id).with_for_update()
    return (await conn.execute(stmt)).first()


async def list_runs(
    conn: AsyncConnection,
    *,
    status: Sequence[str] | None,
    workflow: str | None,
    parent: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    stmt = select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id).limit(limit)
    if status:
        stmt = stmt.where(runs.c.status.in_(list(status)))
    if workflow:
        stmt = stmt.where(runs.c.workflow == workflow)
    if parent:
        stmt = stmt.where(runs.c.parent_run_id == parent)
    return (await conn.execute(stmt)).all()


def finish_values(
    status: str, now: float, *, result: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """Column values that end a run."""
    return {
        "status": status,
        "result": result,
        "error": error,
        "completed_at": now,
        "updated_at": now,
        "owner": None,
        "lease_expires_at": None,
        "wake_at": None,
    }


async def after_finish(conn: AsyncConnection, run_id: str, parent: str | None, now: float) -> None:
    """Free the run's hook tokens and wake its parent, inside the finishing transaction."""
    await conn.execute(delete(hooks).where(hooks.c.run_id == run_id))
    await conn.execute(
        update(hook_payloads)
        .where(hook_payloads.c.run_id == run_id, hook_payloads.c.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    if parent is not None:
        await wake(conn, parent, now)


async def wake(conn: AsyncConnection, run_id: str, now: float) -> None:
    """Make a waiting run claimable now, and tell its owner if it is loaded.

    The row is locked first, so that a concurrent unload either sees this wake-up's
    cause or is seen by it (no lost wake-ups under READ COMMITTED).
    """
    row = await fetch_for_update(conn, run_id)
    if row is None:
        return
    if row.status == "waiting":
        await conn.execute(update(runs).where(runs.c.run_id == run_id).values(wake_at=now))
    await notify(conn, "wf_wake", run_id)


async def append_event(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Append a history row; False when its key was already there (a repeated write)."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, events, "run_id", "key").returning(
        events.c.id
    )
    return (await conn.execute(stmt, [row])).first() is not None


async def any_finished(conn: AsyncConnection, run_ids: list[str]) -> bool:
    """Whether one of ``run_ids`` has ended."""
    if not run_ids:
        return False
    stmt = (
        select(runs.c.run_id)
        .where(runs.c.run_id.in_(run_ids), runs.c.status.in_(TERMINAL))
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def cancel_requested(conn: AsyncConnection, run_id: str) -> bool:
    """Whether a cancel of the run is pending."""
    stmt = select(runs.c.cancel_requested).where(runs.c.run_id == run_id)
    return bool((await conn.execute(stmt)).scalar())
