"""Customer accounts, and the Slack channels and e-mail domains that belong to them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback.errors import NotFound
from feedback.schema import account_channels, accounts

__all__ = ["Account", "by_channel", "by_domain", "by_name", "exists", "get", "listing", "search"]


@dataclass(frozen=True)
class Account:
    """A customer.

    Attributes:
        id: Its id.
        name: The customer's name.
        arr: Annual recurring revenue.
        tier: Plan or segment (e.g. ``enterprise``).
        crm_id: The CRM record's id.
        owner_email: The account owner.
        domain: The customer's e-mail domain.
    """

    id: str
    name: str
    arr: Decimal
    tier: str = ""
    crm_id: str | None = None
    owner_email: str | None = None
    domain: str | None = None


async def get(conn: AsyncConnection, account_id: str) -> Account:
    """The account with this id. Raises NotFound."""
    found = await _find(conn, accounts.c.id == account_id)
    if found is None:
        raise NotFound("account", account_id)
    return found


async def by_channel(conn: AsyncConnection, channel_id: str) -> Account | None:
    """The account a Slack channel belongs to, if any."""
    owner = select(account_channels.c.account_id).where(account_channels.c.channel_id == channel_id)
    return await _find(conn, accounts.c.id.in_(owner.scalar_subquery()))


async def by_domain(conn: AsyncConnection, email: str | None) -> Account | None:
    """The account whose e-mail domain matches this address, if any."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return await _find(conn, func.lower(accounts.c.domain) == domain)


async def by_name(conn: AsyncConnection, name: str) -> Account | None:
    """The account with this name (any case), if any."""
    return await _find(conn, func.lower(accounts.c.name) == name.lower())


async def listing(conn: AsyncConnection, *, limit: int = 100) -> list[Account]:
    """Accounts, largest ARR first."""
    rows = await conn.execute(
        select(accounts).order_by(accounts.c.arr.desc(), accounts.c.name).limit(limit)
    )
    return [_account(row) for row in rows.mappings()]


async def exists(conn: AsyncConnection, account_id: str) -> bool:
    """Whether an account has this id."""
    return await _find(conn, accounts.c.id == account_id) is not None


async def search(conn: AsyncConnection, text: str, *, limit: int = 20) -> list[Account]:
    """Accounts whose name contains ``text`` (any case), those starting with it and the
    largest ARR first; all of them, largest first, for an empty ``text``."""
    needle = text.strip().lower()
    query = select(accounts)
    if needle:
        name = func.lower(accounts.c.name)
        query = query.where(name.contains(needle, autoescape=True)).order_by(
            name.startswith(needle, autoescape=True).desc()
        )
    rows = await conn.execute(query.order_by(accounts.c.arr.desc(), accounts.c.name).limit(limit))
    return [_account(row) for row in rows.mappings()]


async def _find(conn: AsyncConnection, where: object) -> Account | None:
    row = (await conn.execute(select(accounts).where(where))).mappings().first()  # type: ignore[arg-type]
    return None if row is None else _account(row)


def _account(row: RowMapping) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        arr=Decimal(row["arr"]),
        tier=row["tier"],
        crm_id=row["crm_id"],
        owner_email=row["owner_email"],
        domain=row["domain"],
    )
