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


NOTIFY_LIMIT = 7900  # PostgreSQL's payload limit is 8000 bytes


async def notify(conn: AsyncConnection, channel: str, payload: str) -> None:
    """Send PostgreSQL notifications on commit (a no-op on SQLite, which polls).

    A comma-separated list of run ids longer than a payload may hold is split between
    several notifications, never cut inside an id.
    """
    if conn.dialect.name != "postgresql":
        return
    for chunk in _chunks(payload.split(","), NOTIFY_LIMIT):
        await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": chunk})


def _chunks(ids: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for run_id in ids:
        if current and size + len(run_id) + 1 > limit:
            chunks.append(",".join(current))
            current, size = [], 0
        current.append(run_id)
        size += len(run_id) + 1
    if current:
        chunks.append(",".join(current))
    return chunks


def upsert(dialect: str, table: Table, key: str | tuple[str, ...], values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET values`` for the given dialect."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    keys = [key] if isinstance(key, str) else list(key)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={name: stmt.excluded[name] for name in values}
    )
