"""The reports end to end on both databases, and their Block Kit without Slack.

The seeded feedback is inserted with chosen ``created_at`` times around one period end
(Monday 3 March 2025, 08:00 EST for insights and 09:00 EST for the digest), so every
count, ARR sum and trend below is known exactly.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from agents import Embedder
from bot.simulator import SlackSimulator
from bot.simulator.blocks import block_problems
from feedback import requests as requests_db
from feedback import users
from feedback.migrate import upgrade
from feedback.schema import accounts, areas, feedback_items, insights_reports, request_areas
from feedback.settings import Settings
from tests.workflows.harness import (
    ACME_CHANNEL,
    AREA_CHANNEL,
    DANA,
    SAM,
    TEAM,
    Product,
    seed_domain,
    seed_slack,
)
from workflows.deps import open_deps, use_deps
from workflows.engine import Engine
from workflows.report_messages import DigestReport, InsightsReport, digest_post, insights_post, when
from workflows.reports import (
    ReportsFailed,
    area_insights,
    digest_run_id,
    insights_run_id,
    weekly_digest,
)

INSIGHTS_END = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York
DIGEST_END = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
H = timedelta(hours=1)
D = timedelta(days=1)
IDENTITY_CHANNEL, BILLING_CHANNEL, DIGEST_CHANNEL = "C0IDENTITY", "C0BILLING", "C0DIGEST"
PDF, OKTA, ALERTS = "export-dashboards-to-pdf", "sso-with-okta", "alerts-in-slack"


# --- seeding --------------------------------------------------------------------------


async def add_feedback(
    conn: AsyncConnection,
    item_id: str,
    request_id: str,
    account_id: str | None,
    at: datetime,
    summary: str,
    *,
    severity: str = "medium",
    permalink: str | None = None,
) -> None:
    await conn.execute(
        feedback_items.insert().values(
            id=item_id,
            request_id=request_id,
            account_id=account_id,
            quote=f"{summary} <@U0EVIL>",
            pain="",
            summary=summary,
            severity=severity,
            source="api",
            submitter_id="u-sam",
            status="filed",
            permalink=permalink,
            created_at=at,
            filed_at=at,
            updated_at=at,
        )
    )


async def seed_areas_and_people(product: Product) -> None:
    """Initech joins Acme and Globex; Identity (own channel), Integrations (no channel)
    and Billing (quiet) join Reporting. PDF is Reporting's, Okta Identity's, Alerts both
    Reporting's and Integrations'."""
    product.sim.add_channel(IDENTITY_CHANNEL, "product-identity")
    product.sim.add_channel(BILLING_CHANNEL, "product-billing")
    async with product.deps.db.transaction() as conn:
        await users.ensure(conn, user_id="u-sam", slack_id=SAM, name="Sam Seller")
        await conn.execute(
            accounts.insert().values(
                id="acc-initech",
                name="Initech",
                arr=Decimal("80000"),
                created_at=INSIGHTS_END,
                updated_at=INSIGHTS_END,
            )
        )
        for area_id, name, channel in (
            ("area-identity", "Identity", IDENTITY_CHANNEL),
            ("area-integrations", "Integrations", None),
            ("area-billing", "Billing", BILLING_CHANNEL),
        ):
            await conn.execute(
                areas.insert().values(id=area_id, name=name, slug=name.lower(), channel_id=channel)
            )
        for request, area in (
            ("pdf", "area-reporting"),
            ("okta", "area-identity"),
            ("alerts", "area-reporting"),
            ("alerts", "area-integrations"),
        ):
            await conn.execute(
                request_areas.insert().values(request_id=product.backlog[request], area_id=area)
            )


async def seed_insights(product: Product) -> str:
    """A day of feedback and the day before it; returns the permalink of Acme's ask."""
    await seed_areas_and_people(product)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, "We need PDF export for the board")
    permalink = product.sim.permalink(ACME_CHANNEL, ts)
    pdf, okta, alerts = (product.backlog[k] for k in ("pdf", "okta", "alerts"))
    end = INSIGHTS_END
    async with product.deps.db.transaction() as conn:
        # the day to INSIGHTS_END: Reporting 5 (PDF 4, Alerts 1), Identity 2, Integrations 1
        await add_feedback(
            conn,
            "i1",
            pdf,
            "acc-acme",
            end - H,
            "Export dashboards to PDF for board meetings",
            severity="high",
            permalink=permalink,
        )
        await add_feedback(conn, "i2", pdf, "acc-globex", end - 5 * H, "Download dashboards as PDF")
        await add_feedback(
            conn, "i3", pdf, "acc-acme", end - 23 * H, "PDF export of dashboards", severity="low"
        )
        await add_feedback(conn, "i4", pdf, None, end - 2 * H, "Dashboards should export to PDF")
        await add_feedback(
            conn, "i5", alerts, "acc-initech", end - 3 * H, "Threshold alerts in a Slack channel"
        )
        await add_feedback(
            conn, "i6", okta, "acc-globex", end - 4 * H, "Sign in with Okta", severity="high"
        )
        await add_feedback(conn, "i7", okta, "acc-initech", end - 6 * H, "Okta SAML single sign-on")
        # the day before: Reporting 3 (PDF 1, Alerts 2), Integrations 2
        await add_feedback(conn, "p1", pdf, "acc-globex", end - 25 * H, "PDF of a dashboard")
        await add_feedback(conn, "p2", alerts, "acc-initech", end - 26 * H, "Alerts to Slack")
        await add_feedback(conn, "p3", alerts, "acc-acme", end - 30 * H, "Slack alerts")
        # in neither period: at the end (the next day's), and before the day before
        await add_feedback(conn, "x1", pdf, "acc-acme", end, "PDF export")
        await add_feedback(conn, "x2", pdf, "acc-acme", end - 2 * D - H, "PDF export")
    return permalink


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def bot_messages(product: Product, channel: str) -> list[dict[str, Any]]:
    return [m for m in product.sim.messages(channel) if m["user"] == product.sim.bot_user_id]


async def stored_reports(product: Product) -> dict[str, dict[str, Any]]:
    async with product.deps.db.read() as conn:
        rows = await conn.execute(
            select(insights_reports.c.area_id, insights_reports.c.body).where(
                insights_reports.c.period_end == INSIGHTS_END
            )
        )
        return {row.area_id: row.body for row in rows}


# --- area-insights --------------------------------------------------------------------


async def test_insights_count_trend_and_accounts_per_area_and_post_once(product: Product) -> None:
    permalink = await seed_insights(product)

    handle = await product.engine.start(
        area_insights, INSIGHTS_END, run_id=insights_run_id(INSIGHTS_END)
    )
    result = await handle.result(timeout=60)

    assert handle.run_id == "area-insights:2025-03-03T13:00:00+00:00"
    assert (result["period_start"], result["period_end"], result["posted"]) == (
        "2025-03-02T13:00:00+00:00",
        "2025-03-03T13:00:00+00:00",
        2,
    )
    reporting = result["areas"]["reporting"]
    themes = reporting.pop("themes")
    assert reporting == {
        "feedback": 5,
        "previous": 3,
        "accounts": 3,
        "arr": "1730000.00",
        "unknown_account": 1,
        "requests": {PDF: [4, 1], ALERTS: [1, 2]},
        "trending_up": [PDF],
        "top_accounts": ["Acme Corp", "Globex", "Initech"],
        "posted_to": AREA_CHANNEL,
    }
    assert themes == [4]  # the four PDF asks are alike (the offline model is deterministic)
    identity = result["areas"]["identity"]
    assert (identity["feedback"], identity["previous"], identity["accounts"]) == (2, 0, 2)
    assert (identity["arr"], identity["trending_up"]) == ("530000.00", [OKTA])
    assert identity["top_accounts"] == ["Globex", "Initech"]
    assert identity["posted_to"] == IDENTITY_CHANNEL
    integrations = result["areas"]["integrations"]
    assert (integrations["feedback"], integrations["previous"], integrations["arr"]) == (
        1,
        2,
        "80000.00",
    )
    assert integrations["trending_up"] == [] and integrations["posted_to"] is None
    billing = result["areas"]["billing"]
    assert (billing["feedback"], billing["previous"], billing["posted_to"]) == (0, 0, None)

    # every area's report is stored, quiet and channel-less ones too
    stored = await stored_reports(product)
    assert sorted(stored) == [
        "area-billing",
        "area-identity",
        "area-integrations",
        "area-reporting",
    ]
    body = stored["area-reporting"]
    assert [q["feedback_id"] for q in body["quotes"]] == ["i1", "i2", "i5"]
    assert body["quotes"][0]["permalink"] == permalink
    assert body["themes"][0]["requests"] == [PDF]
    assert body["top_accounts"][0] == {
        "account_id": "acc-acme",
        "name": "Acme Corp",
        "arr": "1200000.00",
        "feedback": 2,
    }
    assert stored["area-billing"]["feedback"] == 0

    # posted where there is a channel and something to say
    [post] = bot_messages(product, AREA_CHANNEL)
    assert post["text"] == "Reporting: 5 new feedback (Up from 3 the day before)"
    said = "\n".join(section_texts(post["blocks"]))
    assert "*5 new feedback* from 3 customers ($1.7M ARR) (1 from an unknown account)" in said
    assert "in the 24 hours to Mon Mar 3, 08:00 EST" in said
    assert f"`{PDF}`: 4 ↑ (the day before: 1)" in said
    assert f"`{ALERTS}`: 1 (the day before: 2)" in said
    assert permalink in said and "<@U0EVIL>" not in said and "&lt;@U0EVIL&gt;" in said
    assert len(bot_messages(product, IDENTITY_CHANNEL)) == 1
    assert bot_messages(product, BILLING_CHANNEL) == []


async def test_a_tick_runs_once_and_a_second_run_posts_nothing_new(product: Product) -> None:
    await seed_insights(product)
    run_id = insights_run_id(INSIGHTS_END.astimezone(ZoneInfo("America/New_York")))
    first = await (await product.engine.start(area_insights, INSIGHTS_END, run_id=run_id)).result(
        timeout=60
    )
    posts = len(product.sim.calls("chat.postMessage"))
    # late feedback for the same day does not change the stored, posted report
    async with product.deps.db.transaction() as conn:
        await add_feedback(conn, "late", product.backlog["pdf"], "acc-acme", INSIGHTS_END - H, "x")

    again = await (await product.engine.start(area_insights, INSIGHTS_END, run_id=run_id)).result(
        timeout=60
    )
    manual = await (
        await product.engine.start(area_insights, INSIGHTS_END, run_id="manual-insights")
    ).result(timeout=60)

    assert run_id == insights_run_id(INSIGHTS_END)  # the same tick, whatever the zone
    assert again == first
    assert manual == first
    assert len(product.sim.calls("chat.postMessage")) == posts == 2
    assert len(await stored_reports(product)) == 4


async def test_an_area_that_fails_stops_no_other_and_a_retry_posts_it_once(
    product: Product,
) -> None:
    await seed_insights(product)
    product.sim.add_channel("C0LOCKED", "identity-private", bot_is_member=False)
    async with product.deps.db.transaction() as conn:
        await conn.execute(
            areas.update().where(areas.c.id == "area-identity").values(channel_id="C0LOCKED")
        )
    run_id = insights_run_id(INSIGHTS_END)

    with pytest.raises(ReportsFailed, match=r"identity: .*not_in_channel"):
        await (await product.engine.start(area_insights, INSIGHTS_END, run_id=run_id)).result(
            timeout=60
        )

    assert len(bot_messages(product, AREA_CHANNEL)) == 1  # the others were posted
    assert "area-identity" in await stored_reports(product)
    product.sim.workspace.channel("C0LOCKED").members.add(product.sim.bot_user_id)
    result = await (await product.engine.retry(run_id)).result(timeout=60)

    assert result["areas"]["identity"]["posted_to"] == "C0LOCKED"
    assert len(bot_messages(product, "C0LOCKED")) == 1
    assert len(bot_messages(product, AREA_CHANNEL)) == 1  # finished areas are not redone


# --- weekly-digest --------------------------------------------------------------------


async def seed_digest(product: Product) -> str:
    """A week of requests and feedback; returns the permalink of the Sheets request's
    first ask."""
    await seed_areas_and_people(product)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, "Could dashboards sync to Sheets?")
    permalink = product.sim.permalink(ACME_CHANNEL, ts)
    end = DIGEST_END
    pdf, okta = product.backlog["pdf"], product.backlog["okta"]
    async with product.deps.db.transaction() as conn:
        for request_id, title, area_ids, created in (
            ("req-sheets", "Sync dashboards to Google Sheets", ["area-reporting"], end - 2 * D),
            ("req-audit", "Audit log export", [], end - 6 * D),
            ("req-scim", "SCIM provisioning", ["area-identity"], end - 30 * D),
            ("req-gone", "Old thing", [], end - 40 * D),
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
        await requests_db.set_status(conn, "req-scim", "shipped", now=end - D)
        await requests_db.set_status(conn, "req-gone", "shipped", now=end - 8 * D)
        # the week: PDF 3 (Acme twice, Globex), Okta 2 (Initech, Globex), Sheets 2 (?, Initech)
        await add_feedback(conn, "d1", pdf, "acc-acme", end - D, "PDF")
        await add_feedback(conn, "d2", pdf, "acc-acme", end - 2 * D, "PDF")
        await add_feedback(conn, "d3", pdf, "acc-globex", end - 3 * D, "PDF")
        await add_feedback(conn, "d4", okta, "acc-initech", end - H, "Okta")
        await add_feedback(conn, "d5", okta, "acc-globex", end - 4 * D, "Okta")
        await add_feedback(
            conn, "d6", "req-sheets", None, end - D - H, "Sheets", permalink=permalink
        )
        await add_feedback(conn, "d7", "req-sheets", "acc-initech", end - D, "Sheets")
        # outside the week
        await add_feedback(conn, "d8", pdf, "acc-acme", end - 8 * D, "PDF")
        await add_feedback(conn, "d9", "req-scim", "acc-acme", end - 20 * D, "SCIM")
        await add_feedback(conn, "d10", pdf, "acc-globex", end, "PDF")
    return permalink


EXPECTED_DIGEST = {
    "period_start": "2025-02-24T14:00:00+00:00",
    "period_end": "2025-03-03T14:00:00+00:00",
    "feedback": 7,
    "accounts": 3,
    "arr": "1730000.00",
    "unknown_account": 1,
    "new_requests": 2,
    "new": ["audit-log-export", "sync-dashboards-to-google-sheets"],
    "shipped": 1,
    "shipped_slugs": ["scim-provisioning"],
    "by_count": [
        {"slug": PDF, "feedback": 3, "accounts": 2, "arr": "1650000.00"},
        {"slug": OKTA, "feedback": 2, "accounts": 2, "arr": "530000.00"},
        {
            "slug": "sync-dashboards-to-google-sheets",
            "feedback": 2,
            "accounts": 1,
            "arr": "80000.00",
        },
    ],
    "by_arr": [
        {"slug": PDF, "feedback": 3, "accounts": 2, "arr": "1650000.00"},
        {"slug": OKTA, "feedback": 2, "accounts": 2, "arr": "530000.00"},
        {
            "slug": "sync-dashboards-to-google-sheets",
            "feedback": 2,
            "accounts": 1,
            "arr": "80000.00",
        },
    ],
}


async def test_the_digest_is_computed_without_a_digest_channel(product: Product) -> None:
    await seed_digest(product)

    handle = await product.engine.start(weekly_digest, DIGEST_END, run_id=digest_run_id(DIGEST_END))
    result = await handle.result(timeout=60)

    assert handle.run_id == "weekly-digest:2025-03-03T14:00:00+00:00"
    assert result == {**EXPECTED_DIGEST, "posted_to": None}
    assert product.sim.calls("chat.postMessage") == []


@pytest.fixture
async def digest_product(db_url: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    """The product with ``DIGEST_CHANNEL`` set (the ``product`` fixture leaves it unset)."""
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        sim.add_channel(DIGEST_CHANNEL, "product-digest")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            slack_api_url=sim.api_url,
            slack_bot_token=sim.token,  # type: ignore[arg-type]
            digest_channel=DIGEST_CHANNEL,
        )
        async with open_deps(settings, embedder=local_embedder) as deps:
            backlog, known = await seed_domain(deps)
            async with Engine(db_url, idle_window=0.2, poll_interval=0.2) as engine:
                with use_deps(deps):
                    async with engine.worker(concurrency=8):
                        yield Product(engine, deps, sim, backlog, known)


async def test_the_digest_is_posted_once_to_the_digest_channel(digest_product: Product) -> None:
    product = digest_product
    permalink = await seed_digest(product)

    run_id = digest_run_id(DIGEST_END)
    result = await (await product.engine.start(weekly_digest, DIGEST_END, run_id=run_id)).result(
        timeout=60
    )
    again = await (
        await product.engine.start(weekly_digest, DIGEST_END, run_id="manual-digest")
    ).result(timeout=60)

    assert result == {**EXPECTED_DIGEST, "posted_to": DIGEST_CHANNEL}
    assert again == result
    [post] = bot_messages(product, DIGEST_CHANNEL)
    assert post["text"] == "Weekly feedback digest: 2 new requests, 1 shipped, 7 feedback"
    texts = section_texts(post["blocks"])
    assert texts[0] == "This week: 2 new request(s), 1 shipped, 3 trending."
    assert texts[1] == (
        "*7 feedback* from 3 customers ($1.7M ARR) in the 7 days to Mon Mar 3, 09:00 EST"
        " · *2 new requests* · *1 shipped*"
    )
    new, by_count, by_arr, shipped = texts[2:]
    assert new.splitlines() == [
        "*New requests*",
        "• *Audit log export* `audit-log-export` · 0 feedback",
        "• *Sync dashboards to Google Sheets* `sync-dashboards-to-google-sheets` · Reporting"
        f" · 2 feedback from 1 customer ($80K ARR) · <{permalink}|first ask>",
    ]
    assert by_count.splitlines()[1] == (
        f"1. *Export dashboards to PDF* `{PDF}` · Reporting · 3 feedback from 2 customers"
        " ($1.7M ARR)"
    )
    assert by_arr.splitlines()[0] == "*Most ARR asking this week*"
    assert shipped.splitlines() == [
        "*Shipped*",
        "• *SCIM provisioning* `scim-provisioning` · Identity · 1 feedback from 1 customer"
        " ($1.2M ARR)",
    ]


# --- the posts, without Slack ---------------------------------------------------------


def insights_report(**changes: Any) -> InsightsReport:
    report: InsightsReport = {
        "area": "Reporting & <Exports>",
        "area_slug": "reporting",
        "period_start": "2025-03-09T12:00:00+00:00",
        "period_end": "2025-03-10T12:00:00+00:00",
        "timezone": "America/New_York",
        "feedback": 14,
        "previous": 20,
        "accounts": 2,
        "arr": "1650000.00",
        "unknown_account": 0,
        "high_severity": 0,
        "requests": [
            {
                "request_id": f"r{n}",
                "slug": f"request-{n}",
                "title": "A very long title " * 12 if n == 0 else f"Request {n}",
                "feedback": 12 - n,
                "previous": 3,
            }
            for n in range(12)
        ],
        "top_accounts": [
            {"account_id": "a1", "name": "Acme <Corp>", "arr": "1200000.00", "feedback": 9},
        ],
        "themes": [{"name": "PDF <export> & more", "mentions": 4, "requests": ["request-0"]}],
        "quotes": [
            {
                "feedback_id": f"f{n}",
                "quote": "<!channel> please\n\nadd *this* " + "x" * 400,
                "account": None,
                "severity": "high",
                "request_title": "Request 0",
                "request_slug": "request-0",
                "permalink": None,
            }
            for n in range(5)
        ],
    }
    return {**report, **changes}  # type: ignore[typeddict-item]


def digest_report(**changes: Any) -> DigestReport:
    line = {
        "request_id": "r1",
        "slug": "r-1",
        "title": "Export <to> PDF",
        "areas": ["Reporting"],
        "feedback": 3,
        "accounts": 0,
        "arr": "0.00",
        "permalink": None,
    }
    report: DigestReport = {
        "period_start": "2025-03-03T14:00:00+00:00",
        "period_end": "2025-03-10T13:00:00+00:00",
        "timezone": "America/New_York",
        "headline": "A quiet <week>",
        "headline_source": "fallback",
        "feedback": 1,
        "accounts": 0,
        "arr": "0.00",
        "unknown_account": 1,
        "new_requests": 30,
        "new": [{**line, "slug": f"r-{n}"} for n in range(25)],  # type: ignore[typeddict-item]
        "by_count": [line],  # type: ignore[list-item]
        "by_arr": [],
        "shipped_count": 0,
        "shipped": [],
    }
    return {**report, **changes}  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    "message",
    [
        insights_post(insights_report()),
        insights_post(insights_report(requests=[], top_accounts=[], themes=[], quotes=[])),
        digest_post(digest_report()),
        digest_post(digest_report(new=[], by_count=[], new_requests=0)),
    ],
    ids=["insights", "insights-bare", "digest", "digest-quiet"],
)
def test_the_posts_are_valid_block_kit_with_a_text_fallback(message: Any) -> None:
    assert message.text
    assert block_problems(message.blocks) == []
    json.dumps(message.blocks)


def test_the_insights_post_escapes_words_and_caps_its_lists() -> None:
    message = insights_post(insights_report())

    body = json.dumps(message.blocks)
    assert "<!channel>" not in body and "<Corp>" not in body and "<export>" not in body
    assert "&lt;!channel&gt;" in body and "Acme &lt;Corp&gt;" in body
    texts = section_texts(message.blocks)
    requests = next(t for t in texts if t.startswith("*Requests asked for*"))
    assert requests.splitlines()[-1] == "…and 2 more"
    assert "Request 11" not in requests and "A very long title" in requests
    assert sum(1 for t in texts if t.startswith("> &lt;!channel&gt;")) == 3  # three quotes at most
    assert (
        message.text
        == "Reporting &amp; &lt;Exports&gt;: 14 new feedback (Down from 20 the day before)"
    )
    assert message.blocks[0]["text"]["text"] == "Reporting & <Exports> · daily insights"


def test_the_digest_post_counts_everything_and_lists_ten() -> None:
    message = digest_post(digest_report())

    texts = section_texts(message.blocks)
    assert texts[0] == "A quiet &lt;week&gt;"
    new = texts[2].splitlines()
    assert new[0] == "*New requests*" and new[-1] == "…and 20 more" and len(new) == 12
    assert "Export &lt;to&gt; PDF" in new[1]
    assert texts[3].splitlines()[1] == "1. *Export &lt;to&gt; PDF* `r-1` · Reporting · 3 feedback"
    assert not any(t.startswith(("*Shipped*", "*Most ARR")) for t in texts)


def test_period_bounds_read_in_the_team_zone_across_daylight_saving() -> None:
    assert when("2025-03-08T13:00:00+00:00", "America/New_York") == "Sat Mar 8, 08:00 EST"
    assert when("2025-03-10T12:00:00+00:00", "America/New_York") == "Mon Mar 10, 08:00 EDT"
    assert when("2025-03-10T12:00:00+00:00", "Europe/Paris") == "Mon Mar 10, 13:00 CET"


def test_run_ids_name_the_tick_in_utc_and_refuse_naive_times() -> None:
    paris = INSIGHTS_END.astimezone(ZoneInfo("Europe/Paris"))

    assert insights_run_id(paris) == "area-insights:2025-03-03T13:00:00+00:00"
    assert digest_run_id(DIGEST_END) == "weekly-digest:2025-03-03T14:00:00+00:00"
    with pytest.raises(ValueError, match="naive"):
        insights_run_id(datetime(2025, 3, 3, 13))
