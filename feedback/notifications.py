"""How each person hears from the bot, and the lines waiting for their daily DM.

Two kinds of DM can be tuned per person: ``links`` (where their feedback was filed)
and ``shipped`` (a request they follow shipped). Each is ``now`` (a DM each time, the
default), ``daily`` (a line queued here, sent in one DM a day by the
``notification-batch`` workflow) or ``off``.

A queued line is keyed by its purpose, so a step that runs again queues it once. A
daily batch takes the person's waiting lines (:func:`add_to_batch`), posts them in one
DM, then marks them sent (:func:`mark_sent`); lines queued after the batch's DM was
posted wait for the next day's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Select, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import users
from feedback._util import insert_ignore, upsert, utcnow
from feedback.errors import DomainError
from feedback.schema import (
    NOTIFICATION_CHOICES,
    NOTIFICATION_KINDS,
    notification_settings,
    queued_notifications,
    sent_messages,
)

__all__ = [
    "CHOICES",
    "KINDS",
    "Choice",
    "InvalidSetting",
    "Kind",
    "NotificationSettings",
    "QueuedLine",
    "add_to_batch",
    "enqueue",
    "get_settings",
    "in_batch",
    "mark_sent",
    "pending",
    "people_waiting",
    "set_setting",
]

Kind = Literal["links", "shipped"]
Choice = Literal["now", "daily", "off"]
KINDS: tuple[Kind, ...] = cast("tuple[Kind, ...]", NOTIFICATION_KINDS)
CHOICES: tuple[Choice, ...] = cast("tuple[Choice, ...]", NOTIFICATION_CHOICES)


class InvalidSetting(DomainError, ValueError):
    """A notification kind or choice that does not exist; the message lists the valid ones."""


@dataclass(frozen=True)
class NotificationSettings:
    """How one person hears of each kind of news.

    Attributes:
        links: Where their feedback was filed: ``now``, ``daily`` or ``off``.
        shipped: A request they follow shipped: ``now``, ``daily`` or ``off``.
    """

    links: Choice = "now"
    shipped: Choice = "now"

    def of(self, kind: str) -> Choice:
        """The choice for ``kind``.

        Raises:
            InvalidSetting: ``kind`` is not ``links`` or ``shipped``.
        """
        return cast("Choice", getattr(self, _kind(kind)))


@dataclass(frozen=True)
class QueuedLine:
    """A line waiting for (or sent in) a person's daily DM.

    Attributes:
        key: What it is for; queuing the same key again does nothing.
        user_id: Whose DM it goes to.
        kind: ``links`` or ``shipped``.
        text: One line of mrkdwn.
        batch_key: The daily DM that took it, once one did.
        created_at: When it was queued.
        sent_at: When its DM went out.
    """

    key: str
    user_id: str
    kind: Kind
    text: str
    batch_key: str | None
    created_at: datetime
    sent_at: datetime | None = None


async def get_settings(conn: AsyncConnection, user_id: str) -> NotificationSettings:
    """A person's settings (``now`` for both until they choose)."""
    row = (
        (
            await conn.execute(
                select(notification_settings).where(notification_settings.c.user_id == user_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return NotificationSettings()
    return NotificationSettings(links=row["links"], shipped=row["shipped"])


async def set_setting(
    conn: AsyncConnection, user_id: str, kind: str, value: str
) -> NotificationSettings:
    """Set how a person hears of one kind of news; returns all their settings.

    Raises:
        InvalidSetting: ``kind`` or ``value`` is not one of the known ones.
        NotFound: There is no such user.
    """
    column = _kind(kind)
    if value not in CHOICES:
        raise InvalidSetting(
            f"{value!r} is not a setting for {column}: use one of {', '.join(CHOICES)}"
        )
    await users.get(conn, user_id)
    await upsert(
        conn,
        notification_settings,
        {"user_id": user_id, column: value, "updated_at": utcnow()},
        keys=["user_id"],
    )
    return await get_settings(conn, user_id)


async def enqueue(
    conn: AsyncConnection,
    *,
    key: str,
    user_id: str,
    kind: str,
    text: str,
    created_at: datetime | None = None,
) -> bool:
    """Queue a line for a person's daily DM; True when new (the key was not queued yet).

    Raises:
        InvalidSetting: ``kind`` is not ``links`` or ``shipped``.
    """
    row = {
        "key": key,
        "user_id": user_id,
        "kind": _kind(kind),
        "text": text,
        "created_at": created_at or utcnow(),
    }
    return await insert_ignore(conn, queued_notifications, row)


async def pending(conn: AsyncConnection, user_id: str) -> list[QueuedLine]:
    """A person's lines not sent yet, oldest first."""
    rows = await conn.execute(
        _lines().where(
            queued_notifications.c.user_id == user_id, queued_notifications.c.sent_at.is_(None)
        )
    )
    return [_line(row) for row in rows.mappings()]


async def people_waiting(conn: AsyncConnection) -> list[str]:
    """The user ids with lines not sent yet."""
    rows = await conn.execute(
        select(queued_notifications.c.user_id)
        .where(queued_notifications.c.sent_at.is_(None))
        .group_by(queued_notifications.c.user_id)
        .order_by(queued_notifications.c.user_id)
    )
    return list(rows.scalars())


async def add_to_batch(conn: AsyncConnection, user_id: str, batch_key: str) -> int:
    """Put a person's waiting lines into ``batch_key``; how many it now holds unsent.

    Lines that an earlier batch took but never posted (its step failed for good) are
    taken too, so no line is lost; lines of a posted batch are left to it.
    """
    posted = select(sent_messages.c.key).where(sent_messages.c.ts.is_not(None))
    await conn.execute(
        update(queued_notifications)
        .where(
            queued_notifications.c.user_id == user_id,
            queued_notifications.c.sent_at.is_(None),
            or_(
                queued_notifications.c.batch_key.is_(None),
                queued_notifications.c.batch_key.not_in(posted),
            ),
        )
        .values(batch_key=batch_key)
    )
    return len([line for line in await in_batch(conn, user_id, batch_key) if not line.sent_at])


async def in_batch(conn: AsyncConnection, user_id: str, batch_key: str) -> list[QueuedLine]:
    """The lines of one batch (sent or not), oldest first."""
    rows = await conn.execute(
        _lines().where(
            queued_notifications.c.user_id == user_id,
            queued_notifications.c.batch_key == batch_key,
        )
    )
    return [_line(row) for row in rows.mappings()]


async def mark_sent(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """Record that these lines went out (again: they keep their first time)."""
    if not keys:
        return
    await conn.execute(
        update(queued_notifications)
        .where(queued_notifications.c.key.in_(keys), queued_notifications.c.sent_at.is_(None))
        .values(sent_at=utcnow())
    )


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InvalidSetting(
            f"{kind!r} is not a kind of notification: use one of {', '.join(KINDS)}"
        )
    return kind


def _lines() -> Select[Any]:
    return select(queued_notifications).order_by(
        queued_notifications.c.created_at, queued_notifications.c.key
    )


def _line(row: RowMapping) -> QueuedLine:
    return QueuedLine(**{name: row[name] for name in QueuedLine.__dataclass_fields__})
