"""Which database errors are retried: decided by type and driver code, not by message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg.exceptions as pg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from workflows.engine._store import is_transient


def wrapped(orig: BaseException, kind: type[DBAPIError] = OperationalError) -> DBAPIError:
    """As SQLAlchemy raises a driver's error."""
    return kind("SELECT 1", {}, orig)


def adapted(orig: BaseException) -> BaseException:
    """As SQLAlchemy's asyncpg adapter presents asyncpg's error: a copy of its code,
    with the original as the cause."""
    adapter = Exception(f"{type(orig).__name__}: {orig}")
    adapter.sqlstate = orig.sqlstate  # type: ignore[attr-defined]
    adapter.__cause__ = orig
    return adapter


def real_sqlite_error(tmp_path: Path, lock: bool) -> sqlite3.OperationalError:
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    if lock:
        holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO t VALUES (1)" if lock else "SELECT * FROM no_such_connection")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "error",
    [
        pg.SerializationError("could not serialize access"),
        pg.DeadlockDetectedError("deadlock detected"),
        pg.CannotConnectNowError("the database system is starting up"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgres_errors_worth_a_retry_are_transient(error: BaseException) -> None:
    assert is_transient(wrapped(adapted(error)))


@pytest.mark.parametrize(
    "error",
    [
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.UndefinedTableError('relation "connection_log" does not exist'),
        pg.SyntaxOrAccessError("the connection string is busy"),  # words, not a code
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgres_errors_a_retry_cannot_cure_are_not(error: BaseException) -> None:
    assert not is_transient(wrapped(adapted(error), IntegrityError))


def test_a_locked_sqlite_database_is_transient(tmp_path: Path) -> None:
    assert is_transient(wrapped(real_sqlite_error(tmp_path, lock=True)))


def test_a_sqlite_error_that_mentions_a_connection_is_not(tmp_path: Path) -> None:
    error = real_sqlite_error(tmp_path, lock=False)
    assert "connection" in str(error)
    assert not is_transient(wrapped(error))


def test_lost_connections_are_transient() -> None:
    assert is_transient(ConnectionResetError("reset by peer"))
    assert is_transient(wrapped(Exception("connection is closed"), InterfaceError))
    assert is_transient(wrapped(adapted(pg.ConnectionDoesNotExistError("gone"))))
    assert not is_transient(ValueError("connection"))
