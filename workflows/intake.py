"""Feedback in: ``ingest-reaction`` and ``ingest-message``.

A reaction, a message shortcut, a slash command or a mention becomes feedback items:
resolve the submitter, read the message and its thread, mark it with the bot's own
reaction, extract the customer's asks, find the account, then hand each item to
``process-feedback``. One message is filed once: a second person asking to file it
follows whatever it was filed under.

Listeners start these with natural-key run ids (:func:`reaction_run_id`,
:func:`message_run_id`), so Slack's redeliveries start nothing new.
"""

from __future__ import annotations

import contextlib
import logging
import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from agents import ThreadMessage, extract_feedback
from feedback import accounts, items, users
from feedback import requests as requests_db
from feedback.audit import system
from workflows import messages
from workflows.deps import Deps, current
from workflows.engine import (
    HookTimeout,
    RetryableError,
    create_hook,
    start_child,
    step,
    workflow,
)
from workflows.notify import dm_once, notify, update_posted
from workflows.process_feedback import process_feedback
from workflows.slack import SlackFatal, SlackMessage, SlackUser

__all__ = [
    "Reaction",
    "Submission",
    "ingest_message",
    "ingest_reaction",
    "message_run_id",
    "reaction_run_id",
]

logger = logging.getLogger(__name__)

ACTOR = system("intake")
MAX_ASKS = 5  # the extraction's own cap
ITEM_NAMESPACE = uuid_lib.UUID("6f1c2a7e-3d5b-4c8e-9a41-0b7d2e5f8c13")


@dataclass(frozen=True)
class Reaction:
    """Someone reacted to a message with the feedback emoji.

    Attributes:
        channel: The message's channel.
        ts: The message's ts (a thread reply's own ts for a reply).
        user: The reactor's Slack id.
        event_ts: The reaction event's own ts: a reaction removed and added again is a
            new attempt (after inviting the bot, say), a redelivery of the same event
            is not.
    """

    channel: str
    ts: str
    user: str
    event_ts: str | None = None


@dataclass(frozen=True)
class Submission:
    """Feedback sent by a shortcut, a slash command, a mention or the API.

    Attributes:
        source: ``shortcut``, ``command``, ``mention`` or ``api``.
        user: The submitter's Slack id.
        key: A natural key of the submission (Slack's ``trigger_id`` or ``event_id``).
        channel: Where it was sent from (its account may be the customer's).
        ts: The message to file (a shortcut's message, a mention's thread parent);
            ``None`` when ``text`` is the feedback.
        text: The feedback typed by the submitter (a command, a mention's words). With
            ``ts`` too (the shortcut's form), it is the pain as the submitter edited it:
            filed as one item under the message, without extraction.
        account_id: The customer as the submitter picked it (the shortcut's form).
        severity: ``low``, ``medium`` or ``high`` as the submitter picked it.
    """

    source: str
    user: str
    key: str
    channel: str | None = None
    ts: str | None = None
    text: str | None = None
    account_id: str | None = None
    severity: str | None = None


def reaction_run_id(reaction: Reaction) -> str:
    """The run id of a reaction: one per message, reactor and reaction event."""
    base = f"reaction:{reaction.channel}:{reaction.ts}:{reaction.user}"
    return f"{base}:{reaction.event_ts}" if reaction.event_ts else base


def message_run_id(submission: Submission) -> str:
    """The run id of a submission: one per message, submitter and attempt (a shortcut's
    form, a mention), else per key. A second attempt on a message already filed only
    follows it (the message is claimed once); one after the bot was invited files it."""
    if submission.channel and submission.ts:
        where = f"{submission.channel}:{submission.ts}:{submission.user}"
        return f"message:{where}:{submission.key}"
    return f"{submission.source}:{submission.key}"


# --- workflows ------------------------------------------------------------------------


@workflow("ingest-reaction")
async def ingest_reaction(reaction: Reaction) -> dict[str, Any]:
    """File the message someone reacted to (or make them a follower if it was filed)."""
    return await _file_message(reaction.channel, reaction.ts, reaction.user, "reaction")


@workflow("ingest-message")
async def ingest_message(submission: Submission) -> dict[str, Any]:
    """File feedback sent by a shortcut, a slash command, a mention or the API."""
    if submission.channel and submission.ts:
        return await _file_message(
            submission.channel, submission.ts, submission.user, submission.source, submission
        )
    submitter = await resolve_user(submission.user)
    read = await typed_feedback(submission.text or "", submission.channel, submitter)
    key = f"{submission.source}:{submission.key}"
    return await _file(read, submitter, submission.source, key)


async def _file_message(
    channel: str, ts: str, slack_user: str, source: str, edited: Submission | None = None
) -> dict[str, Any]:
    claim = await claim_message(channel, ts, slack_user, source)
    submitter = claim["submitter"]
    if claim.get("external"):  # a customer's own reaction: theirs to make, not ours to file
        return {"status": "ignored", "reason": "not a colleague"}
    if not claim["first"]:
        followed = await follow_message(channel, ts, submitter["id"])
        return {"status": "follower", "requests": followed}
    read = await read_message(channel, ts, submitter["id"], source)
    if read.get("error"):
        await notify(
            f"unreadable:{channel}:{ts}:{submitter['id']}",
            submitter["slack_id"],
            messages.cannot_read_channel(channel_id=channel, error=read["error"]),
        )
        return {"status": "unreadable", "error": read["error"]}
    if read.get("thread_filed"):  # another message of this thread was filed already
        followed = await follow_message(channel, read["thread_filed"], submitter["id"])
        return {"status": "follower", "requests": followed}
    return await _file(read, submitter, source, f"{channel}:{ts}", edited)


async def _file(
    read: dict[str, Any],
    submitter: dict[str, Any],
    source: str,
    key: str,
    edited: Submission | None = None,
) -> dict[str, Any]:
    if edited is not None and edited.text:
        pain = {"text": edited.text, "severity": edited.severity, "account_id": edited.account_id}
        filed = await save_edited(read, submitter["id"], source, key, pain)
    else:
        filed = await extract_items(read, submitter["id"], source, key)
    item_ids: list[str] = filed["items"]
    if not item_ids:
        await notify(
            f"nothing:{key}:{submitter['id']}",
            submitter["slack_id"],
            messages.nothing_to_file(channel_id=read["channel"] or submitter["slack_id"]),
        )
        return {"status": "nothing-to-file"}
    account_id = filed["account_id"]
    if account_id is None:
        account_id = await _ask_account(read, item_ids, submitter)
    for item_id in item_ids:
        await start_child(process_feedback, item_id, run_id=f"process:{item_id}:0")
    return {"status": "filed", "items": item_ids, "account_id": account_id}


async def _ask_account(
    read: dict[str, Any], item_ids: list[str], submitter: dict[str, Any]
) -> str | None:
    """DM the submitter an account picker; wait for it (``None``: unknown)."""
    hook = await create_hook()
    question = await ask_account(item_ids, hook.token, submitter, read)
    timeout = current().settings.account_pick_timeout.total_seconds()
    if question["asked"]:
        with contextlib.suppress(HookTimeout):  # no answer: the account stays unknown
            await hook.wait(timeout=timeout)
    return await settle_account(question, item_ids)


def item_id(key: str, position: int) -> str:
    """The id of the n-th ask of a message: the same however often the step runs."""
    return uuid_lib.uuid5(ITEM_NAMESPACE, f"{key}#{position}").hex


# --- steps ----------------------------------------------------------------------------


@step(max_attempts=8)
async def resolve_user(slack_id: str) -> dict[str, Any]:
    """The submitter as a user of ours (created when new; e-mail from ``users.info``)."""
    deps = current()
    person = await deps.slack.user(slack_id)
    async with deps.db.transaction() as conn:
        user = await _ensure_user(deps, conn, slack_id, person)
    return _person(user)


async def _ensure_user(
    deps: Deps, conn: AsyncConnection, slack_id: str, person: SlackUser | None
) -> users.User:
    external = person is not None and not await deps.is_our_team(person.team_id)
    return await users.ensure(
        conn,
        user_id=f"u-{slack_id}",
        slack_id=slack_id,
        name=person.name if person else slack_id,
        email=person.email if person else None,
        is_external=external,
    )


def _person(user: users.User) -> dict[str, Any]:
    return {"id": user.id, "slack_id": user.slack_id, "name": user.name}


@step(max_attempts=8)
async def claim_message(channel: str, ts: str, slack_user: str, source: str) -> dict[str, Any]:
    """Resolve the submitter and claim the message for filing (``first``: nobody had)."""
    deps = current()
    person = await deps.slack.user(slack_user)
    async with deps.db.transaction() as conn:
        user = await _ensure_user(deps, conn, slack_user, person)
        if user.is_external:
            return {"submitter": _person(user), "first": False, "external": True}
        first = await items.claim_message(conn, channel, ts, submitter_id=user.id, source=source)
        await items.add_reactor(conn, channel, ts, user.id)
    return {"submitter": _person(user), "first": first}


@step
async def follow_message(channel: str, ts: str, user_id: str) -> list[str]:
    """Make a later reactor follow what the message was filed under (now or later)."""
    async with current().db.transaction() as conn:
        await items.add_reactor(conn, channel, ts, user_id)  # followed when filed later
        filed = [i.request_id for i in await items.for_message(conn, channel, ts)]
        followed = [r for r in dict.fromkeys(filed) if r is not None]
        for request_id in followed:
            await requests_db.follow(conn, request_id, user_id)
    return followed


@step(max_attempts=8)
async def read_message(channel: str, ts: str, submitter_id: str, source: str) -> dict[str, Any]:
    """Read the message, its thread and who wrote what; find the channel's account.

    The whole thread is filed, so its parent is claimed too: a reaction on another of
    its messages later only follows. A message the bot cannot read is released, so a
    reaction after the bot is invited files it.
    """
    deps = current()
    try:
        target, thread = await deps.slack.thread_of(channel, ts)
    except SlackFatal as exc:
        async with deps.db.transaction() as conn:
            await items.release_message(conn, channel, ts)
        return {"error": exc.error}
    root = target.thread_ts or ts
    if root != ts:
        async with deps.db.transaction() as conn:
            if not await items.claim_message(
                conn, channel, root, submitter_id=submitter_id, source=source, via_ts=ts
            ):
                return {"thread_filed": root}
    thread_messages = await _roles(deps, target, thread)
    await _mark_filing(deps, channel, ts)
    writer = await deps.slack.user(target.user) if target.user else None
    async with deps.db.read() as conn:
        account = await accounts.by_channel(conn, channel)
        if account is None and writer is not None:
            account = await accounts.by_domain(conn, writer.email)
    return {
        "channel": channel,
        "ts": ts,
        "thread_ts": root,
        "thread": thread_messages,
        "permalink": await deps.slack.permalink(channel, ts),
        "account_id": account.id if account else None,
    }


async def _roles(
    deps: Deps, target: SlackMessage, thread: list[SlackMessage]
) -> list[dict[str, str]]:
    """Who wrote what: the customer (the reacted message's author, and anyone from another
    workspace), a colleague, or a bot (never feedback)."""
    out = []
    for message in thread:
        person = await deps.slack.user(message.user) if message.user else None
        if (
            message.bot
            or message.user is None
            or await deps.is_bot_user(message.user)
            or (person and person.is_bot)
        ):
            role = "bot"
        elif message.user == target.user or (
            person is not None and not await deps.is_our_team(person.team_id)
        ):
            role = "customer"
        else:
            role = "colleague"
        name = person.name if person else (message.user or "bot")
        out.append({"author": name, "text": message.text, "role": role, "ts": message.ts})
    return out


async def _mark_filing(deps: Deps, channel: str, ts: str) -> None:
    """React so everyone sees the message is being filed (cosmetic: never fails the filing)."""
    try:
        await deps.slack.add_reaction(channel, ts, deps.settings.filing_emoji)
    except (SlackFatal, RetryableError) as exc:
        logger.warning("could not add the filing reaction: %s", exc)


@step
async def typed_feedback(
    text: str, channel: str | None, submitter: dict[str, Any]
) -> dict[str, Any]:
    """Feedback typed by the submitter (a command, a mention): their words are the ask."""
    deps = current()
    account = None
    if channel:
        async with deps.db.read() as conn:
            account = await accounts.by_channel(conn, channel)
    return {
        "channel": channel,
        "ts": None,
        "thread_ts": None,
        "thread": [{"author": submitter["name"], "text": text, "role": "customer"}],
        "permalink": None,
        "account_id": account.id if account else None,
    }


@step(max_attempts=5)
async def extract_items(
    read: dict[str, Any], submitter_id: str, source: str, key: str
) -> dict[str, Any]:
    """Extract the customer's asks (LLM, else offline) and save them as feedback items.

    Item ids come from the message and the ask's position, so a re-run saves nothing
    twice. The account is the channel's or the author's, else one named in the text.
    """
    deps = current()
    async with deps.db.read() as conn:  # a re-run keeps what the first run saved
        saved = await items.get_many(conn, [item_id(key, n) for n in range(MAX_ASKS)])
    if saved:
        return {"items": [i.id for i in saved], "account_id": saved[0].account_id}
    known = await deps.accounts.by_name(deps.db)
    thread = [ThreadMessage(m["author"], m["text"], m["role"]) for m in read["thread"]]
    extraction = await extract_feedback(thread, llm=deps.llm, known_accounts=list(known))
    by_name = {name.casefold(): account_id for name, account_id in known.items()}
    named = by_name.get(extraction.account.casefold()) if extraction.account else None
    account_id = read.get("account_id") or named
    new = [
        items.NewItem(
            id=item_id(key, position),
            quote=ask.quote,
            pain=ask.pain,
            summary=ask.summary,
            severity=ask.severity,
            source=source,
            submitter_id=submitter_id,
            channel_id=read["channel"],
            message_ts=read["ts"],
            thread_ts=read.get("thread_ts"),
            position=position,
            permalink=read["permalink"],
            account_id=account_id,
        )
        for position, ask in enumerate(extraction.items[:MAX_ASKS])
    ]
    async with deps.db.transaction() as conn:
        await items.create(conn, new)
    return {"items": [n.id for n in new], "account_id": account_id}


@step
async def save_edited(
    read: dict[str, Any], submitter_id: str, source: str, key: str, pain: dict[str, Any]
) -> dict[str, Any]:
    """Save the pain as the submitter wrote it in the shortcut's form: one item.

    The customer's words stay the message's own; the account is the one picked,
    else the channel's.
    """
    deps = current()
    new_id = item_id(key, 0)
    async with deps.db.read() as conn:
        saved = await items.get_many(conn, [new_id])
    if saved:
        return {"items": [new_id], "account_id": saved[0].account_id}
    words = next((m["text"] for m in read["thread"] if m["role"] == "customer"), pain["text"])
    target = [m["text"] for m in read["thread"] if m.get("ts") == read["ts"]]
    account_id = pain.get("account_id") or read.get("account_id")
    async with deps.db.read() as conn:
        if account_id is not None and not await accounts.exists(conn, account_id):
            account_id = read.get("account_id")  # deleted since it was picked
    text = " ".join(str(pain["text"]).split())
    new = items.NewItem(
        id=new_id,
        quote=(target[0] if target else words)[:2000],
        pain=text,
        summary=text if len(text) <= 200 else text[:199] + "…",
        severity=pain.get("severity") or "medium",
        source=source,
        submitter_id=submitter_id,
        channel_id=read["channel"],
        message_ts=read["ts"],
        thread_ts=read.get("thread_ts"),
        permalink=read["permalink"],
        account_id=account_id,
    )
    async with deps.db.transaction() as conn:
        await items.create(conn, [new])
    return {"items": [new_id], "account_id": account_id}


@step
async def ask_account(
    item_ids: list[str], token: str, submitter: dict[str, Any], read: dict[str, Any]
) -> dict[str, Any]:
    """Post the account picker to the submitter; returns the question."""
    from feedback import approvals

    deps = current()
    async with deps.db.transaction() as conn:
        question = await approvals.open_question(
            conn,
            approval_id=f"account:{item_ids[0]}",
            feedback_id=item_ids[0],
            kind="account",
            approver_id=submitter["id"],
            hook_token=token,
            candidates=[],
        )
        known = await accounts.listing(conn, limit=101)  # more: the menu searches
    async with deps.db.read() as conn:
        filed = await items.get_many(conn, item_ids)
    quote = "\n".join(i.quote for i in filed)
    message = messages.account_picker(
        approval_id=question.id,
        channel_id=read["channel"],
        quote=quote,
        accounts=[(a.id, a.name) for a in known],
    )
    posted = await dm_once(f"{question.id}:ask", submitter["slack_id"], message)
    if posted is None:  # nobody to ask: the customer stays unknown
        return {"id": question.id, "asked": False}
    async with deps.db.transaction() as conn:
        await approvals.set_message(conn, question.id, *posted)
    return {"id": question.id, "asked": True}


@step
async def settle_account(question: dict[str, Any], item_ids: list[str]) -> str | None:
    """Read the answer (or expire the question): the account, or ``None`` for unknown."""
    from feedback import approvals

    deps = current()
    async with deps.db.transaction() as conn:
        answer = await approvals.expire(conn, question["id"])
        account_id = (
            (answer.decision or {}).get("account_id") if answer.status == "decided" else None
        )
        actor = answer.decided_by or ACTOR
        await items.set_account(conn, item_ids, account_id, actor=actor)
        account = await accounts.get(conn, account_id) if account_id else None
        decider = await users.get(conn, answer.decided_by) if answer.decided_by else None
    if answer.channel_id and answer.message_ts:
        await update_posted(
            answer.channel_id,
            answer.message_ts,
            messages.account_chosen(
                account=account.name if account else None,
                by_user=decider.slack_id if decider else None,
            ),
        )
    return account_id
