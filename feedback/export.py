"""The backlog for spreadsheets and other tools: requests with their feedback, accounts, ARR.

::

    async with db.read() as conn:
        backlog = await export.load(conn)
    export.write_json(backlog, sys.stdout)    # requests, each with its feedback
    export.write_csv(backlog, sys.stdout)     # one row per feedback item

Requests come most demanded first: by the ARR of the distinct accounts asking, then by
how much feedback, then oldest first. Only feedback filed under a request counts (as
in the request card and the reports); a request without any appears once, with empty
feedback columns in CSV.

In CSV, a text cell starting with ``=``, ``+``, ``-``, ``@`` or a tab gets a leading
``'`` so that a spreadsheet shows customer words instead of running them as a formula.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import requests as requests_db
from feedback.schema import accounts, areas, feedback_items, request_areas, requests, users

__all__ = ["CSV_COLUMNS", "ExportedFeedback", "ExportedRequest", "load", "write_csv", "write_json"]


@dataclass(frozen=True)
class ExportedFeedback:
    """One piece of feedback filed under a request, with its customer.

    Attributes:
        id: Its id.
        summary: One sentence on the ask.
        quote: The customer's words.
        severity: ``low``, ``medium`` or ``high``.
        source: How it came in (``reaction``, ``shortcut``, ...).
        submitter: Who filed it (their name).
        account: The customer's account name (``None``: unknown).
        account_arr: That account's ARR.
        permalink: The Slack message it came from.
        filed_at: When it was filed under the request.
    """

    id: str
    summary: str
    quote: str
    severity: str
    source: str
    submitter: str
    account: str | None
    account_arr: Decimal | None
    permalink: str | None
    filed_at: datetime | None


@dataclass(frozen=True)
class ExportedRequest:
    """A request, the demand behind it, and its feedback (oldest first).

    Attributes:
        arr: The total ARR of the distinct accounts asking.
    """

    id: str
    slug: str
    title: str
    description: str
    status: str
    areas: tuple[str, ...]
    created_at: datetime
    shipped_at: datetime | None
    accounts: tuple[str, ...]
    arr: Decimal
    feedback: tuple[ExportedFeedback, ...] = field(repr=False)


async def load(conn: AsyncConnection) -> list[ExportedRequest]:
    """Every request with its filed feedback, most demanded first."""
    rows = (await conn.execute(select(requests))).mappings().all()
    ids = [row["id"] for row in rows]
    demand = await requests_db.demand(conn, ids)
    area_names = await _areas(conn)
    feedback = await _feedback(conn)
    exported = []
    for row in rows:
        items = tuple(feedback.get(row["id"], ()))
        exported.append(
            ExportedRequest(
                id=row["id"],
                slug=row["slug"],
                title=row["title"],
                description=row["description"],
                status=row["status"],
                areas=tuple(area_names.get(row["id"], ())),
                created_at=row["created_at"],
                shipped_at=row["shipped_at"],
                accounts=tuple(sorted({i.account for i in items if i.account})),
                arr=demand[row["id"]].arr if row["id"] in demand else Decimal(0),
                feedback=items,
            )
        )
    exported.sort(key=lambda r: (-r.arr, -len(r.feedback), r.created_at, r.id))
    return exported


async def _areas(conn: AsyncConnection) -> dict[str, list[str]]:
    rows = await conn.execute(
        select(request_areas.c.request_id, areas.c.name)
        .join(areas, areas.c.id == request_areas.c.area_id)
        .order_by(areas.c.name)
    )
    found: dict[str, list[str]] = defaultdict(list)
    for request_id, name in rows:
        found[request_id].append(name)
    return found


async def _feedback(conn: AsyncConnection) -> dict[str, list[ExportedFeedback]]:
    f = feedback_items.c
    rows = await conn.execute(
        select(
            f.request_id,
            f.id,
            f.summary,
            f.quote,
            f.severity,
            f.source,
            f.permalink,
            f.filed_at,
            f.created_at,
            users.c.name.label("submitter"),
            accounts.c.name.label("account"),
            accounts.c.arr.label("account_arr"),
        )
        .select_from(
            feedback_items.join(users, users.c.id == f.submitter_id).outerjoin(
                accounts, accounts.c.id == f.account_id
            )
        )
        .where(f.status == "filed", f.request_id.is_not(None))
        .order_by(f.filed_at, f.created_at, f.id)
    )
    found: dict[str, list[ExportedFeedback]] = defaultdict(list)
    for row in rows.mappings():
        found[row["request_id"]].append(
            ExportedFeedback(
                id=row["id"],
                summary=row["summary"],
                quote=row["quote"],
                severity=row["severity"],
                source=row["source"],
                submitter=row["submitter"],
                account=row["account"],
                account_arr=None if row["account_arr"] is None else Decimal(row["account_arr"]),
                permalink=row["permalink"],
                filed_at=row["filed_at"],
            )
        )
    return found


# --- JSON -------------------------------------------------------------------------------


def write_json(backlog: Sequence[ExportedRequest], out: TextIO) -> None:
    """``{"requests": [...]}``, each request with ``feedback``: a list of its items."""
    json.dump({"requests": [_request_json(r) for r in backlog]}, out, indent=2, default=_plain)
    out.write("\n")


def _request_json(request: ExportedRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "slug": request.slug,
        "title": request.title,
        "description": request.description,
        "status": request.status,
        "areas": list(request.areas),
        "created_at": request.created_at,
        "shipped_at": request.shipped_at,
        "feedback_count": len(request.feedback),
        "accounts": list(request.accounts),
        "arr": request.arr,
        "feedback": [vars(item) for item in request.feedback],
    }


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot export {type(value).__name__}")


# --- CSV --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "request_id", "request_slug", "request_title", "request_status", "request_areas",
    "request_created_at", "request_shipped_at", "request_feedback_count",
    "request_accounts", "request_arr",
    "feedback_id", "feedback_summary", "feedback_quote", "feedback_severity",
    "feedback_source", "feedback_submitter", "feedback_filed_at", "feedback_permalink",
    "account", "account_arr",
)  # fmt: skip


def write_csv(backlog: Sequence[ExportedRequest], out: TextIO) -> None:
    """One row per feedback item (a request without feedback: one row), with a header.

    Lists (areas, accounts) are joined with ``"; "``; times are ISO 8601 UTC.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for request in backlog:
        for row in _csv_rows(request):
            writer.writerow([_cell(value) for value in row])


def _csv_rows(request: ExportedRequest) -> Iterator[list[object]]:
    head: list[object] = [
        request.id, request.slug, request.title, request.status, "; ".join(request.areas),
        request.created_at, request.shipped_at, len(request.feedback),
        "; ".join(request.accounts), request.arr,
    ]  # fmt: skip
    if not request.feedback:
        yield head + [None] * (len(CSV_COLUMNS) - len(head))
    for item in request.feedback:
        yield [
            *head,
            item.id, item.summary, item.quote, item.severity, item.source, item.submitter,
            item.filed_at, item.permalink, item.account, item.account_arr,
        ]  # fmt: skip


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | Decimal):
        return str(_plain(value))
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
