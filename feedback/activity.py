"""A person's own corner of the data: the requests they follow, the feedback they filed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import items
from feedback.items import FeedbackItem
from feedback.schema import feedback_items, request_followers

__all__ = ["followed", "recent_feedback"]


async def followed(conn: AsyncConnection, user_id: str) -> list[str]:
    """The ids of the requests a person follows, the most recently followed first."""
    rows = await conn.execute(
        select(request_followers.c.request_id)
        .where(request_followers.c.user_id == user_id)
        .order_by(request_followers.c.created_at.desc(), request_followers.c.request_id)
    )
    return list(rows.scalars())


async def recent_feedback(
    conn: AsyncConnection, user_id: str, *, limit: int = 10
) -> list[FeedbackItem]:
    """The feedback a person filed, newest message first (its asks in order), at most ``limit``."""
    rows = await conn.execute(
        select(feedback_items.c.id)
        .where(feedback_items.c.submitter_id == user_id)
        .order_by(
            feedback_items.c.created_at.desc(),
            feedback_items.c.position,
            feedback_items.c.id,
        )
        .limit(limit)
    )
    ids = list(rows.scalars())
    found = {item.id: item for item in await items.get_many(conn, ids)}
    return [found[i] for i in ids if i in found]
