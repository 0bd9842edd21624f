"""Matching thresholds in force, and the labelled examples people's decisions make.

The thresholds in force for an embedder are the last ``thresholds`` entry of the audit
log for it (:func:`apply` writes one, with where the values came from); with none, or
when the last is a reset (:func:`reset`), the embedder's own defaults apply. Workers read
them with :func:`active`.

Every matching decision of ``process-feedback`` leaves a ``match`` entry in the audit
log with its evidence (scorer, best score, runner-up's, the request it pointed at,
whether the specifics guard stopped a link). :func:`examples` joins those entries with
what people did next, each becoming a labelled :class:`Example`:

- ``ask``: a question at the first turn that a person answered. *This one* says which
  request was right (the best candidate, or another); *New request* and *Not
  feedback* say no request was.
- ``undo``: an automatic link that a person undid: the best candidate was wrong. The
  feedback had a right request if the question that followed was answered with one.
- ``kept``: an automatic link left standing for ``settled`` (7 days by default): its
  submitter was told, with an *Undo* button, and did not use it. Without these the
  examples above the link threshold would all be mistakes.

Unanswered (expired) questions teach nothing and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import utcnow
from feedback.audit import record
from feedback.schema import approvals, audit_log

__all__ = [
    "SETTLED",
    "ActiveThresholds",
    "Example",
    "active",
    "apply",
    "counts",
    "examples",
    "history",
    "match_evidence",
    "reset",
]

SETTLED = timedelta(days=7)
"""An automatic link left this long without an Undo counts as right."""


@dataclass(frozen=True)
class ActiveThresholds:
    """Thresholds recorded for an embedder, and where they came from.

    Attributes:
        embedder: The embedder (scorer) they belong to.
        link: Lowest best score that links.
        ask: Lowest best score that asks.
        margin: Lowest lead over the runner-up that links.
        source: Where they came from, e.g. ``decisions (240 examples)``.
        at: When they were applied.
        actor: Who applied them.
        reset: The entry put the embedder's defaults back (``link``, ``ask`` and
            ``margin`` are then NaN: the defaults are whatever the embedder ships).
    """

    embedder: str
    link: float
    ask: float
    margin: float
    source: str
    at: datetime
    actor: str
    reset: bool = False


@dataclass(frozen=True)
class Example:
    """One labelled matching decision (see the module docstring).

    Attributes:
        feedback_id: The feedback item.
        kind: ``ask``, ``undo`` or ``kept``.
        scorer: What scored it (an embedder's name, or a judge's).
        best: The best candidate's score.
        runner_up: The runner-up's score, ``None`` without one.
        guarded: The specifics guard stopped a link to the best candidate.
        top_correct: The best candidate was the right request.
        matchable: Some request was right.
        at: When the decision was made.
    """

    feedback_id: str
    kind: Literal["ask", "undo", "kept"]
    scorer: str
    best: float
    runner_up: float | None
    guarded: bool
    top_correct: bool
    matchable: bool
    at: datetime


def match_evidence(
    *,
    turn: int,
    tier: str,
    scorer: str,
    best: float | None,
    runner_up: float | None,
    best_request: str | None,
    guarded: bool,
    reason: str,
) -> dict[str, Any]:
    """The ``after`` of a ``match`` audit entry (what :func:`examples` reads back)."""
    return {
        "turn": turn,
        "tier": tier,
        "scorer": scorer,
        "best": best,
        "runner_up": runner_up,
        "best_request": best_request,
        "guarded": guarded,
        "reason": reason,
    }


async def active(conn: AsyncConnection, embedder: str) -> ActiveThresholds | None:
    """The thresholds last applied for ``embedder``; ``None``: its defaults are in force."""
    found = await history(conn, embedder, limit=1)
    return found[0] if found and not found[0].reset else None


async def history(
    conn: AsyncConnection, embedder: str | None = None, *, limit: int = 20
) -> list[ActiveThresholds]:
    """Thresholds applied and resets, newest first (for one embedder, or all)."""
    rows = await conn.execute(
        select(audit_log.c.at, audit_log.c.actor, audit_log.c.after)
        .where(audit_log.c.action == "thresholds")
        .order_by(audit_log.c.id.desc())
    )
    found = []
    for at, actor, after in rows:
        if not isinstance(after, dict) or (embedder and after.get("embedder") != embedder):
            continue
        was_reset = bool(after.get("reset"))
        found.append(
            ActiveThresholds(
                embedder=str(after["embedder"]),
                link=math.nan if was_reset else float(after["link"]),
                ask=math.nan if was_reset else float(after["ask"]),
                margin=math.nan if was_reset else float(after.get("margin", 0.0)),
                source=str(after.get("source", "")),
                at=at,
                actor=actor,
                reset=was_reset,
            )
        )
        if len(found) >= limit:
            break
    return found


async def apply(
    conn: AsyncConnection,
    *,
    embedder: str,
    link: float,
    ask: float,
    margin: float,
    source: str,
    actor: str,
    before: dict[str, Any] | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Put thresholds in force for an embedder (an audit entry; workers pick it up).

    Args:
        conn: In the caller's transaction.
        embedder: The embedder.
        link: Link threshold.
        ask: Ask threshold.
        margin: Margin.
        source: Where they came from (shown by ``feedback-bot status``).
        actor: Who applied them.
        before: The thresholds in force until now, and their source.
        details: Anything else worth keeping (the calibration's figures).
    """
    after = {
        "embedder": embedder,
        "link": link,
        "ask": ask,
        "margin": margin,
        "source": source,
        **(details or {}),
    }
    await record(conn, actor=actor, action="thresholds", before=before, after=after)


async def reset(
    conn: AsyncConnection, *, embedder: str, actor: str, before: dict[str, Any] | None
) -> None:
    """Put an embedder's own defaults back in force (an audit entry; workers pick it up).

    Args:
        conn: In the caller's transaction.
        embedder: The embedder.
        actor: Who reset them.
        before: The thresholds in force until now, and their source.
    """
    after = {"embedder": embedder, "reset": True, "source": "the embedder's defaults"}
    await record(conn, actor=actor, action="thresholds", before=before, after=after)


async def examples(
    conn: AsyncConnection, *, settled: timedelta = SETTLED, now: datetime | None = None
) -> list[Example]:
    """Every labelled example the workspace's decisions make (rules: module docstring).

    Args:
        conn: A connection.
        settled: How long an automatic link must stand to count as right.
        now: The current time (tests).

    Returns:
        The examples, oldest first.
    """
    now = now or utcnow()
    rows = (
        await conn.execute(
            select(audit_log.c.feedback_id, audit_log.c.action, audit_log.c.actor)
            .add_columns(audit_log.c.at, audit_log.c.after)
            .where(audit_log.c.action.in_(("match", "unlink")))
            .order_by(audit_log.c.id)
        )
    ).all()
    answers = await _answers(conn)
    matches: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    undone: dict[str, datetime] = {}
    for feedback_id, action, actor, at, after in rows:
        if feedback_id is None:
            continue
        if action == "match" and isinstance(after, dict) and after.get("turn") == 0:
            matches.setdefault(feedback_id, []).append((at, after))
        elif action == "unlink" and not str(actor).startswith("system:"):
            undone.setdefault(feedback_id, at)
    found = []
    for feedback_id, entries in matches.items():
        at, evidence = entries[-1]  # a step that ran twice records twice: the last counts
        example = _example(feedback_id, at, evidence, answers, undone, settled, now)
        if example is not None:
            found.append(example)
    return sorted(found, key=lambda e: e.at)


async def _answers(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Decided match questions by id: ``match:<feedback>:<turn>`` -> decision."""
    rows = await conn.execute(
        select(approvals.c.id, approvals.c.decision, approvals.c.decided_at).where(
            approvals.c.kind == "match", approvals.c.status == "decided"
        )
    )
    return {
        approval_id: {**(decision or {}), "_at": decided_at}
        for approval_id, decision, decided_at in rows
    }


def _example(
    feedback_id: str,
    at: datetime,
    evidence: dict[str, Any],
    answers: dict[str, dict[str, Any]],
    undone: dict[str, datetime],
    settled: timedelta,
    now: datetime,
) -> Example | None:
    best = evidence.get("best")
    if not isinstance(best, int | float):
        return None
    runner_up = evidence.get("runner_up")
    base = Example(
        feedback_id=feedback_id,
        kind="kept",
        scorer=str(evidence.get("scorer", "")),
        best=float(best),
        runner_up=float(runner_up) if isinstance(runner_up, int | float) else None,
        guarded=bool(evidence.get("guarded")),
        top_correct=True,
        matchable=True,
        at=at,
    )
    tier = evidence.get("tier")
    if tier == "ask":
        answer = answers.get(f"match:{feedback_id}:0")
        if answer is None:
            return None
        right = answer.get("request_id") if answer.get("choice") == "link" else None
        return replace(
            base,
            kind="ask",
            top_correct=right is not None and right == evidence.get("best_request"),
            matchable=right is not None,
            at=answer["_at"] or at,
        )
    if tier != "link":
        return None
    if feedback_id in undone:
        after = answers.get(f"match:{feedback_id}:1", {})
        return replace(
            base,
            kind="undo",
            top_correct=False,
            matchable=after.get("choice") == "link",
            at=undone[feedback_id],
        )
    return base if now - at >= settled else None


def counts(found: Sequence[Example]) -> dict[str, int]:
    """Examples per kind: ``{"ask": ..., "undo": ..., "kept": ...}``."""
    return {kind: sum(1 for e in found if e.kind == kind) for kind in ("ask", "undo", "kept")}
