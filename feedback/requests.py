"""Feature requests: create, read, follow, and the demand behind them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import insert_ignore, slugify, utcnow
from feedback.errors import NotFound
from feedback.schema import (
    REQUEST_STATUSES,
    accounts,
    feedback_items,
    request_areas,
    request_followers,
    requests,
)

__all__ = [
    "Demand",
    "Request",
    "add_area",
    "create",
    "demand",
    "embedding_text",
    "follow",
    "followers",
    "get",
    "get_by_slug",
    "get_many",
    "set_status",
    "unfollow",
]


@dataclass(frozen=True)
class Request:
    """A feature request.

    Attributes:
        id: Its id.
        title: Short title.
        description: What is asked and why.
        status: ``open``, ``planned``, ``shipped`` or ``deprioritized``.
        slug: Unique, URL-friendly name (``/feedback ship <slug>``).
        creator_id: The user who filed it (``None`` for imports).
        possible_duplicate_of: Set when an unanswered approval filed it.
        area_ids: Its product areas.
    """

    id: str
    title: str
    description: str
    status: str
    slug: str
    creator_id: str | None
    possible_duplicate_of: str | None
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None = None
    area_ids: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """Title and description, as embedded for matching."""
        return f"{self.title}. {self.description}".strip() if self.description else self.title


def embedding_text(title: str, description: str) -> str:
    """A request's title and description as embedded for matching (``Request.text``)."""
    return f"{title}. {description}".strip() if description else title


@dataclass(frozen=True)
class Demand:
    """Who asked for a request: filed feedback, distinct accounts and their ARR."""

    feedback: int = 0
    accounts: int = 0
    arr: Decimal = Decimal(0)


async def create(
    conn: AsyncConnection,
    *,
    request_id: str,
    title: str,
    description: str,
    creator_id: str | None,
    area_ids: Sequence[str] = (),
    possible_duplicate_of: str | None = None,
    status: str = "open",
    now: datetime | None = None,
) -> Request:
    """Create a request with a unique slug; creating the same id again returns it.

    Raises:
        ValueError: ``status`` is not a request status.
    """
    if status not in REQUEST_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REQUEST_STATUSES)}, not {status!r}")
    existing = await _find(conn, requests.c.id == request_id)
    if existing is not None:
        return existing
    at = now or utcnow()
    await conn.execute(
        requests.insert().values(
            id=request_id,
            title=title,
            description=description,
            status=status,
            slug=await _free_slug(conn, slugify(title)),
            creator_id=creator_id,
            possible_duplicate_of=possible_duplicate_of,
            created_at=at,
            updated_at=at,
        )
    )
    for area_id in dict.fromkeys(area_ids):
        await insert_ignore(conn, request_areas, {"request_id": request_id, "area_id": area_id})
    return await get(conn, request_id)


async def _free_slug(conn: AsyncConnection, base: str) -> str:
    taken = set(
        (
            await conn.execute(
                select(requests.c.slug).where(
                    (requests.c.slug == base) | requests.c.slug.like(f"{base}-%")
                )
            )
        ).scalars()
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def get(conn: AsyncConnection, request_id: str, *, with_areas: bool = True) -> Request:
    """The request with this id (``area_ids`` left empty unless ``with_areas``).

    Raises:
        NotFound: There is none.
    """
    found = await _find(conn, requests.c.id == request_id, with_areas=with_areas)
    if found is None:
        raise NotFound("request", request_id)
    return found


async def get_by_slug(conn: AsyncConnection, slug: str) -> Request:
    """The request with this slug.

    Raises:
        NotFound: There is none.
    """
    found = await _find(conn, requests.c.slug == slug)
    if found is None:
        raise NotFound("request", slug)
    return found


async def get_many(
    conn: AsyncConnection, request_ids: Sequence[str], *, with_areas: bool = True
) -> dict[str, Request]:
    """The requests with these ids that exist, by id (areas only ``with_areas``)."""
    if not request_ids:
        return {}
    rows = (await conn.execute(select(requests).where(requests.c.id.in_(request_ids)))).mappings()
    found = list(rows)
    areas = await _areas_of(conn, [r["id"] for r in found]) if with_areas else {}
    return {r["id"]: _request(r, areas.get(r["id"], ())) for r in found}


async def _find(conn: AsyncConnection, where: object, *, with_areas: bool = True) -> Request | None:
    row = (await conn.execute(select(requests).where(where))).mappings().first()  # type: ignore[arg-type]
    if row is None:
        return None
    if not with_areas:
        return _request(row, ())
    areas = await _areas_of(conn, [row["id"]])
    return _request(row, areas.get(row["id"], ()))


async def _areas_of(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    rows = await conn.execute(
        select(request_areas.c.request_id, request_areas.c.area_id)
        .where(request_areas.c.request_id.in_(ids))
        .order_by(request_areas.c.area_id)
    )
    out: dict[str, tuple[str, ...]] = {}
    for request_id, area_id in rows:
        out[request_id] = (*out.get(request_id, ()), area_id)
    return out


def _request(row: RowMapping, area_ids: tuple[str, ...]) -> Request:
    return Request(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        slug=row["slug"],
        creator_id=row["creator_id"],
        possible_duplicate_of=row["possible_duplicate_of"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        shipped_at=row["shipped_at"],
        area_ids=area_ids,
    )


async def set_status(
    conn: AsyncConnection, request_id: str, status: str, *, now: datetime | None = None
) -> str:
    """Change a request's status; returns the status it had before.

    Raises:
        NotFound: There is no such request.
        ValueError: ``status`` is not a request status.
    """
    if status not in REQUEST_STATUSES:
        raise ValueError(f"status must be one of {', '.join(REQUEST_STATUSES)}, not {status!r}")
    before = (await get(conn, request_id)).status
    at = now or utcnow()
    await conn.execute(
        update(requests)
        .where(requests.c.id == request_id)
        .values(status=status, updated_at=at, shipped_at=at if status == "shipped" else None)
    )
    return before


async def follow(conn: AsyncConnection, request_id: str, user_id: str) -> bool:
    """Make a user follow a request; True when they did not already."""
    return await insert_ignore(
        conn,
        request_followers,
        {"request_id": request_id, "user_id": user_id, "created_at": utcnow()},
    )


async def add_area(conn: AsyncConnection, request_id: str, area_id: str) -> None:
    """Put a request in a product area (again: nothing changes)."""
    await insert_ignore(conn, request_areas, {"request_id": request_id, "area_id": area_id})


async def unfollow(conn: AsyncConnection, request_id: str, user_id: str) -> None:
    """Stop a user following a request."""
    await conn.execute(
        sql_delete(request_followers).where(
            request_followers.c.request_id == request_id, request_followers.c.user_id == user_id
        )
    )


async def followers(conn: AsyncConnection, request_id: str) -> list[str]:
    """The user ids following a request, oldest first."""
    rows = await conn.execute(
        select(request_followers.c.user_id)
        .where(request_followers.c.request_id == request_id)
        .order_by(request_followers.c.created_at, request_followers.c.user_id)
    )
    return list(rows.scalars())


async def demand(conn: AsyncConnection, request_ids: Sequence[str]) -> dict[str, Demand]:
    """Filed feedback, distinct accounts and their ARR, per request (absent: none)."""
    if not request_ids:
        return {}
    per_account = (
        select(
            feedback_items.c.request_id,
            feedback_items.c.account_id,
            func.count().label("n"),
            func.max(accounts.c.arr).label("arr"),
        )
        .select_from(
            feedback_items.outerjoin(accounts, accounts.c.id == feedback_items.c.account_id)
        )
        .where(feedback_items.c.request_id.in_(request_ids), feedback_items.c.status == "filed")
        .group_by(feedback_items.c.request_id, feedback_items.c.account_id)
        .subquery()
    )
    rows = await conn.execute(
        select(
            per_account.c.request_id,
            func.sum(per_account.c.n),
            func.count(per_account.c.account_id),
            func.sum(per_account.c.arr),
        ).group_by(per_account.c.request_id)
    )
    return {
        rid: Demand(int(n), int(customers), Decimal(arr or 0)) for rid, n, customers, arr in rows
    }
