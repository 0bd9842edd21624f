"""What the reports read: feedback in a period per area, accounts and ARR, new and shipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import reports
from feedback import requests as requests_db
from feedback.database import Database
from feedback.schema import accounts, areas, feedback_items, users

END = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
START = END - timedelta(days=1)
HOUR = timedelta(hours=1)


async def add_item(
    conn: AsyncConnection,
    item_id: str,
    request_id: str | None,
    account_id: str | None,
    at: datetime,
    *,
    severity: str = "medium",
    status: str = "filed",
    permalink: str | None = None,
) -> None:
    await conn.execute(
        feedback_items.insert().values(
            id=item_id,
            request_id=request_id,
            account_id=account_id,
            quote=f"quote {item_id}",
            pain="",
            summary=f"summary {item_id}",
            severity=severity,
            source="api",
            submitter_id="u-sam",
            status=status,
            permalink=permalink,
            created_at=at,
            filed_at=at,
            updated_at=at,
        )
    )


@pytest.fixture
async def seeded(domain_db: Database) -> Database:
    """Four accounts, two areas, five requests and feedback around one day's bounds.

    In [START, END): pdf 4 (Acme twice, Globex, unknown), alerts 2 (Initech, Hooli),
    okta 1 (Globex), csv 1 (Hooli, no ARR); outside it, pending or discarded: the rest.
    """
    async with domain_db.transaction() as conn:
        await conn.execute(users.insert().values(id="u-sam", name="Sam", created_at=END))
        for account_id, name, arr in (
            ("acc-acme", "Acme Corp", "1200000"),
            ("acc-globex", "Globex", "450000"),
            ("acc-initech", "Initech", "80000"),
            ("acc-hooli", "Hooli", "0"),
        ):
            await conn.execute(
                accounts.insert().values(
                    id=account_id, name=name, arr=Decimal(arr), created_at=END, updated_at=END
                )
            )
        await conn.execute(areas.insert().values(id="ar-rep", name="Reporting", slug="reporting"))
        await conn.execute(areas.insert().values(id="ar-id", name="Identity", slug="identity"))
        for request_id, title, area_ids, created in (
            ("pdf", "Export to PDF", ["ar-rep"], START - 10 * 24 * HOUR),
            ("okta", "SSO with Okta", ["ar-id"], START + HOUR),
            ("alerts", "Alerts in Slack", ["ar-rep", "ar-id"], END - timedelta(seconds=1)),
            ("csv", "CSV import", [], END),
            ("old", "Old request", [], START - HOUR),
        ):
            await requests_db.create(
                conn,
                request_id=request_id,
                title=title,
                description="",
                creator_id=None,
                area_ids=area_ids,
                now=created,
            )
        await add_item(conn, "f1", "pdf", "acc-acme", START, severity="high", permalink="p1")
        await add_item(conn, "f2", "pdf", "acc-acme", END - HOUR, permalink="p2")
        await add_item(conn, "f3", "pdf", "acc-globex", END - 2 * HOUR, severity="low")
        await add_item(conn, "f4", "pdf", None, END - 3 * HOUR)
        await add_item(conn, "f5", "alerts", "acc-initech", END - 4 * HOUR)
        await add_item(conn, "f6", "okta", "acc-globex", END - 5 * HOUR, severity="high")
        await add_item(conn, "f9", "alerts", "acc-hooli", END - 6 * HOUR)
        await add_item(conn, "f13", "csv", "acc-hooli", END - 7 * HOUR)
        # outside the period, or not filed
        await add_item(conn, "f7", "pdf", "acc-acme", END)
        await add_item(
            conn, "f8", "pdf", "acc-globex", START - timedelta(seconds=1), permalink="p0"
        )
        await add_item(conn, "f10", None, "acc-acme", END - HOUR, status="processing")
        await add_item(conn, "f11", None, "acc-acme", END - HOUR, status="discarded")
        await add_item(conn, "f12", None, "acc-acme", END - HOUR, status="pending")
    return domain_db


async def test_feedback_in_a_period_is_half_open_filed_only_and_per_area(seeded: Database) -> None:
    async with seeded.read() as conn:
        everything = await reports.feedback_in(conn, START, END)
        reporting = await reports.feedback_in(conn, START, END, area_id="ar-rep")
        identity = await reports.feedback_in(conn, START, END, area_id="ar-id")

    assert [i.id for i in everything] == ["f1", "f13", "f9", "f6", "f5", "f4", "f3", "f2"]
    assert [i.id for i in reporting] == ["f1", "f9", "f5", "f4", "f3", "f2"]
    assert [i.id for i in identity] == ["f9", "f6", "f5"]
    first = everything[0]
    assert (first.request_slug, first.account_name, first.arr) == (
        "export-to-pdf",
        "Acme Corp",
        Decimal("1200000"),
    )
    assert first.created_at == START
    unknown = next(i for i in everything if i.id == "f4")
    assert (unknown.account_id, unknown.account_name, unknown.arr) == (None, None, None)


async def test_totals_count_each_account_once(seeded: Database) -> None:
    async with seeded.read() as conn:
        everything = await reports.totals(conn, START, END)
        reporting = await reports.totals(conn, START, END, area_id="ar-rep")
        identity = await reports.totals(conn, START, END, area_id="ar-id")
        before = await reports.totals(conn, START - timedelta(days=1), START, area_id="ar-rep")
        empty = await reports.totals(conn, END + HOUR, END + 2 * HOUR)

    assert everything == reports.Totals(8, 4, Decimal("1730000"), 1)
    assert reporting == reports.Totals(6, 4, Decimal("1730000"), 1)
    assert identity == reports.Totals(3, 3, Decimal("530000"), 0)
    assert before == reports.Totals(1, 1, Decimal("450000"), 0)
    assert empty == reports.Totals()


async def test_accounts_asking_are_ranked_by_arr(seeded: Database) -> None:
    async with seeded.read() as conn:
        top = await reports.accounts_asking(conn, START, END, limit=3)
        identity = await reports.accounts_asking(conn, START, END, area_id="ar-id")

    assert [(a.name, a.arr, a.feedback) for a in top] == [
        ("Acme Corp", Decimal("1200000"), 2),
        ("Globex", Decimal("450000"), 2),
        ("Initech", Decimal("80000"), 1),
    ]
    assert [(a.name, a.feedback) for a in identity] == [
        ("Globex", 1),
        ("Initech", 1),
        ("Hooli", 1),
    ]


async def test_requests_asked_by_count_and_by_arr_of_distinct_accounts(seeded: Database) -> None:
    async with seeded.read() as conn:
        by_count = await reports.requests_asked(conn, START, END)
        by_arr = await reports.requests_asked(conn, START, END, by="arr")
        top_two = await reports.requests_asked(conn, START, END, by="arr", limit=2)
        reporting = await reports.requests_asked(conn, START, END, area_id="ar-rep")

    assert [(a.request_id, a.feedback, a.accounts, a.arr) for a in by_count] == [
        ("pdf", 4, 2, Decimal("1650000")),
        ("alerts", 2, 2, Decimal("80000")),
        ("okta", 1, 1, Decimal("450000")),
        ("csv", 1, 1, Decimal("0")),
    ]
    # csv's only asker has no ARR: it is not ranked by ARR at all
    assert [(a.request_id, a.arr) for a in by_arr] == [
        ("pdf", Decimal("1650000")),
        ("okta", Decimal("450000")),
        ("alerts", Decimal("80000")),
    ]
    assert [a.request_id for a in top_two] == ["pdf", "okta"]
    assert [(a.request_id, a.feedback) for a in reporting] == [("pdf", 4), ("alerts", 2)]
    assert by_count[0].slug == "export-to-pdf" and by_count[0].status == "open"


async def test_new_and_shipped_requests_in_a_period(seeded: Database) -> None:
    async with seeded.transaction() as conn:
        await requests_db.set_status(conn, "pdf", "shipped", now=END - 2 * HOUR)
        await requests_db.set_status(conn, "old", "shipped", now=START - HOUR)
        await requests_db.set_status(conn, "okta", "shipped", now=END - HOUR)
        await requests_db.set_status(conn, "okta", "open", now=END - HOUR)  # reopened
    async with seeded.read() as conn:
        new = await reports.created_in(conn, START, END)
        shipped = await reports.shipped_in(conn, START, END)

    assert [(r.id, r.areas) for r in new] == [
        ("okta", ("Identity",)),
        ("alerts", ("Identity", "Reporting")),
    ]
    assert [(r.id, r.status, r.shipped_at) for r in shipped] == [("pdf", "shipped", END - 2 * HOUR)]


async def test_first_permalinks_name_where_a_request_was_first_asked(seeded: Database) -> None:
    async with seeded.read() as conn:
        links = await reports.first_permalinks(conn, ["pdf", "alerts"])
        none = await reports.first_permalinks(conn, [])

    assert links == {"pdf": "p0"}
    assert none == {}


async def test_an_insights_report_is_stored_once_per_area_and_period(seeded: Database) -> None:
    async with seeded.transaction() as conn:
        first = await reports.store_insights(
            conn, area_id="ar-rep", period_start=START, period_end=END, body={"feedback": 6}
        )
    async with seeded.transaction() as conn:
        again = await reports.store_insights(
            conn, area_id="ar-rep", period_start=START, period_end=END, body={"feedback": 99}
        )
        other = await reports.store_insights(
            conn, area_id="ar-id", period_start=START, period_end=END, body={"feedback": 3}
        )
    async with seeded.read() as conn:
        found = await reports.insights_for(conn, "ar-rep", END)
        missing = await reports.insights_for(conn, "ar-rep", END + HOUR)

    assert again == first and found == first
    assert first.body == {"feedback": 6}
    assert (first.period_start, first.period_end) == (START, END)
    assert other.id != first.id and other.body == {"feedback": 3}
    assert missing is None


async def test_periods_must_be_aware_and_not_empty(seeded: Database) -> None:
    async with seeded.read() as conn:
        with pytest.raises(ValueError, match="naive"):
            await reports.totals(conn, START.replace(tzinfo=None), END)
        with pytest.raises(ValueError, match="empty period"):
            await reports.feedback_in(conn, END, END)
        with pytest.raises(ValueError, match="empty period"):
            await reports.created_in(conn, END, START)
