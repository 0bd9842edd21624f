"""``feedback-bot export``: requests with their feedback, accounts and ARR, as CSV and JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main
from feedback import export
from feedback import requests as requests_db
from feedback.database import Database
from feedback.schema import accounts, areas, feedback_items, users

AT = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)


async def _item(
    db: Database, item_id: str, request_id: str | None, account_id: str | None, **values: str
) -> None:
    row = {
        "id": item_id,
        "request_id": request_id,
        "account_id": account_id,
        "quote": f"quote {item_id}",
        "pain": "",
        "summary": f"summary {item_id}",
        "severity": "medium",
        "source": "reaction",
        "submitter_id": "u-sam",
        "status": "filed",
        "permalink": f"https://slack.example/{item_id}",
        "created_at": AT,
        "filed_at": AT + timedelta(minutes=int(item_id[1:])),
        "updated_at": AT,
    }
    async with db.transaction() as conn:
        await conn.execute(feedback_items.insert().values(**(row | values)))


@pytest.fixture
async def backlog(domain_db: Database) -> Database:
    """Acme ($1.2M) and Globex ($450k) ask for PDF export; Globex for Okta; CSV has none."""
    async with domain_db.transaction() as conn:
        await conn.execute(users.insert().values(id="u-sam", name="Sam Seller", created_at=AT))
        for account_id, name, arr in (
            ("acc-acme", "Acme Corp", "1200000"),
            ("acc-globex", "Globex", "450000.50"),
        ):
            await conn.execute(
                accounts.insert().values(
                    id=account_id, name=name, arr=Decimal(arr), created_at=AT, updated_at=AT
                )
            )
        await conn.execute(areas.insert().values(id="ar-rep", name="Reporting", slug="reporting"))
        await conn.execute(areas.insert().values(id="ar-id", name="Identity", slug="identity"))
        for request_id, title, area_ids, created in (
            ("csv", "CSV import", [], AT - timedelta(days=3)),
            ("okta", "SSO with Okta", ["ar-id"], AT - timedelta(days=2)),
            ("pdf", "Export to PDF", ["ar-rep", "ar-id"], AT - timedelta(days=1)),
        ):
            await requests_db.create(
                conn,
                request_id=request_id,
                title=title,
                description=f"about {title}",
                creator_id=None,
                area_ids=area_ids,
                now=created,
            )
    await _item(domain_db, "f1", "pdf", "acc-acme", severity="high")
    await _item(domain_db, "f2", "pdf", "acc-globex", quote='=HYPERLINK("x")')
    await _item(domain_db, "f3", "pdf", "acc-acme")
    await _item(domain_db, "f4", "okta", "acc-globex")
    await _item(domain_db, "f5", "okta", None)
    # not filed: left out
    await _item(domain_db, "f6", None, "acc-acme", status="pending")
    await _item(domain_db, "f7", "csv", "acc-acme", status="discarded")
    return domain_db


async def test_requests_come_most_demanded_first_with_their_feedback(backlog: Database) -> None:
    async with backlog.read() as conn:
        found = await export.load(conn)

    assert [(r.id, r.accounts, r.arr, len(r.feedback)) for r in found] == [
        ("pdf", ("Acme Corp", "Globex"), Decimal("1650000.50"), 3),
        ("okta", ("Globex",), Decimal("450000.50"), 2),
        ("csv", (), Decimal(0), 0),
    ]
    pdf = found[0]
    assert pdf.areas == ("Identity", "Reporting")
    assert [(f.id, f.account, f.account_arr, f.submitter) for f in pdf.feedback] == [
        ("f1", "Acme Corp", Decimal("1200000"), "Sam Seller"),
        ("f2", "Globex", Decimal("450000.50"), "Sam Seller"),
        ("f3", "Acme Corp", Decimal("1200000"), "Sam Seller"),
    ]


async def test_json_nests_feedback_under_each_request(backlog: Database) -> None:
    async with backlog.read() as conn:
        found = await export.load(conn)
    out = io.StringIO()

    export.write_json(found, out)

    doc = json.loads(out.getvalue())
    pdf, okta, empty = doc["requests"]
    assert {
        k: pdf[k] for k in ("slug", "status", "areas", "feedback_count", "accounts", "arr")
    } == {
        "slug": "export-to-pdf",
        "status": "open",
        "areas": ["Identity", "Reporting"],
        "feedback_count": 3,
        "accounts": ["Acme Corp", "Globex"],
        "arr": 1650000.5,
    }
    assert pdf["feedback"][0] | {"filed_at": None} == {
        "id": "f1",
        "summary": "summary f1",
        "quote": "quote f1",
        "severity": "high",
        "source": "reaction",
        "submitter": "Sam Seller",
        "account": "Acme Corp",
        "account_arr": 1200000,
        "permalink": "https://slack.example/f1",
        "filed_at": None,
    }
    assert datetime.fromisoformat(pdf["feedback"][0]["filed_at"]) == AT + timedelta(minutes=1)
    assert okta["feedback"][1]["account"] is None
    assert (empty["feedback"], empty["arr"], empty["shipped_at"]) == ([], 0, None)


async def test_csv_has_a_row_per_feedback_item_and_defuses_formulas(backlog: Database) -> None:
    async with backlog.read() as conn:
        found = await export.load(conn)
    out = io.StringIO()

    export.write_csv(found, out)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == export.CSV_COLUMNS
    assert [(r["request_slug"], r["feedback_id"], r["account"]) for r in rows] == [
        ("export-to-pdf", "f1", "Acme Corp"),
        ("export-to-pdf", "f2", "Globex"),
        ("export-to-pdf", "f3", "Acme Corp"),
        ("sso-with-okta", "f4", "Globex"),
        ("sso-with-okta", "f5", ""),
        ("csv-import", "", ""),
    ]
    first = rows[0]
    assert (first["request_accounts"], first["request_arr"], first["request_areas"]) == (
        "Acme Corp; Globex",
        "1650000.5",
        "Identity; Reporting",
    )
    assert rows[1]["feedback_quote"] == '\'=HYPERLINK("x")'  # shown, never run
    assert rows[5]["request_feedback_count"] == "0"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_command_writes_a_file_or_stdout(
    backlog: Database,
    db_url: str,
    tmp_path: Path,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / f"backlog.{fmt}"

    assert main(["export", "--database-url", db_url, "--output", str(target)]) == 0
    assert capsys.readouterr().err == f"exported 3 requests to {target}\n"
    assert main(["export", "--database-url", db_url, "--format", fmt]) == 0

    assert capsys.readouterr().out == target.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]


def test_the_command_asks_for_db_upgrade_first(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.feedback.conftest import drop_domain_tables

    asyncio.run(drop_domain_tables(db_url))

    assert main(["export", "--database-url", db_url]) == 2
    assert "feedback-bot db upgrade" in capsys.readouterr().err
