"""Small helpers shared by the query modules."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["insert_ignore", "new_id", "slugify", "upsert", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random id (UUID hex)."""
    return uuid.uuid4().hex


def slugify(text: str, *, limit: int = 60) -> str:
    """A URL-friendly slug: ASCII, lower case, words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or "request"


async def insert_ignore(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it conflicts with an existing one; True when inserted."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await conn.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def upsert(
    conn: AsyncConnection, table: Table, values: dict[str, Any], *, keys: Sequence[str]
) -> None:
    """Insert a row, or update the other columns of the row with the same ``keys``."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    changes = {name: value for name, value in values.items() if name not in keys}
    statement = insert(table).values(**values)
    if changes:
        await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))
    else:
        await conn.execute(statement.on_conflict_do_nothing(index_elements=keys))
