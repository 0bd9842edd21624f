"""Feedback items: one customer ask each, filed under a request (or pending, or discarded).

Every change of a filed item is written with its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import audit
from feedback._util import insert_ignore, utcnow
from feedback.errors import NotFound
from feedback.schema import accounts, feedback_items, filed_messages, message_reactors, users

__all__ = [
    "FeedbackItem",
    "ItemView",
    "NewItem",
    "add_reactor",
    "claim_message",
    "create",
    "discard",
    "for_message",
    "for_request",
    "get",
    "get_many",
    "link",
    "reactors",
    "release_message",
    "set_account",
    "set_match",
    "submitted_by",
    "submitted_under",
    "unlink",
    "view",
]


@dataclass(frozen=True)
class NewItem:
    """A feedback item to create (see :class:`FeedbackItem` for the fields)."""

    id: str
    quote: str
    pain: str
    summary: str
    severity: str
    source: str
    submitter_id: str
    channel_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    position: int = 0
    permalink: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class FeedbackItem:
    """One customer ask.

    Attributes:
        id: Its id.
        request_id: The request it is filed under (``None`` until filed).
        account_id: The customer's account (``None``: unknown).
        quote: The customer's words.
        pain: The extracted pain.
        summary: One sentence on the ask.
        permalink: The Slack message it came from.
        channel_id: That message's channel.
        message_ts: That message's ts.
        thread_ts: Its thread's (the parent's ts; its own when top-level).
        position: The n-th ask found in that message.
        severity: ``low``, ``medium`` or ``high``.
        source: ``reaction``, ``shortcut``, ``command``, ``mention`` or ``api``.
        submitter_id: Who filed it.
        status: ``processing``, ``pending`` (a person decides), ``filed`` or ``discarded``.
        match_score: The best candidate's score when it was matched.
        match_tier: ``link``, ``ask`` or ``new``.
        match_reason: Why it was filed where it is.
        filed_at: When it was last filed under a request.
    """

    id: str
    request_id: str | None
    account_id: str | None
    quote: str
    pain: str
    summary: str
    permalink: str | None
    channel_id: str | None
    message_ts: str | None
    thread_ts: str | None
    position: int
    severity: str
    source: str
    submitter_id: str
    status: str
    match_score: float | None
    match_tier: str | None
    match_reason: str | None
    created_at: datetime
    filed_at: datetime | None = None


async def claim_message(
    conn: AsyncConnection,
    channel_id: str,
    message_ts: str,
    *,
    submitter_id: str,
    source: str,
    via_ts: str | None = None,
) -> bool:
    """Claim a Slack message for filing; False when it was claimed before.

    ``via_ts`` claims a thread's parent on behalf of one of its replies; claiming it
    again for the same reply (a re-run) counts as a success.
    """
    values = {
        "channel_id": channel_id,
        "message_ts": message_ts,
        "submitter_id": submitter_id,
        "source": source,
        "via_ts": via_ts,
        "created_at": utcnow(),
    }
    if await insert_ignore(conn, filed_messages, values):
        return True
    if via_ts is None:
        return False
    row = await conn.execute(
        select(filed_messages.c.via_ts).where(
            filed_messages.c.channel_id == channel_id, filed_messages.c.message_ts == message_ts
        )
    )
    return row.scalar_one_or_none() == via_ts


async def add_reactor(
    conn: AsyncConnection, channel_id: str, message_ts: str, user_id: str
) -> None:
    """Remember that a user asked to file a message (they follow what it is filed under)."""
    await insert_ignore(
        conn,
        message_reactors,
        {
            "channel_id": channel_id,
            "message_ts": message_ts,
            "user_id": user_id,
            "created_at": utcnow(),
        },
    )


async def reactors(conn: AsyncConnection, channel_id: str, message_ts: str) -> list[str]:
    """The users who asked to file a message, first first."""
    rows = await conn.execute(
        select(message_reactors.c.user_id)
        .where(
            message_reactors.c.channel_id == channel_id,
            message_reactors.c.message_ts == message_ts,
        )
        .order_by(message_reactors.c.created_at, message_reactors.c.user_id)
    )
    return list(rows.scalars())


async def create(conn: AsyncConnection, items: Sequence[NewItem]) -> None:
    """Create items; ids that exist already are left alone (a retried step is harmless)."""
    at = utcnow()
    for item in items:
        await insert_ignore(
            conn,
            feedback_items,
            {**item.__dict__, "status": "processing", "created_at": at, "updated_at": at},
        )


async def get(conn: AsyncConnection, item_id: str) -> FeedbackItem:
    """The item with this id. Raises NotFound."""
    row = (
        (await conn.execute(select(feedback_items).where(feedback_items.c.id == item_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("feedback item", item_id)
    return _item(row)


async def for_message(
    conn: AsyncConnection, channel_id: str, message_ts: str
) -> list[FeedbackItem]:
    """The items filed from one Slack message, or from the thread it starts, in order."""
    rows = await conn.execute(
        select(feedback_items)
        .where(
            feedback_items.c.channel_id == channel_id,
            (feedback_items.c.message_ts == message_ts)
            | (feedback_items.c.thread_ts == message_ts),
        )
        .order_by(feedback_items.c.created_at, feedback_items.c.position)
    )
    return [_item(row) for row in rows.mappings()]


async def get_many(conn: AsyncConnection, item_ids: Sequence[str]) -> list[FeedbackItem]:
    """The items with these ids that exist, by position."""
    if not item_ids:
        return []
    rows = await conn.execute(
        select(feedback_items)
        .where(feedback_items.c.id.in_(item_ids))
        .order_by(feedback_items.c.position)
    )
    return [_item(row) for row in rows.mappings()]


async def for_request(conn: AsyncConnection, request_id: str) -> list[FeedbackItem]:
    """The items filed under a request, oldest first."""
    rows = await conn.execute(
        select(feedback_items)
        .where(feedback_items.c.request_id == request_id, feedback_items.c.status == "filed")
        .order_by(feedback_items.c.created_at, feedback_items.c.position)
    )
    return [_item(row) for row in rows.mappings()]


async def submitted_by(conn: AsyncConnection, request_id: str, user_id: str) -> list[FeedbackItem]:
    """A user's items filed under a request, oldest first."""
    return [i for i in await for_request(conn, request_id) if i.submitter_id == user_id]


async def submitted_under(conn: AsyncConnection, request_id: str, user_id: str) -> int:
    """How many of a user's items are filed under a request."""
    query = (
        select(func.count())
        .select_from(feedback_items)
        .where(
            feedback_items.c.request_id == request_id,
            feedback_items.c.submitter_id == user_id,
            feedback_items.c.status == "filed",
        )
    )
    return int((await conn.execute(query)).scalar_one())


async def release_message(conn: AsyncConnection, channel_id: str, message_ts: str) -> None:
    """Forget the claim on a message nothing was filed from (it could not be read)."""
    await conn.execute(
        sql_delete(filed_messages).where(
            filed_messages.c.channel_id == channel_id, filed_messages.c.message_ts == message_ts
        )
    )


async def set_account(
    conn: AsyncConnection, item_ids: Sequence[str], account_id: str | None, *, actor: str
) -> None:
    """Set the customer account of items."""
    for item_id in item_ids:
        before = (await get(conn, item_id)).account_id
        if before == account_id:
            continue
        await _update(conn, item_id, account_id=account_id)
        await audit.record(
            conn,
            actor=actor,
            action="account",
            feedback_id=item_id,
            before={"account_id": before},
            after={"account_id": account_id},
        )


async def set_match(
    conn: AsyncConnection, item_id: str, *, tier: str, score: float | None, status: str
) -> None:
    """Record how an item matched (and that it now waits for a person, if it does)."""
    await _update(conn, item_id, match_tier=tier, match_score=score, status=status)


async def link(
    conn: AsyncConnection,
    item_id: str,
    request_id: str,
    *,
    actor: str,
    reason: str,
    tier: str | None = None,
    score: float | None = None,
) -> FeedbackItem:
    """File an item under a request (and record how it matched, when given).

    Returns:
        The item as it was before; unchanged when it was already filed there.
    """
    item = await get(conn, item_id)
    if item.request_id == request_id and item.status == "filed":
        return item
    matched = {} if tier is None else {"match_tier": tier, "match_score": score}
    await _update(
        conn,
        item_id,
        request_id=request_id,
        status="filed",
        match_reason=reason,
        filed_at=utcnow(),
        **matched,
    )
    await audit.record(
        conn,
        actor=actor,
        action="link",
        feedback_id=item_id,
        request_id=request_id,
        before={"request_id": item.request_id, "status": item.status},
        after={"request_id": request_id, "status": "filed", "reason": reason},
    )
    return item


async def unlink(conn: AsyncConnection, item_id: str, *, actor: str) -> str | None:
    """Take an item off its request; returns that request (``None``: it was not filed)."""
    item = await get(conn, item_id)
    if item.request_id is None or item.status != "filed":
        return None
    await _update(conn, item_id, request_id=None, status="processing")
    await audit.record(
        conn,
        actor=actor,
        action="unlink",
        feedback_id=item_id,
        request_id=item.request_id,
        before={"request_id": item.request_id, "status": item.status},
        after={"request_id": None, "status": "processing"},
    )
    return item.request_id


async def discard(conn: AsyncConnection, item_id: str, *, actor: str, reason: str) -> bool:
    """Mark an item as not feedback; False when it already was."""
    item = await get(conn, item_id)
    if item.status == "discarded":
        return False
    await _update(conn, item_id, request_id=None, status="discarded", match_reason=reason)
    await audit.record(
        conn,
        actor=actor,
        action="discard",
        feedback_id=item_id,
        before={"request_id": item.request_id, "status": item.status},
        after={"status": "discarded", "reason": reason},
    )
    return True


async def _update(conn: AsyncConnection, item_id: str, **values: object) -> None:
    await conn.execute(
        update(feedback_items)
        .where(feedback_items.c.id == item_id)
        .values(**values, updated_at=utcnow())
    )


@dataclass(frozen=True)
class ItemView:
    """An item with what messages about it show: who filed it and for which customer."""

    item: FeedbackItem
    submitter_slack_id: str | None
    account_name: str | None


async def view(conn: AsyncConnection, item_id: str) -> ItemView:
    """The item, its submitter's Slack id and its account's name, in one query.

    Raises:
        NotFound: There is no such item.
    """
    row = (
        (
            await conn.execute(
                select(
                    feedback_items,
                    users.c.slack_id.label("submitter_slack_id"),
                    accounts.c.name.label("account_name"),
                )
                .select_from(
                    feedback_items.join(
                        users, users.c.id == feedback_items.c.submitter_id
                    ).outerjoin(accounts, accounts.c.id == feedback_items.c.account_id)
                )
                .where(feedback_items.c.id == item_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("feedback item", item_id)
    return ItemView(_item(row), row["submitter_slack_id"], row["account_name"])


def _item(row: RowMapping) -> FeedbackItem:
    return FeedbackItem(**{name: row[name] for name in FeedbackItem.__dataclass_fields__})
