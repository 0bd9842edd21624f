"""Counts for dashboards: feedback by match tier, and questions waiting on people."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback.schema import approvals, feedback_items

__all__ = ["feedback_by_tier", "waiting_on_people"]

#: the tier of feedback not matched yet (being read, or waiting for its customer)
UNMATCHED = "none"


async def feedback_by_tier(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """Feedback items per (match tier, status): tier ``link``, ``ask``, ``new`` or
    ``none`` (not matched yet); status ``processing``, ``pending``, ``filed`` or
    ``discarded``."""
    rows = await conn.execute(
        select(feedback_items.c.match_tier, feedback_items.c.status, func.count()).group_by(
            feedback_items.c.match_tier, feedback_items.c.status
        )
    )
    return {(tier or UNMATCHED, status): int(n) for tier, status, n in rows}


async def waiting_on_people(conn: AsyncConnection) -> dict[str, int]:
    """Questions put to a person and not answered yet, per kind (``match``: which
    request; ``account``: which customer)."""
    rows = await conn.execute(
        select(approvals.c.kind, func.count())
        .where(approvals.c.status == "pending")
        .group_by(approvals.c.kind)
    )
    return {kind: int(n) for kind, n in rows}
