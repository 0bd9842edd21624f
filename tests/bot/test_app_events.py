"""Events through the real HTTP app: reactions, mentions, the Home tab, and the gate."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from bot.simulator import slack_requests as slack
from tests.bot.app_harness import App
from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    SAM,
)
from workflows.engine import RunStatus


async def run_count(app: App) -> int:
    return len(await app.product.engine.list_runs(limit=1000))


async def test_a_reaction_files_the_message_and_confirms_by_dm(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    response = await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, item_user=DANA))
    assert response.status_code == 200
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert item["request_id"] == slack_app.product.backlog["pdf"]
    assert slack_app.sim.reactions(ACME_CHANNEL, ts)["eyes"] == ["U0BOT"]
    assert any("Filed under" in t for t in slack_app.product.dm_texts(SAM))


async def test_a_reaction_on_a_thread_reply_files_it(slack_app: App) -> None:
    parent = slack_app.sim.post_message(ACME_CHANNEL, DANA, "Quick question about reports")
    reply = slack_app.sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT, thread_ts=parent)

    await slack_app.send(slack.reaction_added(ACME_CHANNEL, reply, SAM, item_user=DANA))
    await slack_app.product.settle()

    items = await slack_app.product.items()
    assert items and all(i["thread_ts"] == parent for i in items)
    assert any("emoji" in i["quote"] for i in items)


async def test_other_emojis_and_skin_tones(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, reaction="thumbsup"))
    assert await run_count(slack_app) == 0

    toned = slack.reaction_added(ACME_CHANNEL, ts, SAM, reaction="gtm-feedback::skin-tone-2")
    assert (await slack_app.send(toned)).status_code == 200
    await slack_app.product.settle()
    assert len(await slack_app.product.items()) == 1


async def test_the_bots_own_reaction_is_ignored(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    response = await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, "U0BOT"))

    assert response.status_code == 200
    assert await run_count(slack_app) == 0


async def test_redeliveries_and_repeated_reactions_file_once(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    first = slack.reaction_added(ACME_CHANNEL, ts, SAM)
    event_id = first.payload()["event_id"]
    await slack_app.send(first)
    # Slack redelivers the same event (same event_id and event_ts): nothing new starts
    again = slack.event(
        "reaction_added",
        event_id=event_id,
        retry_num=1,
        event=first.payload()["event"],
    )
    assert (await slack_app.send(again)).status_code == 200
    # the same person reacts again (a new event), and a colleague does too
    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, JO))
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert JO and SAM  # both follow the request it went to
    followers = await slack_app.product.followers(item["request_id"])
    assert {"u-U0SAM", "u-U0JO"} <= set(followers)
    reaction_runs = [
        r
        for r in await slack_app.product.engine.list_runs(limit=100)
        if r.workflow == "ingest-reaction"
    ]
    assert len(reaction_runs) == 3  # the redelivery started nothing


async def test_a_mention_files_its_words(slack_app: App) -> None:
    request = slack.app_mention(ACME_CHANNEL, SAM, f"<@U0BOT> {NEW_TEXT}")

    assert (await slack_app.send(request)).status_code == 200
    await slack_app.send(request)  # a redelivery
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert item["source"] == "mention"
    assert "emoji" in item["quote"]


async def test_a_mention_in_a_thread_files_the_thread(slack_app: App) -> None:
    parent = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    mention_ts = slack_app.sim.post_message(
        ACME_CHANNEL, SAM, "<@U0BOT> file this", thread_ts=parent
    )

    request = slack.app_mention(
        ACME_CHANNEL, SAM, "<@U0BOT> file this", ts=mention_ts, thread_ts=parent
    )
    await slack_app.send(request)
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert item["message_ts"] == parent
    assert item["request_id"] == slack_app.product.backlog["pdf"]


async def test_an_empty_mention_is_answered_privately(slack_app: App) -> None:
    await slack_app.send(slack.app_mention(ACME_CHANNEL, SAM, "<@U0BOT>"))

    [said] = slack_app.sim.ephemerals(ACME_CHANNEL, SAM)
    assert "Mention me with what the customer needs" in said["text"]
    assert await run_count(slack_app) == 0


async def test_the_home_tab_is_published_for_the_person(slack_app: App) -> None:
    assert (await slack_app.send(slack.app_home_opened(SAM))).status_code == 200

    view = slack_app.sim.home_view(SAM)
    assert view is not None and view["type"] == "home"
    await slack_app.send(slack.app_home_opened(SAM, tab="messages"))
    assert len(slack_app.sim.calls("views.publish")) == 1


async def test_url_verification_answers_the_challenge(slack_app: App) -> None:
    request = slack.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

    response = await slack_app.send(request)

    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


async def test_unknown_events_and_rate_limit_notices_are_acknowledged(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    pin = slack.reaction_added(ACME_CHANNEL, ts, SAM).payload()["event"] | {"type": "pin_added"}

    assert (await slack_app.send(slack.event("reaction_added", event=pin))).status_code == 200
    assert (await slack_app.send(slack.app_rate_limited())).status_code == 200
    assert await run_count(slack_app) == 0


async def test_forged_stale_and_malformed_requests_touch_nothing(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    forged = slack.reaction_added(ACME_CHANNEL, ts, SAM, secret="not-the-secret")
    stale = slack.reaction_added(ACME_CHANNEL, ts, SAM, timestamp=int(time.time()) - 6 * 60)
    unsigned_body, _ = slack.reaction_added(ACME_CHANNEL, ts, SAM)

    assert (await slack_app.send(forged)).status_code == 401
    assert (await slack_app.send(stale)).status_code == 401
    unsigned = await slack_app.http.post(
        "/slack/events", content=unsigned_body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401
    for body, kind in (
        (b"{oops", slack.JSON),
        (b"payload=%7Boops", slack.FORM),
        (b"x=1", slack.FORM),
    ):
        response = await slack_app.send(slack.sign(body, kind))
        assert response.status_code == 400, body
    assert await run_count(slack_app) == 0
    assert not slack_app.sim.calls("auth.test")[1:]  # nothing past start-up reached Slack


async def test_the_request_url_answers_other_methods_paths_and_bytes_plainly(
    slack_app: App,
) -> None:
    # a monitor or a person checking the URL: it exists, for POST only
    for method in ("GET", "HEAD", "PUT"):
        answer = await slack_app.http.request(method, "/slack/events")
        assert (answer.status_code, answer.headers["allow"]) == (405, "POST"), method
    # a trailing slash is the same Request URL
    challenge = slack.url_verification("tr41l1ng")
    body, headers = challenge
    answer = await slack_app.http.post("/slack/events/", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"challenge": "tr41l1ng"}
    # a forged request with an odd query, an unsigned "ssl_check" that is not UTF-8:
    # refused, never a 500
    body, headers = slack.reaction_added(ACME_CHANNEL, "1.2", SAM, secret="wrong")
    answer = await slack_app.http.post("/slack/events?a=%FF\xff", content=body, headers=headers)
    assert answer.status_code == 401
    probe = await slack_app.http.post(
        "/slack/events", content=b"ssl_check=1&token=\xff", headers={"content-type": slack.FORM}
    )
    assert probe.status_code == 401
    assert await run_count(slack_app) == 0


async def test_health_and_readiness(slack_app: App) -> None:
    assert (await slack_app.http.get("/healthz")).json() == {"status": "ok"}
    ready = await slack_app.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_a_burst_of_reactions_files_each_message_once(slack_app: App) -> None:
    stamps = [slack_app.sim.post_message(ACME_CHANNEL, DANA, f"{NEW_TEXT} #{n}") for n in range(6)]
    requests = [slack.reaction_added(ACME_CHANNEL, ts, who) for ts in stamps for who in (SAM, JO)]

    responses = await asyncio.gather(*(slack_app.send(r) for r in requests))
    await slack_app.product.settle(timeout=60)

    assert {r.status_code for r in responses} == {200}
    async with slack_app.product.deps.db.read() as conn:
        from feedback.schema import filed_messages

        filed = (await conn.execute(select(func.count()).select_from(filed_messages))).scalar_one()
    assert filed == 6
    runs = await slack_app.product.engine.list_runs(limit=1000)
    assert not [r for r in runs if r.status == RunStatus.FAILED]
