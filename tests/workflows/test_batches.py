"""Notification settings end to end: at once, once a day (``notification-batch``), or off."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.simulator.blocks import block_problems
from feedback import notifications
from feedback.errors import ConfigurationError
from feedback.settings import load_settings
from tests.workflows.harness import ACME_CHANNEL, DANA, JO, LINK_TEXT, PRIYA, SAM, Product
from workflows.batches import batch_run_id, notification_batch
from workflows.engine.testing import FakeClock
from workflows.requests import ship
from workflows.schedule import Schedule, Schedules, batch_schedule

TICK = datetime(2026, 12, 2, 22, tzinfo=UTC)  # 17:00 in New York, the default TIMEZONE
FILED = "Filed under Export dashboards to PDF."


async def _choose(product: Product, slack_id: str, **choices: str) -> None:
    user_id = await product.person(slack_id)
    async with product.deps.db.transaction() as conn:
        for kind, value in choices.items():
            await notifications.set_setting(conn, user_id, kind, value)


async def _file(product: Product, reactor: str) -> dict[str, Any]:
    """A customer's PDF ask, filed by ``reactor``: a confident link; the process run's result."""
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    filed = await (await product.react(ACME_CHANNEL, ts, reactor)).result(timeout=30)
    [item_id] = filed["items"]
    outcome: dict[str, Any] = await product.engine.handle(f"process:{item_id}:0").result(timeout=30)
    assert outcome["outcome"] == "linked"
    return outcome


async def _ship_pdf(product: Product) -> None:
    await product.person(PRIYA, product_team=True)
    answer = await ship(
        product.engine, product.deps.db, request="export-dashboards-to-pdf", slack_user=PRIYA
    )
    await product.engine.handle(answer.run_id or "").result(timeout=30)


async def _batch(product: Product, tick: datetime) -> dict[str, Any]:
    handle = await product.engine.start(notification_batch, tick, run_id=batch_run_id(tick))
    result: dict[str, Any] = await handle.result(timeout=30)
    return result


async def test_a_daily_person_gets_one_dm_a_day_with_every_line(product: Product) -> None:
    await _choose(product, SAM, links="daily", shipped="daily")

    await _file(product, SAM)
    await _ship_pdf(product)
    assert product.dm_texts(SAM) == []  # neither the link nor the shipping: not yet

    first = await _batch(product, TICK)
    again = await _batch(product, TICK)  # the same tick started twice: the same run
    later = await _batch(product, TICK + timedelta(hours=1))  # another run, the same day

    assert first == again
    assert first["day"] == "2026-12-02" and first["sent"] == [f"u-{SAM}"]
    assert later["sent"] == [] and later["failed"] == []
    [dm] = product.sim.dms(SAM)
    assert dm["text"] == "Today's feedback updates: 1 piece of feedback filed, 1 request shipped."
    body = str(dm["blocks"])
    assert "Your feedback updates, Wednesday 2 December" in body
    assert "filed under *Export dashboards to PDF* (Acme Corp, " in body
    assert "*Export dashboards to PDF* shipped (`export-dashboards-to-pdf`)" in body
    assert [b["type"] for b in dm["blocks"]] == ["header", "section", "section", "context"]
    assert block_problems(dm["blocks"]) == []


async def test_a_line_after_the_days_dm_waits_for_the_next_day(product: Product) -> None:
    await _choose(product, SAM, links="daily")
    await _file(product, SAM)
    await _batch(product, TICK)

    await _file(product, SAM)  # after today's DM went out
    same_day = await _batch(product, TICK + timedelta(hours=2))
    assert same_day["sent"] == [] and len(product.sim.dms(SAM)) == 1

    next_day = await _batch(product, TICK + timedelta(days=1))

    assert next_day["day"] == "2026-12-03" and next_day["sent"] == [f"u-{SAM}"]
    assert [dm["text"] for dm in product.sim.dms(SAM)] == [
        "Today's feedback updates: 1 piece of feedback filed.",
        "Today's feedback updates: 1 piece of feedback filed.",
    ]
    async with product.deps.db.read() as conn:
        assert await notifications.pending(conn, f"u-{SAM}") == []


async def test_off_sends_nothing_and_now_is_unchanged(product: Product) -> None:
    await _choose(product, SAM, links="off", shipped="off")
    await product.person(JO)  # never chose: at once

    await _file(product, SAM)
    await _file(product, JO)
    await _ship_pdf(product)
    result = await _batch(product, TICK)

    assert product.dm_texts(SAM) == []
    assert product.dm_texts(JO) == [FILED, "Shipped: Export dashboards to PDF"]
    assert result["sent"] == []
    async with product.deps.db.read() as conn:
        assert await notifications.pending(conn, f"u-{SAM}") == []


async def test_a_failed_daily_dm_keeps_its_lines_for_the_next_day(product: Product) -> None:
    await _choose(product, SAM, links="daily")
    await _file(product, SAM)
    product.sim.fail("chat.postMessage", error="is_archived")  # Slack refuses today's DM

    today = await _batch(product, TICK)
    tomorrow = await _batch(product, TICK + timedelta(days=1))

    assert [f["user_id"] for f in today["failed"]] == [f"u-{SAM}"] and today["sent"] == []
    assert tomorrow["sent"] == [f"u-{SAM}"]
    [dm] = product.sim.dms(SAM)
    assert "filed under *Export dashboards to PDF*" in str(dm["blocks"])


def test_the_batch_is_scheduled_daily_at_notify_batch_time() -> None:
    new_york = ZoneInfo("America/New_York")

    assert batch_schedule(load_settings()) == Schedule("notification-batch", time(17), new_york)
    assert batch_schedule(load_settings(notify_batch_time="7:05")).at == time(7, 5)
    with pytest.raises(ConfigurationError, match=r"^NOTIFY_BATCH_TIME: .*use HH:MM"):
        load_settings(notify_batch_time="5pm")


async def test_the_schedule_starts_the_days_batch_once(product: Product) -> None:
    await _choose(product, SAM, links="daily")
    await _file(product, SAM)
    clock = FakeClock((TICK + timedelta(minutes=5)).timestamp())
    schedule = batch_schedule(product.deps.settings)

    async with Schedules(product.engine, [schedule], clock=clock) as first:
        pass
    async with Schedules(product.engine, [schedule], clock=clock):  # another process
        pass
    result = await product.engine.handle(batch_run_id(TICK)).result(timeout=30)

    assert first.started_ticks == {"notification-batch": TICK}
    assert [r.run_id for r in await product.engine.list_runs(workflow="notification-batch")] == [
        "notification-batch:2026-12-02T22:00:00+00:00"
    ]
    assert result["sent"] == [f"u-{SAM}"] and len(product.sim.dms(SAM)) == 1
