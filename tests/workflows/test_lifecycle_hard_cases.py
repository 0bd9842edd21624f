"""Hard cases of the request lifecycle, the reports and upkeep, found by an adversarial
review: each ``# FINDING n`` says what went wrong before; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from feedback import embeddings, users
from feedback import items as items_db
from feedback import requests as requests_db
from feedback.schema import feedback_items, request_areas, request_embeddings
from tests.workflows.harness import AREA_CHANNEL, JO, PRIYA, SAM, Product
from tests.workflows.test_reports import add_feedback
from workflows.matching import REQUEST_TEXT
from workflows.reports import area_insights, insights_run_id
from workflows.requests import create_by_hand, ship
from workflows.schedule import report_schedules
from workflows.upkeep import sync_embeddings

PDF_SLUG = "export-dashboards-to-pdf"


async def _pdf_in_reporting(product: Product) -> str:
    """Put the PDF request in the Reporting area (it has a channel); returns its id."""
    pdf = product.backlog["pdf"]
    async with product.deps.db.transaction() as conn:
        await conn.execute(request_areas.insert().values(request_id=pdf, area_id="area-reporting"))
    return pdf


async def _sam(product: Product) -> None:
    """The submitter ``add_feedback`` files as (``u-sam``)."""
    async with product.deps.db.transaction() as conn:
        await users.ensure(conn, user_id="u-sam", slack_id=SAM, name="Sam Seller")


async def _insights(product: Product, end: datetime) -> int:
    """Run area-insights for the tick ending at ``end``; Reporting's new feedback count."""
    handle = await product.engine.start(area_insights, end, run_id=insights_run_id(end))
    result = await handle.result(timeout=60)
    return int(result["areas"]["reporting"]["feedback"])


# FINDING 1: a request shipped once can never be shipped again. The run id is
# `mark-shipped:<request id>` (workflows/requests.py:256), so after the request is set
# back to open/planned (v2 of the feature, a revert), `/feedback ship` answers
# "Marking ... shipped." but returns the old, finished run: the status stays open and
# nobody (not even a new follower) is told. The outbox keys
# `shipped:<request>:<user>` (requests.py:202) would also swallow the second DM.
async def test_a_request_reopened_and_shipped_again_is_shipped_and_announced(
    product: Product,
) -> None:
    pdf = product.backlog["pdf"]
    await product.person(PRIYA, product_team=True)
    sam = await product.person(SAM)
    async with product.deps.db.transaction() as conn:
        await requests_db.follow(conn, pdf, sam)
    first = await ship(product.engine, product.deps.db, request=PDF_SLUG, slack_user=PRIYA)
    await product.engine.handle(first.run_id or "").result(timeout=30)
    assert product.dm_texts(SAM) == ["Shipped: Export dashboards to PDF"]

    # it was rolled back (planned again), Jo starts following, and it ships again
    jo = await product.person(JO)
    async with product.deps.db.transaction() as conn:
        await requests_db.set_status(conn, pdf, "planned")
        await requests_db.follow(conn, pdf, jo)
    second = await ship(product.engine, product.deps.db, request=PDF_SLUG, slack_user=PRIYA)
    assert second.status == "started"
    await product.engine.handle(second.run_id or "").result(timeout=30)

    assert (await product.request(pdf)).status == "shipped"
    assert product.dm_texts(JO) == ["Shipped: Export dashboards to PDF"]


# FINDING 2: feedback that waits on an approval question across a report tick is in no
# report. The reports count an item by `feedback.created_at` but only once it is
# `status = 'filed'` (feedback/reports.py:195-207). An ask created at 07:00, answered
# (filed) at 10:00, is still pending at the 08:00 tick, and the next day's period
# starts after its created_at: the insights (and, across a Monday, the weekly digest)
# never count it. Approvals wait up to APPROVAL_TIMEOUT (days), so this is common.
async def test_feedback_filed_after_the_tick_is_counted_in_some_report(
    product: Product,
) -> None:
    pdf = await _pdf_in_reporting(product)
    await _sam(product)
    monday = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 EST
    async with product.deps.db.transaction() as conn:
        await add_feedback(conn, "waits", pdf, "acc-acme", monday - timedelta(hours=1), "PDF")
        await conn.execute(  # not filed yet: its approval question waits for an answer
            feedback_items.update()
            .where(feedback_items.c.id == "waits")
            .values(status="pending", request_id=None)
        )

    counted = await _insights(product, monday)
    async with product.deps.db.transaction() as conn:  # answered at 10:00: filed under PDF
        await items_db.link(conn, "waits", pdf, actor="u-sam", reason="approved")
        await conn.execute(  # as if linked then (the clock of the test is today)
            feedback_items.update()
            .where(feedback_items.c.id == "waits")
            .values(filed_at=monday + timedelta(hours=2))
        )
    counted += await _insights(product, monday + timedelta(days=1))

    assert counted == 1, "the approved ask appears in neither day's insights"


# FINDING 3: across a daylight-saving change the insights periods are 24 h
# (workflows/reports.py:194, `start = period_end - DAY`) while consecutive 08:00 ticks
# are 25 h (fall back) or 23 h (spring forward) apart: feedback in one hour of the
# year is in no report, and one hour is reported twice (same for the digest's 7 x 24 h
# against 167/169 h weeks, reports.py:216). The period should start at the previous
# tick (Schedule.latest_tick(period_end - 1 s)).
async def test_consecutive_insights_across_fall_back_count_every_item_once(
    product: Product,
) -> None:
    pdf = await _pdf_in_reporting(product)
    await _sam(product)
    insights, _ = report_schedules(product.deps.settings)
    saturday = insights.latest_tick(datetime(2026, 10, 31, 18, tzinfo=UTC))  # 08:00 EDT
    sunday = insights.next_tick(saturday)  # 08:00 EST, 25 h later
    assert sunday - saturday == timedelta(hours=25)
    async with product.deps.db.transaction() as conn:  # Saturday 08:30 New York
        await add_feedback(conn, "fall", pdf, "acc-acme", saturday + timedelta(minutes=30), "PDF")

    counted = await _insights(product, saturday) + await _insights(product, sunday)

    assert counted == 1, f"Saturday 08:30 feedback reported {counted} times"


async def test_consecutive_insights_across_spring_forward_count_every_item_once(
    product: Product,
) -> None:
    pdf = await _pdf_in_reporting(product)
    await _sam(product)
    insights, _ = report_schedules(product.deps.settings)
    saturday = insights.latest_tick(datetime(2027, 3, 13, 18, tzinfo=UTC))  # 08:00 EST
    sunday = insights.next_tick(saturday)  # 08:00 EDT, 23 h later
    assert sunday - saturday == timedelta(hours=23)
    async with product.deps.db.transaction() as conn:  # Saturday 07:30 New York
        await add_feedback(conn, "spring", pdf, "acc-acme", saturday - timedelta(minutes=30), "PDF")

    counted = await _insights(product, saturday) + await _insights(product, sunday)

    assert counted == 1, f"Saturday 07:30 feedback reported {counted} times"


# FINDING 4: sync-embeddings only upserts (workflows/upkeep.py:87-96); it never drops
# the stored texts of feedback no longer filed under a request. `forget_text` only
# deletes the *configured* embedder's row, so feedback moved (or unlinked) while
# another embedder was configured keeps its old vector under the old request once you
# switch back and re-sync: it keeps pulling matches and searches toward the wrong
# request.
async def test_sync_embeddings_drops_texts_of_feedback_no_longer_filed(product: Product) -> None:
    pdf, okta = product.backlog["pdf"], product.backlog["okta"]
    await _sam(product)
    async with product.deps.db.transaction() as conn:
        await add_feedback(conn, "moved", okta, "acc-acme", datetime.now(UTC), "Okta SSO please")
    # what this embedder stored when "moved" was still filed under PDF (it was moved to
    # Okta while another embedder was configured)
    vector = (await product.deps.embedder.embed(["Okta SSO please"]))[0]
    async with product.deps.db.transaction() as conn:
        await embeddings.save(
            conn,
            request_id=pdf,
            embedder=product.deps.embedder.name,
            text_id="moved",
            text="Okta SSO please",
            vector=vector,
        )

    await (await product.engine.start(sync_embeddings, run_id="sync-embeddings:x")).result(
        timeout=60
    )

    async with product.deps.db.read() as conn:
        rows = await conn.execute(
            select(request_embeddings.c.request_id, request_embeddings.c.text_id).where(
                request_embeddings.c.embedder == product.deps.embedder.name
            )
        )
        stored = {(r, t) for r, t in rows}
    assert stored == {(r, REQUEST_TEXT) for r in product.backlog.values()} | {(okta, "moved")}


# FINDING 5: new-request drafts no product area (the issue: "draft title, description
# and product area"). A request made by hand without an area (create_by_hand,
# workflows/requests.py:263-290; new_request, requests.py:54-61) is never announced and
# never counted in any area's insights, although the offline fallback
# (agents.llm.draft) would pick Reporting for it.
async def test_a_request_made_by_hand_without_an_area_gets_one_and_is_announced(
    lifecycle_product: Product,
) -> None:
    product = lifecycle_product
    creator = await product.person(PRIYA)

    handle = await create_by_hand(
        product.engine,
        product.deps.db,
        request_id="req-hand",
        title="Scheduled dashboard e-mails",
        description="E-mail a dashboard report to the team every Monday.",
        creator_id=creator,
    )
    await handle.result(timeout=30)

    assert (await product.request("req-hand")).area_ids == ("area-reporting",)
    assert len(product.sim.messages(AREA_CHANNEL)) == 1
