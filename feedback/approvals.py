"""Questions put to a person: which request is this feedback, or which customer is it from.

A click decides with one compare-and-set (``pending`` to ``decided``); the first
decision wins and later clicks learn who made it. A timeout expires the question the
same way, so a click and a timeout cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import insert_ignore, utcnow
from feedback.errors import NotFound
from feedback.schema import approvals

__all__ = [
    "Approval",
    "decide",
    "expire",
    "get",
    "mark_reminded",
    "open_question",
    "pending_for",
    "set_message",
]


@dataclass(frozen=True)
class Approval:
    """A question and, once answered, its answer.

    Attributes:
        id: Its id.
        feedback_id: The feedback item it is about.
        kind: ``match`` (which request?) or ``account`` (which customer?).
        status: ``pending``, ``decided`` or ``expired``.
        approver_id: The user asked (the product team may answer too).
        hook_token: Delivers the answer to the waiting workflow.
        candidates: The requests offered (``match``).
        decision: The answer, e.g. ``{"choice": "link", "request_id": ...}``.
        decided_by: Who answered.
        decided_at: When.
        channel_id: The DM the question was posted in.
        message_ts: The question's message.
        reminded_at: When the reminder went out.
    """

    id: str
    feedback_id: str
    kind: str
    status: str
    approver_id: str
    hook_token: str
    candidates: list[dict[str, Any]]
    decision: dict[str, Any] | None
    decided_by: str | None
    decided_at: datetime | None
    channel_id: str | None
    message_ts: str | None
    reminded_at: datetime | None
    created_at: datetime


async def open_question(
    conn: AsyncConnection,
    *,
    approval_id: str,
    feedback_id: str,
    kind: str,
    approver_id: str,
    hook_token: str,
    candidates: list[dict[str, Any]],
) -> Approval:
    """Record a pending question (again with the same id: returns the existing one)."""
    await insert_ignore(
        conn,
        approvals,
        {
            "id": approval_id,
            "feedback_id": feedback_id,
            "kind": kind,
            "status": "pending",
            "approver_id": approver_id,
            "hook_token": hook_token,
            "candidates": candidates,
            "created_at": utcnow(),
        },
    )
    return await get(conn, approval_id)


async def get(conn: AsyncConnection, approval_id: str) -> Approval:
    """The question with this id. Raises NotFound."""
    row = (
        (await conn.execute(select(approvals).where(approvals.c.id == approval_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("approval", approval_id)
    return _approval(row)


async def set_message(
    conn: AsyncConnection, approval_id: str, channel_id: str, message_ts: str
) -> None:
    """Remember where the question was posted (to update it once answered)."""
    await conn.execute(
        update(approvals)
        .where(approvals.c.id == approval_id)
        .values(channel_id=channel_id, message_ts=message_ts)
    )


async def decide(
    conn: AsyncConnection, approval_id: str, *, user_id: str, decision: dict[str, Any]
) -> tuple[bool, Approval]:
    """Answer a pending question: the first answer wins.

    Returns:
        Whether this answer won, and the question after the attempt (with the earlier
        answer, or ``expired``, when it did not).

    Raises:
        NotFound: There is no such question.
    """
    result = await conn.execute(
        update(approvals)
        .where(approvals.c.id == approval_id, approvals.c.status == "pending")
        .values(status="decided", decision=decision, decided_by=user_id, decided_at=utcnow())
    )
    return bool(result.rowcount), await get(conn, approval_id)


async def expire(conn: AsyncConnection, approval_id: str) -> Approval:
    """Expire a pending question; returns it (``decided`` if an answer came first)."""
    await conn.execute(
        update(approvals)
        .where(approvals.c.id == approval_id, approvals.c.status == "pending")
        .values(status="expired", decided_at=utcnow())
    )
    return await get(conn, approval_id)


async def mark_reminded(conn: AsyncConnection, approval_id: str) -> None:
    """Record that the reminder went out."""
    await conn.execute(
        update(approvals).where(approvals.c.id == approval_id).values(reminded_at=utcnow())
    )


async def pending_for(conn: AsyncConnection, user_id: str, *, limit: int = 20) -> list[Approval]:
    """A user's unanswered questions, oldest first."""
    rows = await conn.execute(
        select(approvals)
        .where(approvals.c.approver_id == user_id, approvals.c.status == "pending")
        .order_by(approvals.c.created_at)
        .limit(limit)
    )
    return [_approval(row) for row in rows.mappings()]


def _approval(row: RowMapping) -> Approval:
    return Approval(**{name: row[name] for name in Approval.__dataclass_fields__})
