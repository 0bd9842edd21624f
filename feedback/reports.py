"""What the reports read: feedback filed in a period, who asked, and what changed.

A period is half-open, ``[start, end)``, so consecutive periods never count an item
twice. Times are timezone-aware; an item counts where it was *filed* (``status =
'filed'``, under a request), in every area of its request. The ARR of a group is the
sum over its distinct accounts: an account that asked five times counts once.

Insights reports are stored once per area and period end (the first one stored wins),
so a report that is posted again after a crash shows what was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from feedback._util import insert_ignore, new_id, utcnow
from feedback.schema import (
    accounts,
    areas,
    feedback_items,
    insights_reports,
    request_areas,
    requests,
)

__all__ = [
    "AccountAsking",
    "Asked",
    "PeriodItem",
    "ReportRequest",
    "StoredReport",
    "Totals",
    "accounts_asking",
    "area_names",
    "created_in",
    "feedback_in",
    "first_permalinks",
    "insights_for",
    "requests_asked",
    "shipped_in",
    "store_insights",
    "totals",
]


@dataclass(frozen=True)
class PeriodItem:
    """A feedback item filed in a period, with its request and account.

    Attributes:
        id: The item.
        request_id: The request it is filed under.
        request_title: That request's title.
        request_slug: That request's slug.
        account_id: The customer's account (``None``: unknown).
        account_name: Its name.
        arr: Its ARR (``None`` when the account is unknown).
        quote: The customer's words.
        summary: One sentence on the ask.
        severity: ``low``, ``medium`` or ``high``.
        permalink: The Slack message it came from.
        created_at: When it was filed.
    """

    id: str
    request_id: str
    request_title: str
    request_slug: str
    account_id: str | None
    account_name: str | None
    arr: Decimal | None
    quote: str
    summary: str
    severity: str
    permalink: str | None
    created_at: datetime


@dataclass(frozen=True)
class Totals:
    """Feedback filed in a period: how much, from how many accounts, their ARR.

    Attributes:
        feedback: Items filed.
        accounts: Distinct known accounts among them.
        arr: The sum of those accounts' ARR.
        unknown: Items whose account is unknown.
    """

    feedback: int = 0
    accounts: int = 0
    arr: Decimal = Decimal(0)
    unknown: int = 0


@dataclass(frozen=True)
class AccountAsking:
    """An account that asked in a period.

    Attributes:
        id: The account.
        name: Its name.
        arr: Its ARR.
        feedback: Items it filed in the period.
    """

    id: str
    name: str
    arr: Decimal
    feedback: int


@dataclass(frozen=True)
class Asked:
    """A request asked for in a period, with that period's demand.

    Attributes:
        request_id: The request.
        title: Its title.
        slug: Its slug.
        status: Its status now.
        feedback: Items filed under it in the period.
        accounts: Distinct known accounts among them.
        arr: The sum of those accounts' ARR.
    """

    request_id: str
    title: str
    slug: str
    status: str
    feedback: int
    accounts: int
    arr: Decimal


@dataclass(frozen=True)
class ReportRequest:
    """A request as the digest lists it.

    Attributes:
        id: The request.
        title: Its title.
        slug: Its slug.
        status: Its status now.
        created_at: When it was created.
        shipped_at: When it shipped, if it did.
        areas: Names of its product areas.
    """

    id: str
    title: str
    slug: str
    status: str
    created_at: datetime
    shipped_at: datetime | None
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredReport:
    """An insights report as stored.

    Attributes:
        id: The row's id.
        area_id: The area.
        period_start: The period's start.
        period_end: The period's end (one report per area and end).
        body: The report (JSON).
        created_at: When it was stored.
    """

    id: str
    area_id: str
    period_start: datetime
    period_end: datetime
    body: dict[str, Any]
    created_at: datetime


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"naive period {start!r} to {end!r}: pass timezone-aware times")
    if start >= end:
        raise ValueError(f"empty period: {start.isoformat()} is not before {end.isoformat()}")


def _filed_in(start: datetime, end: datetime, area_id: str | None) -> ColumnElement[bool]:
    """Items filed in ``[start, end)`` (of one area's requests, with ``area_id``).

    By when they were filed, not created: an ask answered days later counts then.
    """
    _check_period(start, end)
    where = and_(
        feedback_items.c.status == "filed",
        feedback_items.c.request_id.is_not(None),
        feedback_items.c.filed_at >= start,
        feedback_items.c.filed_at < end,
    )
    if area_id is None:
        return where
    in_area = select(request_areas.c.request_id).where(request_areas.c.area_id == area_id)
    return and_(where, feedback_items.c.request_id.in_(in_area.scalar_subquery()))


async def feedback_in(
    conn: AsyncConnection, start: datetime, end: datetime, *, area_id: str | None = None
) -> list[PeriodItem]:
    """Items filed in ``[start, end)``, oldest first (only one area's, with ``area_id``).

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    rows = await conn.execute(
        select(
            feedback_items.c.id,
            feedback_items.c.request_id,
            requests.c.title.label("request_title"),
            requests.c.slug.label("request_slug"),
            feedback_items.c.account_id,
            accounts.c.name.label("account_name"),
            accounts.c.arr,
            feedback_items.c.quote,
            feedback_items.c.summary,
            feedback_items.c.severity,
            feedback_items.c.permalink,
            feedback_items.c.created_at,
        )
        .select_from(
            feedback_items.join(requests, requests.c.id == feedback_items.c.request_id).outerjoin(
                accounts, accounts.c.id == feedback_items.c.account_id
            )
        )
        .where(_filed_in(start, end, area_id))
        .order_by(feedback_items.c.filed_at, feedback_items.c.id)
    )
    return [
        PeriodItem(**{**row, "arr": None if row["arr"] is None else Decimal(row["arr"])})
        for row in rows.mappings()
    ]


def _per_account(where: ColumnElement[bool], *, by_request: bool) -> Select[Any]:
    """Items per (request and) account, with the account's ARR: a group's ARR is a sum
    over these rows, so each account counts once."""
    keys = [feedback_items.c.request_id] if by_request else []
    return (
        select(
            *keys,
            feedback_items.c.account_id,
            func.count().label("n"),
            func.max(accounts.c.arr).label("arr"),
        )
        .select_from(
            feedback_items.outerjoin(accounts, accounts.c.id == feedback_items.c.account_id)
        )
        .where(where)
        .group_by(*keys, feedback_items.c.account_id)
    )


async def totals(
    conn: AsyncConnection, start: datetime, end: datetime, *, area_id: str | None = None
) -> Totals:
    """How much feedback was filed in ``[start, end)``, by how many accounts, their ARR.

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    per_account = _per_account(_filed_in(start, end, area_id), by_request=False).subquery()
    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(per_account.c.n), 0),
                func.count(per_account.c.account_id),
                func.sum(per_account.c.arr),
                func.coalesce(
                    func.sum(per_account.c.n).filter(per_account.c.account_id.is_(None)), 0
                ),
            )
        )
    ).one()
    return Totals(int(row[0]), int(row[1]), _decimal(row[2]), int(row[3]))


async def accounts_asking(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    *,
    area_id: str | None = None,
    limit: int = 5,
) -> list[AccountAsking]:
    """The known accounts that filed feedback in ``[start, end)``, largest ARR first.

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    rows = await conn.execute(
        select(accounts.c.id, accounts.c.name, accounts.c.arr, func.count().label("n"))
        .select_from(feedback_items.join(accounts, accounts.c.id == feedback_items.c.account_id))
        .where(_filed_in(start, end, area_id))
        .group_by(accounts.c.id, accounts.c.name, accounts.c.arr)
        .order_by(accounts.c.arr.desc(), accounts.c.name, accounts.c.id)
        .limit(limit)
    )
    return [AccountAsking(id, name, _decimal(arr), int(n)) for id, name, arr, n in rows]


async def requests_asked(
    conn: AsyncConnection,
    start: datetime,
    end: datetime,
    *,
    area_id: str | None = None,
    by: Literal["count", "arr"] = "count",
    limit: int | None = None,
) -> list[Asked]:
    """Requests that got feedback in ``[start, end)``, with that period's demand.

    Args:
        conn: A connection.
        start: The period's start (included).
        end: The period's end (excluded).
        area_id: Only requests of this area.
        by: ``count``: most feedback first; ``arr``: most ARR of the distinct accounts
            asking first (requests whose askers have no known ARR are left out).
        limit: At most this many.

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    per_account = _per_account(_filed_in(start, end, area_id), by_request=True).subquery()
    per_request = (
        select(
            per_account.c.request_id,
            func.sum(per_account.c.n).label("feedback"),
            func.count(per_account.c.account_id).label("accounts"),
            func.coalesce(func.sum(per_account.c.arr), 0).label("arr"),
        )
        .group_by(per_account.c.request_id)
        .subquery()
    )
    order = (
        [per_request.c.feedback.desc(), per_request.c.arr.desc()]
        if by == "count"
        else [per_request.c.arr.desc(), per_request.c.feedback.desc()]
    )
    query = (
        select(
            requests.c.id,
            requests.c.title,
            requests.c.slug,
            requests.c.status,
            per_request.c.feedback,
            per_request.c.accounts,
            per_request.c.arr,
        )
        .select_from(per_request.join(requests, requests.c.id == per_request.c.request_id))
        .order_by(*order, requests.c.title, requests.c.id)
        .limit(limit)
    )
    if by == "arr":
        query = query.where(per_request.c.arr > 0)
    rows = await conn.execute(query)
    return [
        Asked(id, title, slug, status, int(n), int(customers), _decimal(arr))
        for id, title, slug, status, n, customers, arr in rows
    ]


async def created_in(conn: AsyncConnection, start: datetime, end: datetime) -> list[ReportRequest]:
    """Requests created in ``[start, end)``, oldest first.

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    _check_period(start, end)
    where = and_(requests.c.created_at >= start, requests.c.created_at < end)
    return await _requests(conn, where, requests.c.created_at)


async def shipped_in(conn: AsyncConnection, start: datetime, end: datetime) -> list[ReportRequest]:
    """Requests shipped in ``[start, end)`` (and still shipped), first shipped first.

    Raises:
        ValueError: The times are naive, or ``start`` is not before ``end``.
    """
    _check_period(start, end)
    where = and_(
        requests.c.status == "shipped",
        requests.c.shipped_at >= start,
        requests.c.shipped_at < end,
    )
    return await _requests(conn, where, requests.c.shipped_at)


async def _requests(
    conn: AsyncConnection, where: ColumnElement[bool], order: ColumnElement[Any]
) -> list[ReportRequest]:
    rows = list(
        (
            await conn.execute(
                select(
                    requests.c.id,
                    requests.c.title,
                    requests.c.slug,
                    requests.c.status,
                    requests.c.created_at,
                    requests.c.shipped_at,
                )
                .where(where)
                .order_by(order, requests.c.id)
            )
        ).mappings()
    )
    names = await area_names(conn, [row["id"] for row in rows])
    return [ReportRequest(**row, areas=names.get(row["id"], ())) for row in rows]


async def area_names(
    conn: AsyncConnection, request_ids: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """The names of each request's areas, alphabetical (requests without areas absent)."""
    if not request_ids:
        return {}
    rows = await conn.execute(
        select(request_areas.c.request_id, areas.c.name)
        .select_from(request_areas.join(areas, areas.c.id == request_areas.c.area_id))
        .where(request_areas.c.request_id.in_(request_ids))
        .order_by(areas.c.name)
    )
    out: dict[str, tuple[str, ...]] = {}
    for request_id, name in rows:
        out[request_id] = (*out.get(request_id, ()), name)
    return out


async def first_permalinks(conn: AsyncConnection, request_ids: Sequence[str]) -> dict[str, str]:
    """The Slack message of each request's first filed feedback (where it has one)."""
    if not request_ids:
        return {}
    rows = await conn.execute(
        select(feedback_items.c.request_id, feedback_items.c.permalink)
        .where(
            feedback_items.c.request_id.in_(request_ids),
            feedback_items.c.status == "filed",
            feedback_items.c.permalink.is_not(None),
        )
        .order_by(feedback_items.c.created_at, feedback_items.c.position, feedback_items.c.id)
    )
    out: dict[str, str] = {}
    for request_id, permalink in rows:
        out.setdefault(request_id, permalink)
    return out


async def store_insights(
    conn: AsyncConnection,
    *,
    area_id: str,
    period_start: datetime,
    period_end: datetime,
    body: dict[str, Any],
) -> StoredReport:
    """Store an area's report for a period, unless one is stored already.

    Returns:
        The stored report: this one, or the one stored first for the area and
        ``period_end`` (whose body wins).

    Raises:
        ValueError: The times are naive, or ``period_start`` is not before ``period_end``.
    """
    _check_period(period_start, period_end)
    await insert_ignore(
        conn,
        insights_reports,
        {
            "id": new_id(),
            "area_id": area_id,
            "period_start": period_start,
            "period_end": period_end,
            "body": body,
            "created_at": utcnow(),
        },
    )
    stored = await insights_for(conn, area_id, period_end)
    if stored is None:  # pragma: no cover - the row was just inserted or found
        raise RuntimeError(f"insights report of area {area_id!r} vanished after storing it")
    return stored


async def insights_for(
    conn: AsyncConnection, area_id: str, period_end: datetime
) -> StoredReport | None:
    """The area's report for the period ending at ``period_end``, if stored."""
    row = (
        (
            await conn.execute(
                select(insights_reports).where(
                    insights_reports.c.area_id == area_id,
                    insights_reports.c.period_end == period_end,
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else StoredReport(**row)


def _decimal(value: object) -> Decimal:
    """A sum as a Decimal (SQLite hands sums of NUMERIC back as floats)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))
