"""Shared fixtures: ``db_url`` runs a test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agents import Embedder, get_embedder
from feedback import migrate
from feedback.database import Database
from tests import databases

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL server (see tests/databases.py)."""
    url, server, why = databases.find_server()
    if url is None:
        message = f"PostgreSQL tests cannot run: {why}"
        if IN_CI:
            pytest.fail(message + " (CI=true: failing instead of skipping)", pytrace=False)
        warnings.warn(message, pytest.PytestWarning, stacklevel=1)
        pytest.skip("SKIPPED LOUDLY: " + message)
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str, worker_id: str) -> Iterator[str]:
    """A database of this test process's own (one per xdist worker and test session)."""
    name = f"feedback_bot_test_{worker_id}_{os.getpid()}"
    yield asyncio.run(databases.create_database(postgres_server, name))
    asyncio.run(databases.drop_database(postgres_server, name))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(databases.truncate_all(url))
    return url


@pytest.fixture
async def domain_db(db_url: str) -> AsyncIterator[Database]:
    """A :class:`feedback.database.Database` on ``db_url``, migrated to the newest revision.

    On PostgreSQL the database is reused across tests (emptied, its revision kept), so
    the upgrade is then a no-op.
    """
    await migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def pytest_report_header(config: pytest.Config) -> str:
    missing = "fails" if IN_CI else "skips loudly"
    return f"databases: sqlite and postgresql (CI={IN_CI}: a missing PostgreSQL {missing})"


@pytest.fixture(scope="session")
def local_embedder() -> Embedder:
    """The offline MiniLM model (the product's default), loaded once."""
    return get_embedder("local")
