"""Slack messages the bot has posted, keyed by purpose, so a re-run step posts once.

A step that posts calls :func:`claim` first. ``None`` means it is the first try: post,
then :func:`sent`. A claim without a ``ts`` means an earlier try may have posted and
died before recording it: look the message up in Slack (by its metadata) before
posting again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import insert_ignore, utcnow
from feedback.schema import sent_messages

__all__ = ["Claim", "claim", "find", "sent"]


@dataclass(frozen=True)
class Claim:
    """An earlier claim of a message key: its channel, and its ts once posted."""

    channel_id: str
    ts: str | None


async def claim(conn: AsyncConnection, key: str, channel_id: str) -> Claim | None:
    """Claim ``key``; ``None`` when this is the first claim, else the earlier one."""
    if await insert_ignore(
        conn, sent_messages, {"key": key, "channel_id": channel_id, "created_at": utcnow()}
    ):
        return None
    return await find(conn, key)


async def find(conn: AsyncConnection, key: str) -> Claim | None:
    """The claim of ``key``, if any."""
    row = (
        await conn.execute(
            select(sent_messages.c.channel_id, sent_messages.c.ts).where(sent_messages.c.key == key)
        )
    ).first()
    return None if row is None else Claim(row[0], row[1])


async def sent(conn: AsyncConnection, key: str, channel_id: str, ts: str) -> None:
    """Record where the message for ``key`` landed."""
    await conn.execute(
        update(sent_messages).where(sent_messages.c.key == key).values(channel_id=channel_id, ts=ts)
    )
