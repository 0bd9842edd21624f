"""People: Slack users mapped to the domain's users (by Slack id, then by e-mail)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import insert_ignore, utcnow
from feedback.errors import NotFound
from feedback.schema import users

__all__ = [
    "User",
    "ensure",
    "ensure_by_email",
    "get",
    "get_by_slack_id",
    "get_many",
    "product_team",
    "set_product_team",
]


@dataclass(frozen=True)
class User:
    """A person the bot knows.

    Attributes:
        id: Its id.
        slack_id: The Slack user id, when known.
        email: The e-mail address, when Slack shares it.
        name: Display name.
        is_product_team: May decide any approval and change request status.
        is_external: A customer's person (Slack Connect).
    """

    id: str
    slack_id: str | None
    email: str | None
    name: str
    is_product_team: bool = False
    is_external: bool = False


async def ensure(
    conn: AsyncConnection,
    *,
    user_id: str,
    slack_id: str,
    name: str,
    email: str | None = None,
    is_external: bool = False,
) -> User:
    """The user with this Slack id, created when new (or claimed by e-mail).

    A user imported by e-mail before they used Slack gets their Slack id here.
    ``user_id`` is used only when a new row is made, so a retried call is harmless.
    """
    found = await _find(conn, users.c.slack_id == slack_id)
    if found is not None:
        return found
    email = email.strip().lower() if email else None  # addresses are stored lower-cased
    if email:
        by_email = await _find(conn, func.lower(users.c.email) == email)
        if by_email is not None and by_email.slack_id is None:
            await conn.execute(
                update(users).where(users.c.id == by_email.id).values(slack_id=slack_id)
            )
            return await get(conn, by_email.id)
    await insert_ignore(
        conn,
        users,
        {
            "id": user_id,
            "slack_id": slack_id,
            "email": email or None,
            "name": name,
            "is_external": is_external,
            "created_at": utcnow(),
        },
    )
    found = await _find(conn, users.c.slack_id == slack_id)
    if found is None:  # the e-mail belongs to another Slack id: keep the person, drop it
        await insert_ignore(
            conn,
            users,
            {
                "id": user_id,
                "slack_id": slack_id,
                "name": name,
                "is_external": is_external,
                "created_at": utcnow(),
            },
        )
        return await get_by_slack_id(conn, slack_id)
    return found


async def ensure_by_email(conn: AsyncConnection, *, user_id: str, email: str, name: str) -> User:
    """The user with this e-mail address (any case), created without a Slack id when new.

    An imported person gets their Slack id when they first use Slack (:func:`ensure`).
    ``user_id`` is used only when a new row is made.
    """
    address = email.strip().lower()
    found = await _find(conn, func.lower(users.c.email) == address)
    if found is not None:
        return found
    await insert_ignore(
        conn, users, {"id": user_id, "email": address, "name": name, "created_at": utcnow()}
    )
    return await get(conn, user_id)


async def get(conn: AsyncConnection, user_id: str) -> User:
    """The user with this id. Raises NotFound."""
    found = await _find(conn, users.c.id == user_id)
    if found is None:
        raise NotFound("user", user_id)
    return found


async def get_by_slack_id(conn: AsyncConnection, slack_id: str) -> User:
    """The user with this Slack id. Raises NotFound."""
    found = await _find(conn, users.c.slack_id == slack_id)
    if found is None:
        raise NotFound("user", slack_id)
    return found


async def get_many(conn: AsyncConnection, user_ids: list[str]) -> dict[str, User]:
    """The users with these ids that exist, by id."""
    if not user_ids:
        return {}
    rows = (await conn.execute(select(users).where(users.c.id.in_(user_ids)))).mappings()
    return {row["id"]: _user(row) for row in rows}


async def set_product_team(conn: AsyncConnection, email: str, *, member: bool) -> User:
    """Put the person with this e-mail address on the product team (or take them off).

    A person the bot has not met yet is created by e-mail, and gets their Slack id when
    they first use Slack (Slack shares the address through ``users.info``).
    """
    person = await ensure_by_email(
        conn, user_id=f"u-{email.strip().lower()}", email=email, name=email.split("@")[0]
    )
    await conn.execute(update(users).where(users.c.id == person.id).values(is_product_team=member))
    return await get(conn, person.id)


async def product_team(conn: AsyncConnection) -> list[User]:
    """The product team, by name."""
    rows = await conn.execute(
        select(users).where(users.c.is_product_team.is_(True)).order_by(users.c.name)
    )
    return [_user(row) for row in rows.mappings()]


async def _find(conn: AsyncConnection, where: object) -> User | None:
    row = (await conn.execute(select(users).where(where))).mappings().first()  # type: ignore[arg-type]
    return None if row is None else _user(row)


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        slack_id=row["slack_id"],
        email=row["email"],
        name=row["name"],
        is_product_team=bool(row["is_product_team"]),
        is_external=bool(row["is_external"]),
    )
