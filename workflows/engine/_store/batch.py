"""Group commit: the hot-path writes of many runs share one transaction.

Each :class:`Write` belongs to one run and may be fenced by the lease epoch its
executor holds: the batch first locks the fenced runs' rows and keeps only the writes
whose epoch still matches, so a worker that lost its lease cannot write late results.
A batch is flushed as soon as the previous one commits, so a lone write waits for no
timer, while writes that arrive during a flush share the next transaction.

Every write is idempotent (events carry a per-run unique ``key``, run inserts ignore
conflicts), so a batch whose commit acknowledgement was lost is simply run again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import bindparam, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .._errors import DatabaseUnavailable
from . import postgres, sqlite
from . import runs as run_queries
from .database import Database
from .dialect import insert_ignoring_conflicts, notify
from .schema import events, runs
from .writes import Write, WriteOutcome

log = logging.getLogger(__name__)


class Batcher:
    """Collects writes and commits them in batches, one transaction at a time."""

    def __init__(self, db: Database, *, max_batch: int = 512, budget: float = 60.0) -> None:
        self._db = db
        self._max = max_batch
        self._budget = budget
        self._queue: list[tuple[Write, asyncio.Future[WriteOutcome]]] = []
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="workflows-batcher")

    async def stop(self) -> None:
        """Commit everything queued or in flight, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._pending.set()
        await self._task
        self._task = None

    def submit(self, write: Write, *, urgent: bool = False) -> asyncio.Future[WriteOutcome]:
        """Queue a write; the future resolves once its batch committed.

        ``urgent`` writes (lease renewals) go to the front: behind a backlog of
        thousands of writes, a renewal could otherwise arrive after the lease expired.
        Writes of one run are never urgent, so their order is kept.
        """
        future: asyncio.Future[WriteOutcome] = asyncio.get_running_loop().create_future()
        if urgent:
            self._queue.insert(0, (write, future))
        else:
            self._queue.append((write, future))
        self._pending.set()
        return future

    async def write(self, write: Write, *, urgent: bool = False) -> WriteOutcome:
        return await self.submit(write, urgent=urgent)

    async def _loop(self) -> None:
        while not (self._stopping and not self._queue):
            await self._pending.wait()
            self._pending.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                await self._flush(batch)

    async def _flush(self, batch: list[tuple[Write, asyncio.Future[WriteOutcome]]]) -> None:
        writes = [w for w, _ in batch]
        try:
            outcomes = await self._apply(writes)
        except DatabaseUnavailable as exc:
            _fail(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            log.warning("a batch of %d writes failed (%s); retrying one by one", len(batch), exc)
            for item in batch:
                await self._flush([item])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)

    async def _apply(self, writes: list[Write]) -> list[WriteOutcome]:
        """Apply a batch by the fastest path its writes allow (each is one statement or
        one hop; anything else is an ordinary transaction)."""
        db, budget = self._db, self._budget
        if db.dialect == "sqlite":
            if all(map(sqlite.fits, writes)):
                return await db.write_rows(writes, budget=budget)
        elif len(writes) == 1 and postgres.can_write_alone(writes[0]):
            return await db.run_autocommit(lambda conn: _alone(conn, writes[0]), budget=budget)
        elif all(map(_appends_only, writes)):
            return await db.run_autocommit(lambda conn: _append_fenced(conn, writes), budget=budget)
        elif postgres.can_start(writes):
            return await db.run_autocommit(lambda conn: _start(conn, writes), budget=budget)
        return await db.run_write(lambda conn: apply_writes(conn, writes), budget=budget)


def _appends_only(write: Write) -> bool:
    """A fenced write that only appends history (a step's checkpoint, say)."""
    return (
        write.epoch is not None
        and bool(write.events)
        and write.new_run is None
        and write.run_update is None
        and write.work is None
        and not write.wake
        and not write.done
    )


async def _append_fenced(conn: AsyncConnection, writes: list[Write]) -> list[WriteOutcome]:
    held = sorted({(w.run_id, w.epoch) for w in writes if w.epoch is not None})
    rows = [(w.epoch, row) for w in writes if w.epoch is not None for row in w.events]
    live = await postgres.fenced_insert(conn, held, rows)
    return [_fenced_outcome(w, live) for w in writes]


async def _start(conn: AsyncConnection, writes: list[Write]) -> list[WriteOutcome]:
    inserted = await postgres.start(conn, writes)
    outcomes = []
    for w in writes:  # a second start of one id in the batch loses, as in a transaction
        outcomes.append(WriteOutcome(w.run_id in inserted))
        inserted.discard(w.run_id)
    return outcomes


async def _alone(conn: AsyncConnection, write: Write) -> list[WriteOutcome]:
    applied, cancel = await postgres.write_alone(conn, write)
    return [WriteOutcome(applied, cancel)]


def _fenced_outcome(write: Write, live: dict[str, tuple[int, bool]]) -> WriteOutcome:
    """Applied only when the run's current epoch is the write's own (not a sibling's)."""
    epoch, cancel = live.get(write.run_id, (None, False))
    return WriteOutcome(epoch == write.epoch, cancel and epoch == write.epoch)


def _fail(batch: list[tuple[Write, asyncio.Future[WriteOutcome]]], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


async def apply_writes(conn: AsyncConnection, writes: list[Write]) -> list[WriteOutcome]:
    """Apply a batch of writes inside the caller's transaction."""
    fenced: set[tuple[str, int]] = set()
    for w in writes:
        if w.epoch is not None:
            fenced.add((w.run_id, w.epoch))
    live = await lock_leases(conn, fenced) if fenced else {}
    new_rows = [w.new_run for w in writes if w.new_run is not None]
    inserted = await run_queries.insert_new(conn, new_rows) if new_rows else set()
    accepted: list[Write] = []
    outcomes: list[WriteOutcome | None] = []
    for w in writes:
        if (w.epoch is not None and live.get(w.run_id, (None,))[0] != w.epoch) or (
            w.new_run is not None and w.run_id not in inserted
        ):
            outcomes.append(WriteOutcome(applied=False))
            continue
        if w.new_run is not None:
            inserted.discard(w.run_id)  # a second insert of the same id in this batch loses
        accepted.append(w)
        outcomes.append(None)
    await _apply_accepted(conn, accepted)
    values = {id(w): await w.work(conn) for w in accepted if w.work is not None}
    wake = sorted({run_id for w in accepted for run_id in w.wake})
    if wake:
        await notify(conn, "wf_wake", ",".join(wake))
    done = sorted({run_id for w in accepted for run_id in w.done})
    if done:
        await notify(conn, "wf_done", ",".join(done))
    it = iter(accepted)
    result: list[WriteOutcome] = []
    for outcome in outcomes:
        if outcome is not None:
            result.append(outcome)
            continue
        w = next(it)
        result.append(WriteOutcome(True, live.get(w.run_id, (0, False))[1], values.get(id(w))))
    return result


async def _apply_accepted(conn: AsyncConnection, accepted: list[Write]) -> None:
    rows = [row for w in accepted for row in w.events]
    if rows:
        dialect = conn.dialect.name
        await conn.execute(insert_ignoring_conflicts(dialect, events, "run_id", "key"), rows)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for w in accepted:
        if w.run_update:
            keys = tuple(sorted(w.run_update))
            groups.setdefault(keys, []).append({"_rid": w.run_id, **w.run_update})
    for keys, params in groups.items():
        stmt = (
            update(runs)
            .where(runs.c.run_id == bindparam("_rid"))
            .values({key: bindparam(key) for key in keys})
        )
        await conn.execute(stmt, params)


async def lock_leases(
    conn: AsyncConnection, pairs: set[tuple[str, int]]
) -> dict[str, tuple[int, bool]]:
    """Lock the rows of runs whose lease epoch still matches one of ``pairs``; return
    each with its current epoch and cancel flag."""
    stmt = (
        runs.select()
        .with_only_columns(runs.c.run_id, runs.c.lease_epoch, runs.c.cancel_requested)
        .where(tuple_(runs.c.run_id, runs.c.lease_epoch).in_(sorted(pairs)))
        .where(runs.c.status == "running")
        .order_by(runs.c.run_id)
        .with_for_update()
    )
    return {
        row.run_id: (row.lease_epoch, bool(row.cancel_requested))
        for row in await conn.execute(stmt)
    }
