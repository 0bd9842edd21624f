"""Queries on workers: who holds leases from which process, and taking over from the dead."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .._process import ProcessIdentity
from .dialect import upsert
from .schema import runs, workers


async def register(
    conn: AsyncConnection, worker_id: str, process: ProcessIdentity, now: float
) -> None:
    """Record (or refresh) the process behind ``worker_id``."""
    values = {
        "host": process.host,
        "boot": process.boot,
        "pid": process.pid,
        "started": process.started,
        "seen_at": now,
    }
    await conn.execute(
        upsert(conn.dialect.name, workers, "worker_id", values),
        [{"worker_id": worker_id, **values}],
    )


async def unregister(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(delete(workers).where(workers.c.worker_id == worker_id))


async def on_host(conn: AsyncConnection, host: str) -> dict[str, ProcessIdentity]:
    """The workers recorded on ``host``, by id."""
    stmt = select(workers).where(workers.c.host == host)
    return {
        row.worker_id: ProcessIdentity(row.host, row.boot, row.pid, row.started)
        for row in await conn.execute(stmt)
    }


async def take_over(conn: AsyncConnection, dead: list[str], now: float) -> int:
    """Expire the leases of workers known to be dead and forget them; returns the runs
    made claimable (their fencing epochs still stop any late write of the dead)."""
    result = await conn.execute(
        update(runs)
        .where(runs.c.owner.in_(dead), runs.c.status == "running")
        .values(lease_expires_at=now)
    )
    await conn.execute(delete(workers).where(workers.c.worker_id.in_(dead)))
    return int(result.rowcount or 0)


async def seen(conn: AsyncConnection, worker_id: str, now: float, *, forget_before: float) -> None:
    """Mark the worker alive now, and forget workers not seen since ``forget_before``
    that hold no lease (their processes are long gone, on whatever host)."""
    await conn.execute(update(workers).where(workers.c.worker_id == worker_id).values(seen_at=now))
    holds = exists().where(runs.c.owner == workers.c.worker_id, runs.c.status == "running")
    await conn.execute(delete(workers).where(workers.c.seen_at < forget_before, ~holds))
