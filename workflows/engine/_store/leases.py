"""Ownership: claiming runs with a lease, renewing it, and handing runs back.

A claim bumps the run's ``lease_epoch`` (the fencing token). Runs whose lease expired
are claimed like due runs (that is the continuous recovery sweep) and count a
recovery; too many in a row without progress end the run as ``crashed``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .._errors import RunCrashLooped
from .._replay import EventType, event_row
from .._serialization import encode_error
from . import runs as run_queries
from .dialect import notify
from .schema import events, runs


@dataclass(frozen=True)
class Claimed:
    """A run this worker now owns, with what its executor needs to start."""

    run_id: str
    workflow: str
    args: str
    epoch: int
    parent_run_id: str | None
    created_at: float
    deadline: float | None
    fresh: bool
    cancel_requested: bool
    recoveries: int = 0


_CLAIM_COLUMNS = (
    runs.c.run_id,
    runs.c.workflow,
    runs.c.args,
    runs.c.status,
    runs.c.lease_epoch,
    runs.c.recoveries,
    runs.c.parent_run_id,
    runs.c.created_at,
    runs.c.started_at,
    runs.c.deadline,
    runs.c.cancel_requested,
)


async def claim(
    conn: AsyncConnection,
    *,
    worker: str,
    limit: int,
    now: float,
    ttl: float,
    max_recoveries: int,
    suspects: int = 1,
    repeat: bool = False,
    known: Collection[str] = (),
) -> list[Claimed]:
    """Claim up to ``limit`` runs: those with expired leases first, then due ones.

    A run whose lease expired was held by a worker that died or stalled. The first
    time, that is almost always a restart: such runs are taken like any other. A run
    recovered again without progress in between may be the one that kills its worker:
    at most ``suspects`` of those are taken (the worker runs one suspect at a time, so
    that a run that kills its worker takes no healthy run down with it). Never one of
    the ``known`` runs this worker still executes (a worker that stalled past its
    lease keeps its one execution; fencing decides).

    With ``repeat`` (this claim is being retried, same ``now``): if the earlier attempt
    committed but its acknowledgement was lost, the runs it took (this worker's, with
    ``updated_at == now``, not among the ``known`` ones it runs) are returned again
    instead of being left owned and idle until their lease expires.
    """
    if repeat:
        again = await _taken_already(conn, worker=worker, now=now, known=known)
        if again:
            return again
    rows = await _expired(conn, now, limit, again=False, known=known)
    if suspects > 0 and len(rows) < limit:
        more = min(suspects, limit - len(rows))
        rows += await _expired(conn, now, more, again=True, known=known)
    if len(rows) < limit:
        due = (
            select(*_CLAIM_COLUMNS)
            .where(runs.c.status.in_(("pending", "waiting")), runs.c.wake_at <= now)
            .order_by(runs.c.wake_at)
            .limit(limit - len(rows))
            .with_for_update(skip_locked=True)
        )
        rows.extend((await conn.execute(due)).all())
    if not rows:
        return []
    crashed = [r for r in rows if r.status == "running" and r.recoveries + 1 > max_recoveries]
    for row in crashed:
        await _end_crash_looped(conn, row, now)
    taken = [r for r in rows if r not in crashed]
    if taken:
        await _take(conn, taken, worker=worker, now=now, ttl=ttl)
    return [
        Claimed(
            run_id=r.run_id,
            workflow=r.workflow,
            args=r.args,
            epoch=r.lease_epoch + 1,
            parent_run_id=r.parent_run_id,
            created_at=r.created_at,
            deadline=r.deadline,
            fresh=r.started_at is None,
            cancel_requested=bool(r.cancel_requested),
            recoveries=r.recoveries + (1 if r.status == "running" else 0),
        )
        for r in taken
    ]


async def _expired(
    conn: AsyncConnection, now: float, limit: int, *, again: bool, known: Collection[str]
) -> list[Any]:
    """Runs whose leases expired, recovered before (``again``) or not, locked."""
    stmt = (
        select(*_CLAIM_COLUMNS)
        .where(runs.c.status == "running", runs.c.lease_expires_at < now)
        .where((runs.c.recoveries > 0) if again else (runs.c.recoveries == 0))
        .order_by(runs.c.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if known:
        stmt = stmt.where(runs.c.run_id.not_in(list(known)))
    return list((await conn.execute(stmt)).all())


async def _taken_already(
    conn: AsyncConnection, *, worker: str, now: float, known: Collection[str]
) -> list[Claimed]:
    stmt = select(*_CLAIM_COLUMNS).where(
        runs.c.owner == worker, runs.c.status == "running", runs.c.updated_at == now
    )
    if known:
        stmt = stmt.where(runs.c.run_id.not_in(list(known)))
    return [
        Claimed(
            run_id=r.run_id,
            workflow=r.workflow,
            args=r.args,
            epoch=r.lease_epoch,
            parent_run_id=r.parent_run_id,
            created_at=r.created_at,
            deadline=r.deadline,
            fresh=r.started_at == now,
            cancel_requested=bool(r.cancel_requested),
            recoveries=r.recoveries,
        )
        for r in await conn.execute(stmt)
    ]


async def _take(
    conn: AsyncConnection, rows: Sequence[Any], *, worker: str, now: float, ttl: float
) -> None:
    stmt = (
        update(runs)
        .where(runs.c.run_id == bindparam("_rid"))
        .values(
            status="running",
            owner=worker,
            lease_epoch=bindparam("_epoch"),
            lease_expires_at=now + ttl,
            started_at=func.coalesce(runs.c.started_at, now),
            updated_at=now,
            recoveries=bindparam("_recoveries"),
            wake_at=None,
        )
    )
    params = [
        {
            "_rid": r.run_id,
            "_epoch": r.lease_epoch + 1,
            "_recoveries": r.recoveries + (1 if r.status == "running" else 0),
        }
        for r in rows
    ]
    await conn.execute(stmt, params)
    recovered = [
        event_row(
            r.run_id,
            f"recovered-{r.lease_epoch + 1}",
            EventType.RUN_RECOVERED,
            now,
            attempt=r.recoveries + 1,
            data=json.dumps({"worker": worker, "epoch": r.lease_epoch + 1}),
        )
        for r in rows
        if r.status == "running"
    ]
    if recovered:
        await conn.execute(events.insert(), recovered)


async def _end_crash_looped(conn: AsyncConnection, row: Any, now: float) -> None:
    error = json.dumps(encode_error(RunCrashLooped(row.run_id, row.recoveries + 1)))
    values = run_queries.finish_values("crashed", now, error=error)
    await conn.execute(
        update(runs)
        .where(runs.c.run_id == row.run_id)
        .values(recoveries=row.recoveries + 1, **values)
    )
    await run_queries.append_event(
        conn, event_row(row.run_id, "finished", EventType.RUN_CRASHED, now, failed=True, data=error)
    )
    await run_queries.after_finish(conn, row.run_id, row.parent_run_id, now)
    await notify(conn, "wf_done", row.run_id)


async def renew(
    conn: AsyncConnection, *, worker: str, held: set[tuple[str, int]], now: float, ttl: float
) -> dict[str, bool]:
    """Extend the leases still held; return them with their cancel flags.

    Runs missing from the result were taken over by another worker.
    """
    if not held:
        return {}
    stmt = (
        update(runs)
        .where(
            tuple_(runs.c.run_id, runs.c.lease_epoch).in_(sorted(held)),
            runs.c.owner == worker,
            runs.c.status == "running",
        )
        .values(lease_expires_at=now + ttl)
        .returning(runs.c.run_id, runs.c.cancel_requested)
    )
    return {row.run_id: bool(row.cancel_requested) for row in await conn.execute(stmt)}


_NEXT_WAKE = union_all(
    select(func.min(runs.c.wake_at)).where(runs.c.status.in_(("pending", "waiting"))),
    select(func.min(runs.c.lease_expires_at)).where(runs.c.status == "running"),
)


async def next_wake(conn: AsyncConnection) -> float | None:
    """The earliest time a waiting run becomes due, or a lease expires."""
    times = [row[0] for row in await conn.execute(_NEXT_WAKE) if row[0] is not None]
    return min(times) if times else None


def release_values(now: float, wake_at: float | None) -> dict[str, Any]:
    """Column values that hand a run back, to be claimed again at ``wake_at``."""
    return {
        "status": "waiting",
        "owner": None,
        "lease_expires_at": None,
        "wake_at": wake_at,
        "updated_at": now,
        "recoveries": 0,
    }


def expired_or_due(now: float) -> Any:
    """A filter for runs a sweep would claim now (used by tests and the CLI)."""
    return or_(
        (runs.c.status == "running") & (runs.c.lease_expires_at < now),
        runs.c.status.in_(("pending", "waiting")) & (runs.c.wake_at <= now),
    )


async def count_due(conn: AsyncConnection, now: float) -> int:
    """Runs running now, or due to be claimed (tests wait for this to reach zero)."""
    stmt = select(func.count()).where(
        or_(
            runs.c.status == "running",
            runs.c.status.in_(("pending", "waiting")) & (runs.c.wake_at <= now),
        )
    )
    return int((await conn.execute(stmt)).scalar_one())
