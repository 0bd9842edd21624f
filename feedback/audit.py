"""The audit log: every automated or human change, who or what made it, before and after.

Besides changes to feedback and requests, it keeps each matching decision's evidence
(``match``: scores, the specifics guard, the tier) and the matching thresholds put in
force (``thresholds``: the values and where they came from); see
:mod:`feedback.thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import utcnow
from feedback.schema import audit_log

__all__ = ["ACTIONS", "AuditEntry", "history", "record", "system"]

ACTIONS = (
    "link",
    "unlink",
    "create",
    "merge",
    "status",
    "discard",
    "account",
    "area",
    "match",
    "thresholds",
)


def system(workflow: str) -> str:
    """The actor name of an automated change made by a workflow."""
    return f"system:{workflow}"


@dataclass(frozen=True)
class AuditEntry:
    """One change.

    Attributes:
        at: When.
        actor: A user id, or ``system:<workflow>``.
        action: ``link``, ``unlink``, ``create``, ``merge``, ``status``, ``discard``,
            ``account``, ``area``, ``match`` (a matching decision's evidence) or
            ``thresholds`` (matching thresholds put in force).
        feedback_id: The feedback item changed, if any.
        request_id: The request changed or linked, if any.
        before: The state before, when there was one.
        after: The state after.
    """

    at: datetime
    actor: str
    action: str
    feedback_id: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    feedback_id: str | None = None,
    request_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry (in the caller's transaction, so it lands with the change).

    Raises:
        ValueError: ``action`` is not one of :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(ACTIONS)}, not {action!r}")
    await conn.execute(
        audit_log.insert().values(
            at=utcnow(),
            actor=actor,
            action=action,
            feedback_id=feedback_id,
            request_id=request_id,
            before=before,
            after=after,
        )
    )


async def history(
    conn: AsyncConnection, *, feedback_id: str | None = None, request_id: str | None = None
) -> list[AuditEntry]:
    """Entries about a feedback item or a request, oldest first."""
    query = select(audit_log).order_by(audit_log.c.id)
    if feedback_id is not None:
        query = query.where(audit_log.c.feedback_id == feedback_id)
    if request_id is not None:
        query = query.where(audit_log.c.request_id == request_id)
    rows = (await conn.execute(query)).mappings()
    return [
        AuditEntry(
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            feedback_id=r["feedback_id"],
            request_id=r["request_id"],
            before=r["before"],
            after=r["after"],
        )
        for r in rows
    ]
