"""Connections, transactions and transient-error retries for both dialects.

SQLite gets two engines: one writer connection (every write transaction begins with
``BEGIN IMMEDIATE`` and writes are serialized in-process, so writers never deadlock on
lock upgrades) and a small reader pool; WAL mode lets them run side by side.
PostgreSQL gets one pool. Foreign errors are mapped to :class:`DatabaseUnavailable`
here, and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .._errors import DatabaseUnavailable, EngineError
from .schema import metadata, upgrade
from .sqlite import SqliteWriter
from .writes import Write, WriteOutcome

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE classes worth retrying: connection exceptions, serialization failures and
# deadlocks, server shutdown/starting up, lock timeouts, too many connections.
_TRANSIENT_SQLSTATES = ("08", "40001", "40P01", "57P", "55P03", "53300")
# SQLite's primary result codes for a database held by another connection.
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SCHEMA_LOCK = 0x77665F736368656D  # an advisory lock key: "wf_schem"


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a database error that a retry may cure.

    Decided by the error's type and its driver's code (a PostgreSQL SQLSTATE, a SQLite
    result code), never by its message.
    """
    if isinstance(exc, OSError | ConnectionError | asyncio.TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return _transient_cause(exc)  # a driver's own error (the SQLite fast path's)
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    return any(_transient_cause(cause) for cause in _causes(exc.orig))


def _causes(error: BaseException | None) -> list[BaseException]:
    """The driver's error and what it wraps (SQLAlchemy's asyncpg adapter wraps asyncpg's)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__
    return chain


def _transient_cause(error: BaseException) -> bool:
    if isinstance(error, asyncpg.exceptions.DataError):
        return False  # a value the driver cannot send: a retry sends it again
    if isinstance(error, OSError | ConnectionError | asyncpg.InterfaceError):
        return True  # asyncpg's InterfaceError: the connection is closed or was lost
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return True  # its protocol state is confused (a backend killed mid-statement)
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(code, str):
        return code.startswith(_TRANSIENT_SQLSTATES)
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return False


class Database:
    """The engine's database: URL parsing, table creation, transactions, retries."""

    def __init__(self, url: str, *, pool_size: int = 10, sqlite_synchronous: str = "FULL") -> None:
        try:
            self.url: URL = make_url(url)
        except ArgumentError as exc:
            raise EngineError(
                f"cannot parse database URL {url!r}: use sqlite+aiosqlite:///path.db or "
                "postgresql+asyncpg://user@host/db"
            ) from exc
        backend = self.url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise EngineError(
                f"unsupported database {backend!r}: use sqlite+aiosqlite:///path.db or "
                "postgresql+asyncpg://user@host/db"
            )
        self.dialect = backend
        self._sqlite_synchronous = sqlite_synchronous
        if backend == "sqlite":
            self._check_sqlite_url()
            self.writer = self._sqlite_engine(pool_size=1, immediate=True)
            self.reader = self._sqlite_engine(pool_size=max(2, pool_size // 2), immediate=False)
        else:
            self.writer = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
            )
            # reads need no transaction: autocommit saves a BEGIN and a ROLLBACK each
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        self._write_lock = asyncio.Lock() if backend == "sqlite" else None
        self._held: AsyncConnection | None = None  # for run_autocommit's statements
        self._held_lock = asyncio.Lock()
        self._rows_writer = (
            SqliteWriter(str(self.url.database), sqlite_synchronous)
            if backend == "sqlite"
            else None
        )

    def _check_sqlite_url(self) -> None:
        if self.url.drivername != "sqlite+aiosqlite":
            raise EngineError(f"use the async driver: sqlite+aiosqlite:///..., not {self.url}")
        if not self.url.database or self.url.database == ":memory:":
            raise EngineError(
                "the engine needs a SQLite file (sqlite+aiosqlite:///path.db): an in-memory "
                "database is neither durable nor shared between connections"
            )
        Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)

    def _sqlite_engine(self, *, pool_size: int, immediate: bool) -> AsyncEngine:
        engine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=0, connect_args={"timeout": 30}
        )
        synchronous = self._sqlite_synchronous

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    async def create_tables(self, *, budget: float = 60.0) -> None:
        """Create the engine's tables if they do not exist, and bring tables made by an
        earlier version up to date (retrying up to ``budget`` s)."""

        async def create(conn: AsyncConnection) -> None:
            if self.dialect == "postgresql":  # processes opening at once take turns
                await conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(upgrade)

        await self.run_write(create, budget=budget)

    async def dispose(self) -> None:
        async with self._held_lock:
            await self._drop_held()
        if self._rows_writer is not None:
            await self._rows_writer.close()
        await self.writer.dispose()
        if self.reader.sync_engine.pool is not self.writer.sync_engine.pool:
            await self.reader.dispose()

    @asynccontextmanager
    async def _write_tx(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.writer.begin() as conn:
            yield conn

    async def run_write(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, budget: float | None = 30.0
    ) -> T:
        """Run ``work`` in a write transaction, retrying transient failures.

        ``work`` must be idempotent: after a lost commit acknowledgement it runs again.

        Args:
            work: The statements to run.
            budget: Give up after this many seconds of failures (``None``: never).

        Raises:
            DatabaseUnavailable: The database kept failing past ``budget``.
        """

        async def attempt() -> T:
            async with self._write_tx() as conn:
                return await work(conn)

        return await self.retrying(attempt, budget=budget)

    async def run_read(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, budget: float | None = 30.0
    ) -> T:
        """Run read-only ``work`` on a reader connection, retrying transient failures."""

        async def attempt() -> T:
            async with self.reader.connect() as conn:
                return await work(conn)

        return await self.retrying(attempt, budget=budget)

    async def write_rows(
        self, writes: list[Write], *, budget: float | None = 30.0
    ) -> list[WriteOutcome]:
        """Apply writes that need no extra work in one SQLite transaction, in one hop
        to a writer thread (see ``_store.sqlite``), retrying transient failures."""
        assert self._rows_writer is not None
        assert self._write_lock is not None
        writer, lock = self._rows_writer, self._write_lock

        async def attempt() -> list[WriteOutcome]:
            async with lock:
                return await writer.apply(writes)

        return await self.retrying(attempt, budget=budget)

    async def run_autocommit(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, budget: float | None = 30.0
    ) -> T:
        """Run one self-contained statement in autocommit mode (PostgreSQL).

        One round trip instead of BEGIN, statement, COMMIT; ``work`` must be a single
        statement, so that it is atomic on its own, and idempotent. The statements run
        on one connection kept for them: no pool checkout, no isolation-level reset.
        """

        async def attempt() -> T:
            async with self._held_lock:
                if self._held is None:
                    self._held = await self.reader.connect()
                try:
                    return await work(self._held)
                except BaseException:
                    await self._drop_held(invalidate=True)
                    raise

        return await self.retrying(attempt, budget=budget)

    async def _drop_held(self, *, invalidate: bool = False) -> None:
        """Let go of the held connection; after a failure it may be dead: then it is
        discarded, never returned to the pool (the next statement opens a fresh one)."""
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(Exception):
                await (held.invalidate() if invalidate else held.close())

    async def retrying(self, attempt: Callable[[], Awaitable[T]], *, budget: float | None) -> T:
        """Call ``attempt`` until it succeeds or a non-transient error or budget ends it."""
        loop = asyncio.get_running_loop()
        give_up = None if budget is None else loop.time() + budget
        delay = 0.05
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if give_up is not None and loop.time() + delay > give_up:
                    raise DatabaseUnavailable(
                        f"the database at {self.url.render_as_string(hide_password=True)} kept "
                        f"failing for {budget:.0f}s ({type(exc).__name__}: {exc}); is it running?"
                    ) from exc
                log.warning("database error, retrying in %.2fs: %s", delay, exc)
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, 2.0)
