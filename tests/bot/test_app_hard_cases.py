"""Adversarial review of the Slack app: what Slack (or a confused payload) can do to it.

Every request goes through the real HTTP app against the simulator, on SQLite and
PostgreSQL. A test here states what Slack or a person expects: a 200 (or a 400 for a
malformed body, never a 500), a private answer, nothing changed, nothing lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.simulator import slack_requests as slack
from feedback import approvals
from feedback import requests as requests_db
from tests.bot.app_harness import App
from tests.bot.test_app_interactions import click, unsure_question
from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NOACCOUNT_CHANNEL,
    PRIYA,
    SAM,
    button_values,
)
from workflows import messages
from workflows.engine import RunStatus

SEVERITY = {
    "severity": {
        "severity": {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
        }
    }
}


async def run_count(app: App) -> int:
    return len(await app.product.engine.list_runs(limit=1000))


def _inner(kind: str, **fields: Any) -> slack.SlackRequest:
    """An event envelope whose inner event is exactly ``fields`` (nothing merged in)."""
    return slack.event(kind, event=slack.Replace({"type": kind, **fields}))  # type: ignore[arg-type]


def _pain(text: str) -> dict[str, Any]:
    return {"pain": {"pain": {"type": "plain_text_input", "value": text}}} | SEVERITY


def _new_request(title: str) -> dict[str, Any]:
    return {
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "description": {"description": {"type": "plain_text_input", "value": "Every Monday."}},
    }


def _selected(block: str, value: str, kind: str = "static_select") -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {block: {block: {"type": kind, "selected_option": option}}}


# --- malformed but signed: never a 500 ------------------------------------------------

MALFORMED_EVENTS: dict[str, Callable[[str], slack.SlackRequest]] = {
    "reaction_without_user": lambda ts: _inner(
        "reaction_added",
        reaction="gtm-feedback",
        item={"type": "message", "channel": ACME_CHANNEL, "ts": ts},
        event_ts=slack.now_ts(),
    ),
    "reaction_item_not_an_object": lambda ts: _inner(
        "reaction_added", user=SAM, reaction="gtm-feedback", item="message", event_ts=ts
    ),
    "mention_without_channel": lambda ts: _inner(
        "app_mention", user=SAM, text="<@U0BOT> we need PDF exports", ts=ts, event_ts=ts
    ),
    "home_opened_without_user": lambda ts: _inner("app_home_opened", tab="home", event_ts=ts),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_EVENTS))
async def test_a_malformed_event_is_not_a_500(slack_app: App, name: str) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    response = await slack_app.send(MALFORMED_EVENTS[name](ts))

    assert response.status_code in (200, 400), (response.status_code, response.text)
    assert await run_count(slack_app) == 0


MALFORMED_INTERACTIONS: dict[str, Callable[[], slack.SlackRequest]] = {
    "command_without_trigger_id": lambda: slack.sign(
        b"command=%2Ffeedback&text=they+need+PDF+exports&user_id=U0SAM&channel_id=C0ACME",
        slack.FORM,
    ),
    "shortcut_without_trigger_id": lambda: slack.interaction(
        "message_action", callback_id="file_feedback", trigger_id=slack.DROP
    ),
    "file_form_without_severity": lambda: slack.view_submission(
        SAM,
        {"pain": {"pain": {"type": "plain_text_input", "value": LINK_TEXT}}},
        callback_id="file_feedback",
        private_metadata='{"channel":"C0ACME","ts":"1.2"}',
    ),
    "new_request_form_without_title": lambda: slack.view_submission(
        PRIYA,
        {"description": {"description": {"type": "plain_text_input", "value": "x"}}},
        callback_id="new_request",
    ),
    "block_actions_with_empty_actions": lambda: slack.interaction(
        "block_actions_message", actions=[]
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_INTERACTIONS))
async def test_a_malformed_interaction_is_not_a_500(slack_app: App, name: str) -> None:
    response = await slack_app.send(MALFORMED_INTERACTIONS[name]())

    assert response.status_code in (200, 400), (response.status_code, response.text)
    assert await run_count(slack_app) == 0


MALFORMED_ENVELOPES: dict[str, Callable[[], slack.SlackRequest]] = {
    "event_callback_without_event": lambda: slack.event("reaction_added", event=slack.DROP),
    "type_not_a_string": lambda: slack.sign(b'{"type":3,"event":{"type":"x"}}', slack.JSON),
    "block_actions_without_actions": lambda: slack.interaction(
        "block_actions_message", actions=slack.DROP
    ),
    "view_submission_without_view": lambda: slack.interaction("view_submission", view=slack.DROP),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_ENVELOPES))
async def test_a_malformed_envelope_gets_400(slack_app: App, name: str) -> None:
    response = await slack_app.send(MALFORMED_ENVELOPES[name]())

    assert response.status_code == 400, (response.status_code, response.text)


async def test_undo_with_a_garbled_turn_is_answered_privately(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.product.settle()
    [confirmation] = slack_app.sim.dms(SAM)
    [undo] = button_values(confirmation["blocks"], messages.UNDO)
    garbled = json.dumps(undo | {"turn": "\u00b2"})  # "²".isdigit() is True, int("²") fails

    response = await slack_app.send(click(slack_app, SAM, confirmation, messages.UNDO, garbled))

    assert response.status_code == 200
    await slack_app.sim.wait_for("response_url")
    [said] = slack_app.sim.ephemerals(user=SAM)
    assert "out of date" in said["text"]


async def test_ship_with_a_nul_byte_is_not_a_500(slack_app: App) -> None:
    await slack_app.make_product_team(PRIYA)

    response = await slack_app.send(slack.command("ship pdf\x00export", PRIYA, ACME_CHANNEL))

    assert response.status_code == 200
    assert "No request called" in response.text


async def test_slacks_ssl_check_is_answered(slack_app: App) -> None:
    check = slack.sign(b"ssl_check=1&token=SimVerificationToken0000", slack.FORM)

    response = await slack_app.send(check)

    assert response.status_code == 200, (response.status_code, response.text)
    assert await run_count(slack_app) == 0


# --- within Slack's three seconds, whatever Slack's API does --------------------------


async def test_a_rate_limited_home_tab_still_acks_in_time(slack_app: App) -> None:
    slack_app.sim.fail("views.publish", status=429, retry_after=3)

    started = time.monotonic()
    response = await slack_app.send(slack.app_home_opened(SAM))

    assert response.status_code == 200
    assert time.monotonic() - started < 3.0  # Slack gives up (and retries) after 3 s


async def test_the_new_request_form_survives_a_users_info_failure(slack_app: App) -> None:
    slack_app.sim.fail("users.info", status=429, retry_after=1, times=3)
    submission = slack.view_submission(
        PRIYA, _new_request("Scheduled PDF e-mails"), callback_id="new_request", view_id="V0NR1"
    )

    response = await slack_app.send(submission)

    assert response.status_code == 200, (response.status_code, response.text)
    await slack_app.product.settle()
    runs = await slack_app.product.engine.list_runs(limit=100)
    assert [r.workflow for r in runs] == ["new-request"]


async def test_slack_failures_in_listeners_still_ack_in_time(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    slack_app.sim.fail("views.open", status=429, retry_after=30)
    slack_app.sim.fail("chat.postEphemeral", status=500, times=5)

    started = time.monotonic()
    shortcut = await slack_app.send(slack.message_shortcut(SAM, ACME_CHANNEL, ts, text=LINK_TEXT))
    mention = await slack_app.send(slack.app_mention(ACME_CHANNEL, SAM, "<@U0BOT>  <@U0JO> "))

    assert (shortcut.status_code, mention.status_code) == (200, 200)
    assert time.monotonic() - started < 2.5
    assert await run_count(slack_app) == 0


# --- redeliveries, retries, doubles ---------------------------------------------------


async def test_a_retry_after_a_failed_delivery_is_processed(
    slack_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = slack_app.product.engine
    real_start = engine.start
    down = [True]

    async def start(*args: Any, **kwargs: Any) -> Any:
        if down.pop() if down else False:
            raise OperationalError("INSERT INTO runs", {}, ConnectionRefusedError("db down"))
        return await real_start(*args, **kwargs)

    monkeypatch.setattr(engine, "start", start)
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    first = slack.reaction_added(ACME_CHANNEL, ts, SAM)

    assert (await slack_app.send(first)).status_code >= 500  # Slack will retry
    assert (await slack_app.send(first.redelivered(1, "http_error"))).status_code == 200
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert item["request_id"] == slack_app.product.backlog["pdf"]


async def test_one_event_delivered_concurrently_files_once(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    request = slack.reaction_added(ACME_CHANNEL, ts, SAM)

    responses = await asyncio.gather(*(slack_app.send(request) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 5
    await slack_app.product.settle()
    assert len(await slack_app.product.items()) == 1
    runs = await slack_app.product.engine.list_runs(limit=100)
    assert not [r for r in runs if r.status == RunStatus.FAILED]


async def test_the_new_request_form_submitted_twice_at_once_makes_one(slack_app: App) -> None:
    submission = slack.view_submission(
        PRIYA, _new_request("Scheduled PDF e-mails"), callback_id="new_request", view_id="V0NR2"
    )

    responses = await asyncio.gather(*(slack_app.send(submission) for _ in range(4)))

    assert [r.status_code for r in responses] == [200] * 4
    await slack_app.product.settle()
    runs = await slack_app.product.engine.list_runs(limit=100)
    assert [r.workflow for r in runs] == ["new-request"]


async def test_file_as_feedback_again_after_inviting_the_bot(slack_app: App) -> None:
    sim = slack_app.sim
    sim.add_channel("C0SECRET", "deal-room", is_private=True, bot_is_member=False, members=[SAM])
    ts = sim.post_message("C0SECRET", DANA, LINK_TEXT)

    async def file_it() -> None:
        shortcut = slack.message_shortcut(SAM, "C0SECRET", ts, text=LINK_TEXT, message_user=DANA)
        await slack_app.send(shortcut)
        form = sim.modals()[-1]
        submitted = slack.view_submission(
            SAM,
            _pain(LINK_TEXT),
            callback_id="file_feedback",
            private_metadata=form["private_metadata"],
            view_id=form["id"],
        )
        assert (await slack_app.send(submitted)).status_code == 200
        await slack_app.product.settle()

    await file_it()
    assert any("invite me" in t for t in slack_app.product.dm_texts(SAM))
    sim.workspace.channels["C0SECRET"].members.add(sim.bot_user_id)  # /invite @Feedback Bot
    await file_it()  # as the DM says: try again

    [item] = await slack_app.product.items()
    assert item["message_ts"] == ts


# --- forged or stale values -----------------------------------------------------------


async def test_the_file_form_with_an_account_that_does_not_exist(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    values = _pain(LINK_TEXT) | _selected("account", "acc-gone", "external_select")
    where = json.dumps({"channel": ACME_CHANNEL, "ts": ts})

    response = await slack_app.send(
        slack.view_submission(
            SAM, values, callback_id="file_feedback", private_metadata=where, view_id="V0F1"
        )
    )

    assert response.status_code == 200
    if response.content:  # refused in the form: fine, nothing may have started
        assert response.json()["response_action"] == "errors"
        assert await run_count(slack_app) == 0
        return
    await slack_app.product.settle()  # accepted: then it must be filed, not lost
    [item] = await slack_app.product.items()
    assert item["message_ts"] == ts


async def test_the_new_request_form_with_an_area_that_does_not_exist(slack_app: App) -> None:
    values = _new_request("Scheduled PDF e-mails") | _selected("area", "area-gone")

    response = await slack_app.send(
        slack.view_submission(PRIYA, values, callback_id="new_request", view_id="V0NR3")
    )

    assert response.status_code == 200, (response.status_code, response.text)


async def _account_question(app: App) -> dict[str, Any]:
    ts = app.sim.post_message(NOACCOUNT_CHANNEL, JO, f"From a call today: {LINK_TEXT}")
    await app.send(slack.reaction_added(NOACCOUNT_CHANNEL, ts, SAM, item_user=JO))
    await app.sim.wait_for(
        "chat.postMessage", where=lambda c: "Which customer" in str(c.args), timeout=30
    )
    [question] = [m for m in app.sim.dms(SAM) if "Which customer" in m.get("text", "")]
    return question


async def test_forged_answers_to_an_account_question_change_nothing(slack_app: App) -> None:
    question = await _account_question(slack_app)
    [unknown] = button_values(question["blocks"], messages.ACCOUNT_UNKNOWN)
    picker = next(b["block_id"] for b in question["blocks"] if b["type"] == "actions")
    dm = slack_app.sim.workspace.dm_of(SAM)
    assert dm is not None

    def url() -> str:
        return slack_app.sim.response_url(dm, question["ts"], SAM)

    gone = slack.static_select(  # an account that does not exist
        messages.ACCOUNT_PICK,
        "acc-gone",
        SAM,
        block_id=picker,
        channel=dm,
        message=question,
        response_url=url(),
    )
    other_kind = slack.block_action(  # the "New request" button, with this question's id
        messages.APPROVAL_NEW,
        json.dumps(unknown),
        SAM,
        channel=dm,
        message=question,
        response_url=url(),
    )
    for request in (gone, other_kind):
        assert (await slack_app.send(request)).status_code == 200
    await slack_app.sim.wait_for("response_url", count=2)

    said = [e["text"] for e in slack_app.sim.ephemerals(user=SAM)]
    assert any("account no longer exists" in t for t in said)
    assert any("does not belong" in t for t in said)
    async with slack_app.product.deps.db.read() as conn:
        assert (await approvals.get(conn, unknown["approval"])).status == "pending"


async def test_linking_to_a_request_that_was_not_offered_is_refused(slack_app: App) -> None:
    _, question = await unsure_question(slack_app)
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    offered = {v["request"] for v in button_values(question["blocks"], messages.APPROVAL_LINK)}
    async with slack_app.product.deps.db.transaction() as conn:
        await requests_db.create(
            conn,
            request_id="req-dark",
            title="Dark mode",
            description="A dark theme.",
            creator_id=None,
        )
    assert "req-dark" not in offered
    forged = json.dumps({"approval": new["approval"], "request": "req-dark"})

    await slack_app.send(click(slack_app, SAM, question, messages.APPROVAL_LINK, forged))
    await slack_app.sim.wait_for("response_url")

    [said] = slack_app.sim.ephemerals(user=SAM)
    assert "not one of the choices" in said["text"]
    [item] = await slack_app.product.items()
    assert item["status"] == "pending" and item["request_id"] is None


# --- what people see ------------------------------------------------------------------


async def test_the_file_form_is_prefilled_with_plain_text(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, "PDF & CSV exports <today>")
    as_slack_sends_it = "PDF &amp; CSV exports &lt;today&gt;"  # message.text is escaped

    await slack_app.send(
        slack.message_shortcut(SAM, ACME_CHANNEL, ts, text=as_slack_sends_it, message_user=DANA)
    )

    [form] = slack_app.sim.modals()
    pain = next(b for b in form["blocks"] if b["block_id"] == "pain")
    assert pain["element"]["initial_value"] == "PDF & CSV exports <today>"


@pytest.mark.parametrize("text", ["<@U0BOT> <!here>", "<@U0BOT> <!subteam^S0PM|@product>"])
async def test_a_mention_of_only_a_group_gets_the_hint(slack_app: App, text: str) -> None:
    response = await slack_app.send(slack.app_mention(ACME_CHANNEL, SAM, text))

    assert response.status_code == 200
    [hint] = slack_app.sim.ephemerals(ACME_CHANNEL, SAM)
    assert "Mention me with what the customer needs" in hint["text"]
    assert await run_count(slack_app) == 0


async def test_no_message_bodies_or_tokens_in_logs_at_info(
    slack_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    words = "ZEBRA-CONFIDENTIAL pricing: they need PDF exports of dashboards"
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, words)

    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.send(slack.command(words, SAM, ACME_CHANNEL))
    await slack_app.send(slack.app_mention(ACME_CHANNEL, SAM, f"<@U0BOT> {words}"))
    await slack_app.send(slack.message_shortcut(SAM, ACME_CHANNEL, ts, text=words))
    await slack_app.send(slack.message_shortcut(SAM, ACME_CHANNEL, ts, callback_id="stale"))
    await slack_app.product.settle()

    secrets = ("ZEBRA", "SimVerificationToken", slack_app.sim.token, slack.SIGNING_SECRET)
    leaked = [
        f"{r.levelname} {r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.levelno >= logging.INFO and any(s in r.getMessage() for s in secrets)
    ]
    assert not leaked
