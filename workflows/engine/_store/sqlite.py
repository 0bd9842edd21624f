"""SQLite's fast path for the hot writes: a whole batch in one hop to a writer thread.

Through SQLAlchemy and aiosqlite every statement costs three or four hops between the
event loop and the driver's thread, a dozen per transaction. The batches every run
makes (starts, checkpoints, a run's end: no extra work) are instead applied by plain
``sqlite3`` code on a connection of our own, BEGIN IMMEDIATE to COMMIT in one call to
its thread. The statements are compiled once from the same SQLAlchemy tables, and
writes stay serialized with the engine's other writer by the same lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import sqlite

from .dialect import insert_ignoring_conflicts
from .schema import NEW_RUN_COLUMNS, events, runs
from .writes import WriteOutcome

if TYPE_CHECKING:
    from .writes import Write

_DIALECT = sqlite.dialect(paramstyle="named")


def _sql(stmt: Any) -> str:
    return str(stmt.compile(dialect=_DIALECT))


_LOCK = _sql(
    select(runs.c.lease_epoch, runs.c.cancel_requested).where(
        runs.c.run_id == bindparam("rid"), runs.c.status == bindparam("running")
    )
)
_INSERT_RUN = _sql(
    insert_ignoring_conflicts("sqlite", runs, "run_id")
    .values({name: bindparam(name) for name in NEW_RUN_COLUMNS})
    .returning(runs.c.run_id)
)
_INSERT_EVENT = _sql(
    insert_ignoring_conflicts("sqlite", events, "run_id", "key").values(
        {c.name: bindparam(c.name) for c in events.c if c.name != "id"}
    )
)
_UPDATES: dict[tuple[str, ...], str] = {}


def _update(keys: tuple[str, ...]) -> str:
    sql = _UPDATES.get(keys)
    if sql is None:
        stmt = (
            update(runs)
            .where(runs.c.run_id == bindparam("_rid"))
            .values({key: bindparam(key) for key in keys})
        )
        sql = _UPDATES[keys] = _sql(stmt)
    return sql


def fits(write: Write) -> bool:
    """Whether a write needs nothing but rows (no extra work): the fast path takes it."""
    return write.work is None


class SqliteWriter:
    """A writer connection of our own, used from one thread."""

    def __init__(self, path: str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workflows-sqlite")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._conn = conn
        return self._conn

    async def apply(self, writes: list[Write]) -> list[WriteOutcome]:
        """Apply the writes in one transaction (the caller holds the writer lock)."""
        done = asyncio.get_running_loop().run_in_executor(self._thread, self._apply, writes)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])  # the transaction ends before the lock is let go
            raise

    def _apply(self, writes: list[Write]) -> list[WriteOutcome]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[WriteOutcome] = []
            live: dict[str, tuple[int, bool] | None] = {}
            for w in writes:
                cancel = False
                if w.epoch is not None:
                    if w.run_id not in live:
                        lock = {"rid": w.run_id, "running": "running"}
                        row = conn.execute(_LOCK, lock).fetchone()
                        live[w.run_id] = None if row is None else (row[0], bool(row[1]))
                    held = live[w.run_id]
                    if held is None or held[0] != w.epoch:
                        outcomes.append(WriteOutcome(applied=False))
                        continue
                    cancel = held[1]
                inserted = w.new_run is None or conn.execute(_INSERT_RUN, w.new_run).fetchone()
                if not inserted:  # the id exists (or this batch inserted it already)
                    outcomes.append(WriteOutcome(applied=False))
                    continue
                if w.events:
                    conn.executemany(_INSERT_EVENT, w.events)
                if w.run_update:
                    keys = tuple(sorted(w.run_update))
                    conn.execute(_update(keys), {"_rid": w.run_id, **w.run_update})
                outcomes.append(WriteOutcome(True, cancel))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return outcomes

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, close)
        self._thread.shutdown(wait=True)
