"""The domain database: one URL, SQLite (embedded default) or PostgreSQL.

::

    db = Database("sqlite+aiosqlite:///var/feedback-bot.db")
    async with db.transaction() as conn:      # writes: one transaction, committed on exit
        await users.upsert(conn, ...)
    async with db.read() as conn:             # reads
        ...
    await db.close()

On SQLite the writer takes the write lock when a transaction begins (``BEGIN
IMMEDIATE``) and waits for it, so the engine's writer and ours share the file
without "database is locked" errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from feedback.errors import ConfigurationError

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    """Connections to the domain tables.

    Args:
        url: ``sqlite+aiosqlite:///path.db`` or ``postgresql+asyncpg://user@host/db``.
        pool_size: Connections kept open: a worker runs many steps at once, and a
            connection made per transaction (pool overflow) costs more than the query.

    Raises:
        ConfigurationError: The URL names another database or a synchronous driver.
    """

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        if parsed.drivername == "sqlite+aiosqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise ConfigurationError(
                    "DATABASE_URL: use a SQLite file (sqlite+aiosqlite:///path.db); an "
                    "in-memory database is not shared between connections"
                )
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = _sqlite_engine(url, immediate=True, pool_size=1)
            self.reader = _sqlite_engine(url, immediate=False, pool_size=min(pool_size, 5))
        elif parsed.drivername == "postgresql+asyncpg":
            self.writer = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size // 2,
                pool_recycle=1800,
                # the domain's statements outnumber asyncpg's default cache of 100: a
                # statement dropped from it costs a Parse round trip when it comes back
                connect_args={"prepared_statement_cache_size": 500},
            )
            # reads need no transaction: autocommit saves a BEGIN and a ROLLBACK each
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        else:
            raise ConfigurationError(
                f"DATABASE_URL: unsupported driver {parsed.drivername!r}; use "
                "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
            )

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block ends, rolled back on error."""
        async with self.writer.begin() as conn:
            yield conn

    async def transact(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in a write transaction; once more if the connection was dropped.

        For work done while a person waits (a click): after a database restart the
        pool's first connection is dead, and the retry gets a fresh one.
        """
        try:
            async with self.transaction() as conn:
                return await work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        async with self.transaction() as conn:
            return await work(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (each statement sees the latest committed data)."""
        async with self.reader.connect() as conn:
            yield conn

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        if self.reader.sync_engine.pool is not self.writer.sync_engine.pool:
            await self.reader.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, connect_args={"timeout": 30}
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
