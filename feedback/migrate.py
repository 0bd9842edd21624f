"""Schema migrations of the domain tables (Alembic), run from code.

::

    await upgrade("sqlite+aiosqlite:///var/feedback-bot.db")   # to the newest revision
    await current(url)                                         # "0001", or None
    await ensure_current(url)         # raises SchemaOutOfDate: "run feedback-bot db upgrade"
    await differences(url)            # [] when the migrations match feedback.schema

The migration scripts ship inside the package (``feedback/migrations``); no
``alembic.ini`` is needed. An upgrade is one transaction and is serialised against
other upgraders (PostgreSQL: an advisory lock; SQLite: ``BEGIN IMMEDIATE``), so
processes that start together may all call :func:`upgrade`.

Only the tables of :data:`feedback.schema.metadata` are the migrations' business: the
engine's ``wf_*`` tables share the database and are left alone.

A new migration, after editing ``feedback/schema.py``::

    DATABASE_URL=sqlite+aiosqlite:///var/dev.db .venv/bin/alembic upgrade head
    DATABASE_URL=sqlite+aiosqlite:///var/dev.db .venv/bin/alembic revision \\
        --autogenerate --rev-id 0002 -m "what changed"

(``[tool.alembic]`` in ``pyproject.toml`` points the ``alembic`` command here.) Review
the script; ``tests/feedback/test_migrations.py`` fails until it matches the schema.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from feedback.errors import ConfigurationError
from feedback.schema import metadata

__all__ = [
    "SchemaOutOfDate",
    "config",
    "current",
    "differences",
    "downgrade",
    "ensure_current",
    "head",
    "include_name",
    "upgrade",
]

MIGRATIONS = Path(__file__).parent / "migrations"

# pg_advisory_xact_lock key: a fixed number derived from a name (fits a bigint)
_LOCK_KEY = zlib.crc32(b"feedback-bot:domain-migrations")


class SchemaOutOfDate(ConfigurationError):
    """The database's tables are not at the revision this code needs.

    Attributes:
        current: The database's revision (``None``: no domain tables yet).
        expected: The revision this code needs (the newest).
    """

    def __init__(self, message: str, *, current: str | None, expected: str) -> None:
        super().__init__(message)
        self.current = current
        self.expected = expected


def config() -> Config:
    """The Alembic configuration, built in code (no ``alembic.ini``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return cfg


def head() -> str:
    """The newest revision the code ships."""
    found = ScriptDirectory.from_config(config()).get_current_head()
    if found is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return found


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: only the domain's own tables (not the engine's ``wf_*``)."""
    return type_ != "table" or name in metadata.tables


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the domain tables up to a revision; a no-op when they are there already.

    Args:
        url: The database URL (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``).
        revision: The target (default: the newest).

    Raises:
        ConfigurationError: The URL names another database or a synchronous driver.
        ValueError: ``revision`` is unknown, or older than the database's.
    """
    await _run(url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(url: str, revision: str) -> None:
    """Take the domain tables back to a revision (``"base"``: drop them all).

    Args:
        url: The database URL.
        revision: The target revision.

    Raises:
        ConfigurationError: The URL names another database or a synchronous driver.
        ValueError: ``revision`` is unknown, or newer than the database's.
    """
    await _run(url, lambda cfg: command.downgrade(cfg, revision))


async def current(url: str) -> str | None:
    """The database's revision, or ``None`` when the domain tables were never made.

    Args:
        url: The database URL.

    Raises:
        ConfigurationError: The URL names another database or a synchronous driver.
    """
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and not sqlite_file.exists():
        return None  # do not create an empty file just to look
    engine = _engine(url, write=False)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def ensure_current(url: str) -> None:
    """Check that the domain tables are at the revision this code needs.

    Raises:
        SchemaOutOfDate: They are missing or older (the message says to run
            ``feedback-bot db upgrade``), or newer than this code.
        ConfigurationError: The URL names another database or a synchronous driver.
    """
    at, expected = await current(url), head()
    if at == expected:
        return
    shown = make_url(url).render_as_string(hide_password=True)
    if at is None:
        message = f"{shown} has no feedback tables yet: run `feedback-bot db upgrade` first"
    elif not _known(at):
        message = (
            f"{shown} is at revision {at}, which this version of feedback-bot does not know "
            f"(a newer version migrated it): upgrade feedback-bot"
        )
    else:
        message = (
            f"{shown} is at revision {at}, this version needs {expected}: "
            f"run `feedback-bot db upgrade`"
        )
    raise SchemaOutOfDate(message, current=at, expected=expected)


async def differences(url: str) -> list[Any]:
    """What Alembic's autogenerate finds between the database and :mod:`feedback.schema`.

    Empty when the migrations create exactly what the schema declares (tables, columns,
    types, nullability, indexes, unique constraints, foreign keys, and on PostgreSQL
    server defaults). Check constraints are not compared by Alembic.

    Args:
        url: The database URL (already upgraded).
    """
    engine = _engine(url, write=False)
    opts = {
        "include_name": include_name,
        "compare_type": True,
        # SQLite reflects a '' default so that Alembic sees a change where there is none
        "compare_server_default": engine.dialect.name == "postgresql",
    }
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts=opts), metadata)
            )
    finally:
        await engine.dispose()


async def _run(url: str, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on one transaction that holds the migration lock."""
    engine = _engine(url, write=True)
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))

            def run(sync: Connection) -> None:
                cfg = config()
                cfg.attributes["connection"] = sync  # env.py runs on it
                try:
                    action(cfg)
                except CommandError as exc:  # Alembic's word for a bad revision argument
                    raise ValueError(str(exc)) from exc

            await conn.run_sync(run)
    finally:
        await engine.dispose()


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(config()).get_revision(revision) is not None
    except CommandError:
        return False


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _engine(url: str, *, write: bool) -> AsyncEngine:
    """An engine of one short-lived connection; SQLite transactions are real ones."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql+asyncpg":
        return create_async_engine(url, poolclass=NullPool)
    if parsed.drivername != "sqlite+aiosqlite":
        raise ConfigurationError(
            f"DATABASE_URL: unsupported driver {parsed.drivername!r}; use "
            "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    sqlite_file = _sqlite_file(url)
    if sqlite_file is None or parsed.database == ":memory:":
        raise ConfigurationError(
            "DATABASE_URL: use a SQLite file (sqlite+aiosqlite:///path.db); an in-memory "
            "database is gone when the migration's connection closes"
        )
    if write:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
    # pysqlite would run DDL outside any transaction; issue BEGIN ourselves so that an
    # upgrade is atomic and (IMMEDIATE) waits for other writers. Foreign keys stay off,
    # as SQLite's batch migrations (copy, drop, rename a table) need.
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
