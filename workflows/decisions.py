"""What a click on the bot's buttons does: authorize, decide in the database, wake the run.

These are the entry points the Slack listeners call (and tests, as the listeners
would). A decision is a compare-and-set on the pending question, so the first click
wins and any later one learns who decided. The hook only wakes the waiting run,
which reads the decision from the database: a click is never lost, even if the hook
is delivered late or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import accounts, approvals, items, users
from feedback.database import Database
from feedback.errors import NotFound
from workflows.engine import Engine, HookNotFound, RunHandle, Transaction

__all__ = ["Answer", "answer_account", "answer_approval", "undo"]

logger = logging.getLogger(__name__)

Choice = Literal["link", "new", "not_feedback"]


@dataclass(frozen=True)
class Answer:
    """What became of a click.

    Attributes:
        status: ``decided`` (this click decided), ``already`` (someone decided first),
            ``forbidden`` (this person may not decide) or ``invalid`` (a stale or forged
            value).
        text: What to tell the clicker privately.
        decided_by: The Slack id of whoever decided, when someone did.
    """

    status: Literal["decided", "already", "forbidden", "invalid"]
    text: str
    decided_by: str | None = None


async def answer_approval(
    engine: Engine,
    *,
    approval_id: str,
    slack_user: str,
    choice: Choice,
    request_id: str | None = None,
) -> Answer:
    """Answer "which request is this?" for the clicker.

    Args:
        engine: Records the decision and wakes the waiting run, in one transaction
            (the domain's tables live in the engine's database).
        approval_id: From the button's value.
        slack_user: Who clicked.
        choice: ``link`` (with ``request_id``), ``new`` or ``not_feedback``.
        request_id: The candidate chosen; it must be one that was offered.
    """

    async def decide(conn: AsyncConnection) -> tuple[Answer, approvals.Approval | None]:
        try:
            question = await approvals.get(conn, approval_id)
        except NotFound:
            return Answer("invalid", "That question no longer exists."), None
        if question.kind != "match":
            return Answer("invalid", "That button does not belong to this question."), None
        decision: dict[str, Any] = {"choice": choice}
        if choice == "link":
            offered = {c["request_id"] for c in question.candidates}
            if request_id not in offered:
                return Answer("invalid", "That request was not one of the choices."), None
            decision["request_id"] = request_id
        return await _decide(conn, question, slack_user, decision)

    return await _answer(engine, decide)


async def answer_account(
    engine: Engine, *, approval_id: str, slack_user: str, account_id: str | None
) -> Answer:
    """Answer "which customer is this from?" (``account_id`` ``None``: unknown)."""

    async def decide(conn: AsyncConnection) -> tuple[Answer, approvals.Approval | None]:
        try:
            question = await approvals.get(conn, approval_id)
        except NotFound:
            return Answer("invalid", "That question no longer exists."), None
        if question.kind != "account":
            return Answer("invalid", "That button does not belong to this question."), None
        if account_id is not None:
            try:
                await accounts.get(conn, account_id)
            except NotFound:
                return Answer("invalid", "That account no longer exists."), None
        return await _decide(conn, question, slack_user, {"account_id": account_id})

    return await _answer(engine, decide)


Decide = Callable[[AsyncConnection], Awaitable[tuple[Answer, "approvals.Approval | None"]]]


async def _answer(engine: Engine, decide: Decide) -> Answer:
    """Decide and wake the run in one transaction: the click counts only with its wake-up.

    A click on a question already decided wakes the run again (harmlessly, under the
    same key), in case the first wake-up was lost with its process.
    """

    async def decide_and_wake(tx: Transaction) -> Answer:
        answer, question = await decide(tx.conn)
        if question is not None and question.status == "decided":
            try:
                await tx.resume_hook(
                    question.hook_token, {"approval": question.id}, idempotency_key=question.id
                )
            except HookNotFound:  # the run is past its wait: it reads the decision then
                logger.info("approval %s decided after its run stopped waiting", question.id)
        return answer

    return await engine.transaction(decide_and_wake)


async def _decide(
    conn: AsyncConnection, question: approvals.Approval, slack_user: str, decision: dict[str, Any]
) -> tuple[Answer, approvals.Approval | None]:
    denied = await _authorize(conn, question, slack_user)
    if denied is not None:
        return denied, None
    user = await users.get_by_slack_id(conn, slack_user)
    won, after = await approvals.decide(conn, question.id, user_id=user.id, decision=decision)
    return await _outcome(conn, after, won), after


async def undo(
    engine: Engine, db: Database, *, feedback_id: str, turn: int, slack_user: str
) -> Answer:
    """Undo a confident link: starts ``undo-link`` once per link, however often clicked."""
    from workflows.process_feedback import undo_link

    async with db.read() as conn:
        try:
            item = await items.get(conn, feedback_id)
            user = await users.get_by_slack_id(conn, slack_user)
        except NotFound:
            return Answer("forbidden", "Only the person who filed this feedback can undo it.")
    if user.id != item.submitter_id and not user.is_product_team:
        return Answer("forbidden", "Only the person who filed this feedback can undo it.")
    handle: RunHandle = await engine.start(
        undo_link, feedback_id, turn, slack_user, run_id=f"undo:{feedback_id}:{turn}"
    )
    logger.info("undo requested", extra={"run_id": handle.run_id})
    return Answer("decided", "Undoing: I'll ask again which request it is.", slack_user)


async def _authorize(
    conn: AsyncConnection, question: approvals.Approval, slack_user: str
) -> Answer | None:
    try:
        user = await users.get_by_slack_id(conn, slack_user)
    except NotFound:
        user = None
    if user is None or (user.id != question.approver_id and not user.is_product_team):
        asked = await users.get(conn, question.approver_id)
        who = f"<@{asked.slack_id}>" if asked.slack_id else asked.name
        return Answer("forbidden", f"Only {who} or the product team can answer this one.")
    return None


async def _outcome(conn: AsyncConnection, after: approvals.Approval, won: bool) -> Answer:
    if won:
        me = await users.get(conn, after.decided_by or "")
        return Answer("decided", "Thanks, done.", me.slack_id)
    if after.status == "expired":
        late = {
            "match": "Too late: with no answer in time, it was filed as a new request.",
            "account": "Too late: with no answer in time, the customer was left unknown.",
        }
        return Answer("already", late.get(after.kind, "Too late: this question has closed."))
    decider = await users.get(conn, after.decided_by) if after.decided_by else None
    who = f"<@{decider.slack_id}>" if decider and decider.slack_id else "someone"
    return Answer("already", f"Already decided by {who}.", decider.slack_id if decider else None)
