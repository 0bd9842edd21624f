"""``GET /metrics`` through the real HTTP app: Prometheus's format, counted and read."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.simulator import slack_requests as slack
from tests.bot.app_harness import App
from tests.workflows.harness import ACME_CHANNEL, ASK_TEXT, DANA, LINK_TEXT, SAM

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(app: App) -> Samples:
    response = await app.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_show_runs_feedback_people_timers_steps_and_slack(slack_app: App) -> None:
    before = await scrape(slack_app)
    for text in (LINK_TEXT, ASK_TEXT):
        ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, text)
        await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, item_user=DANA))
    await slack_app.product.settle()
    await slack_app.sim.wait_for("chat.postMessage", count=2)

    after = await scrape(slack_app)

    assert value(after, "feedback_bot_database_up") == 1
    assert value(after, "feedback_bot_runs", workflow="ingest-reaction", status="completed") == 2
    assert value(after, "feedback_bot_runs", workflow="process-feedback", status="waiting") == 1
    assert value(after, "feedback_bot_feedback", tier="link", status="filed") == 1
    assert value(after, "feedback_bot_feedback", tier="ask", status="pending") == 1
    assert value(after, "feedback_bot_waiting_on_people", kind="match") == 1
    assert value(after, "feedback_bot_waiting_on_people", kind="account") == 0
    # the question waits with its reminder set (APPROVAL_REMINDER), nothing overdue
    assert value(after, "feedback_bot_timers", state="ahead") == 1
    assert value(after, "feedback_bot_timers", state="due") == 0

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    steps = {"workflow": "ingest-reaction", "step": "read_message", "outcome": "completed"}
    assert grew("feedback_bot_step_duration_seconds_count", **steps) == 2
    assert grew("feedback_bot_step_duration_seconds_bucket", le="+Inf", **steps) == 2
    assert grew("feedback_bot_step_duration_seconds_sum", **steps) > 0
    assert grew("feedback_bot_slack_api_calls_total", method="chat.postMessage") >= 2
    assert grew("feedback_bot_slack_api_calls_total", method="reactions.add") == 2


async def test_slack_errors_are_counted_by_method_and_error(slack_app: App) -> None:
    slack_app.sim.fail("reactions.add", error="not_in_channel", times=2)
    before = await scrape(slack_app)
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, item_user=DANA))
    await slack_app.product.settle()

    after = await scrape(slack_app)
    errors = ("feedback_bot_slack_api_errors_total", {"method": "reactions.add"})
    grown = value(after, errors[0], error="not_in_channel", **errors[1]) - value(
        before, errors[0], error="not_in_channel", **errors[1]
    )
    assert grown >= 1
