"""The request lifecycle end to end: new-request (related, announcement, reminder), mark-shipped."""

from __future__ import annotations

from sqlalchemy import select

from feedback import items as items_db
from feedback.schema import related_requests
from tests.workflows.harness import (
    ACME_CHANNEL,
    AREA_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    PRIYA,
    SAM,
    Product,
)
from workflows.requests import ShipAnswer, create_by_hand, ship


async def test_a_request_without_feedback_reminds_its_creator(lifecycle_product: Product) -> None:
    product = lifecycle_product
    creator = await product.person(PRIYA)

    handle = await create_by_hand(
        product.engine,
        product.deps.db,
        request_id="req-new",
        title="Export dashboards as PDF files",
        description="Download a dashboard as a PDF.",
        creator_id=creator,
        area_ids=["area-reporting"],
    )
    result = await handle.result(timeout=30)

    assert result["reminded"] is True
    assert [r["request_id"] for r in result["related"]] == [product.backlog["pdf"]]
    async with product.deps.db.read() as conn:
        links = set(
            await conn.execute(select(related_requests.c.request_id, related_requests.c.related_id))
        )
    assert links == {("req-new", product.backlog["pdf"]), (product.backlog["pdf"], "req-new")}
    [announced] = product.sim.messages(AREA_CHANNEL)
    assert announced["text"].startswith("New request in Reporting: Export dashboards as PDF files")
    assert "Related: Export dashboards to PDF" in str(announced["blocks"])
    [reminder] = product.dm_texts(PRIYA)
    assert reminder.startswith("*Export dashboards as PDF files* has no customer feedback yet")


async def test_feedback_attached_in_time_means_no_reminder(lifecycle_product: Product) -> None:
    product = lifecycle_product
    creator = await product.person(PRIYA)
    sam = await product.person(SAM)
    handle = await create_by_hand(
        product.engine,
        product.deps.db,
        request_id="req-new",
        title="Kiosk mode for warehouse tablets",
        description="Lock the screen to one view.",
        creator_id=creator,
    )
    async with product.deps.db.transaction() as conn:  # a customer asked, before the reminder
        await items_db.create(
            conn,
            [
                items_db.NewItem(
                    id="f1",
                    quote="kiosk please",
                    pain="kiosk",
                    summary="kiosk",
                    severity="low",
                    source="api",
                    submitter_id=sam,
                )
            ],
        )
        await items_db.link(conn, "f1", "req-new", actor=sam, reason="by hand")

    result = await handle.result(timeout=30)

    assert result["reminded"] is False and result["related"] == []
    assert product.dm_texts(PRIYA) == []
    assert (await product.request("req-new")).area_ids == ("area-reporting",)  # the nearest
    [announced] = product.sim.messages(AREA_CHANNEL)
    assert announced["text"] == "New request in Reporting: Kiosk mode for warehouse tablets"


async def test_a_request_drafted_from_feedback_is_announced_in_its_area(
    lifecycle_product: Product,
) -> None:
    product = lifecycle_product
    ts = product.sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    [item] = await product.items()
    outcome = await product.engine.handle(f"process:{item['id']}:0").result(timeout=30)
    assert outcome["outcome"] == "new"
    run = product.engine.handle(f"new-request:{outcome['request_id']}")
    result = await run.result(timeout=30)

    assert result["reminded"] is False  # it has its customer's feedback
    [announced] = product.sim.messages(AREA_CHANNEL)
    assert "emoji" in str(announced["blocks"]) and announced["text"].startswith("New request in")


async def _ship(product: Product, slack_user: str) -> ShipAnswer:
    return await ship(
        product.engine, product.deps.db, request="export-dashboards-to-pdf", slack_user=slack_user
    )


async def _filed_twice(product: Product) -> tuple[str, str]:
    """Sam files Dana's PDF ask (Jo reacts too); Jo files another customer message."""
    first = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await (await product.react(ACME_CHANNEL, first, SAM)).result(timeout=30)
    await (await product.react(ACME_CHANNEL, first, JO)).result(timeout=30)
    parent = product.sim.post_message(ACME_CHANNEL, JO, "Notes from the Acme QBR")
    second = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT, thread_ts=parent)
    await (await product.react(ACME_CHANNEL, second, JO)).result(timeout=30)
    await product.settle()
    return first, parent


async def test_shipping_tells_every_follower_once_and_answers_every_thread(
    product: Product,
) -> None:
    first, parent = await _filed_twice(product)
    await product.person(PRIYA, product_team=True)
    before = {user: len(product.dm_texts(user)) for user in (SAM, JO)}

    answer = await ship(
        product.engine, product.deps.db, request="export-dashboards-to-pdf", slack_user=PRIYA
    )
    again = await ship(
        product.engine, product.deps.db, request="export-dashboards-to-pdf", slack_user=PRIYA
    )
    result = await product.engine.handle(answer.run_id or "").result(timeout=30)

    assert answer.status == "started" and again.run_id == answer.run_id
    assert (await product.request(product.backlog["pdf"])).status == "shipped"
    assert sorted(result["told"]) == [f"u-{JO}", f"u-{SAM}"] and result["failed"] == []
    for user in (SAM, JO):
        shipped = product.dm_texts(user)[before[user] :]
        assert shipped == ["Shipped: Export dashboards to PDF"]
    replies = [
        c.args
        for c in product.sim.calls("chat.postMessage")
        if c.args.get("channel") == ACME_CHANNEL
    ]
    assert sorted(r["thread_ts"] for r in replies) == sorted([first, parent])
    assert all("This shipped today" in r["text"] for r in replies)
    audit = [a for a in await product.audit() if a["action"] == "status"]
    assert [(a["actor"], a["after"]) for a in audit] == [(f"u-{PRIYA}", {"status": "shipped"})]


async def test_one_failing_dm_does_not_stop_the_others(product: Product) -> None:
    await _filed_twice(product)
    await product.person(PRIYA, product_team=True)
    product.sim.clear_journal()
    product.sim.fail("chat.postMessage", error="is_archived")  # Sam's DM: Slack refuses it
    product.sim.fail("chat.postMessage", status=429, retry_after=0)  # Jo's: rate limited once

    answer = await ship(
        product.engine, product.deps.db, request="export-dashboards-to-pdf", slack_user=PRIYA
    )
    result = await product.engine.handle(answer.run_id or "").result(timeout=60)

    assert result["told"] == [f"u-{JO}"]
    assert [f["user_id"] for f in result["failed"]] == [f"u-{SAM}"]
    assert result["threads"] == 2
    assert product.dm_texts(JO)[-1] == "Shipped: Export dashboards to PDF"


async def test_only_the_product_team_ships(product: Product) -> None:
    await product.person(SAM)
    await product.person(PRIYA, product_team=True)

    denied = await _ship(product, SAM)
    probing = await ship(product.engine, product.deps.db, request="no-such-thing", slack_user=SAM)
    unknown = await ship(product.engine, product.deps.db, request="no-such-thing", slack_user=PRIYA)

    # who may not ship learns nothing of which requests exist
    assert (denied.status, probing.status, unknown.status) == ("forbidden", "forbidden", "unknown")
    assert (await product.request(product.backlog["pdf"])).status == "open"
    assert await product.engine.list_runs(workflow="mark-shipped") == []
