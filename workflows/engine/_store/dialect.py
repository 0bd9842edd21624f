"""The few statements that differ between PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignoring_conflicts(dialect: str, table: Table, *keys: str) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for the given dialect."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(keys))


async def notify(conn: AsyncConnection, channel: str, payload: str) -> None:
    """Send a PostgreSQL notification on commit (a no-op on SQLite, which polls)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload[:7900]})
