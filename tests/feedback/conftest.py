"""Fixtures of the domain tests: an empty (never migrated) database, a clean CLI setting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from feedback.schema import metadata


async def drop_domain_tables(url: str) -> None:
    """Drop the domain tables and Alembic's version table (other tables stay)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(Table("alembic_version", MetaData()).drop, checkfirst=True)
    finally:
        await engine.dispose()


@pytest.fixture
def empty_db_url(db_url: str) -> str:
    """``db_url`` without the domain tables, as before the first ``upgrade``.

    PostgreSQL's test database is shared by the tests of a process: the next
    ``domain_db`` upgrades it again.
    """
    asyncio.run(drop_domain_tables(db_url))
    return db_url


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory without ``.env`` and an environment without our settings."""
    for name in ("DATABASE_URL", "FEEDBACK_EMBEDDER", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work
