"""Counts for a short summary of a deployment (``feedback-bot status``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback.schema import approvals, feedback_items, requests

__all__ = ["Overview", "overview"]


@dataclass(frozen=True)
class Overview:
    """How much there is, by state.

    Attributes:
        requests: Requests per status.
        feedback: Feedback items per status.
        tiers: Feedback items per match tier (``link``, ``ask``, ``new``).
        pending: Questions waiting for a person.
    """

    requests: dict[str, int]
    feedback: dict[str, int]
    tiers: dict[str, int]
    pending: int


async def overview(conn: AsyncConnection) -> Overview:
    """Count requests, feedback and pending questions (four small aggregate reads)."""

    async def by(column: Column[str], table: Table) -> dict[str, int]:
        rows = await conn.execute(select(column, func.count()).select_from(table).group_by(column))
        return {str(key): int(n) for key, n in rows if key is not None}

    pending = await conn.scalar(
        select(func.count()).select_from(approvals).where(approvals.c.status == "pending")
    )
    return Overview(
        requests=await by(requests.c.status, requests),
        feedback=await by(feedback_items.c.status, feedback_items),
        tiers=await by(feedback_items.c.match_tier, feedback_items),
        pending=int(pending or 0),
    )
