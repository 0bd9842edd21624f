"""The signed-request builder: Slack's encodings, valid and forged signatures, Bolt's reading."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request import payload_utils
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as sr
from bot.simulator.slack_requests import DROP, SIGNING_SECRET, Replace, SlackRequest

Check = Callable[[dict[str, Any]], bool]

KIND_CHECKS: dict[str, Check] = {
    "app_home_opened": lambda b: payload_utils.is_app_home_opened_event(b, tab="home"),
    "app_mention": payload_utils.is_event,
    "app_mention_thread": lambda b: payload_utils.is_event(b) and "thread_ts" in b["event"],
    "app_rate_limited": lambda b: b["type"] == "app_rate_limited",
    "reaction_added": payload_utils.is_event,
    "url_verification": lambda b: b["type"] == "url_verification",
    "block_actions_home": lambda b: (
        payload_utils.is_block_actions(b) and b["container"]["type"] == "view"
    ),
    "block_actions_message": lambda b: (
        payload_utils.is_block_actions(b) and b["container"]["type"] == "message"
    ),
    "block_actions_static_select": lambda b: (
        payload_utils.is_action(b) and b["actions"][0]["type"] == "static_select"
    ),
    "block_suggestion": payload_utils.is_block_suggestion,
    "message_action": payload_utils.is_message_shortcut,
    "shortcut": payload_utils.is_global_shortcut,
    "view_submission": payload_utils.is_view_submission,
}


def verifies(request: SlackRequest, secret: str = SIGNING_SECRET) -> bool:
    return SignatureVerifier(secret).is_valid_request(request.body, request.headers)


def test_every_template_has_a_kind_and_a_check() -> None:
    files = {p.stem for p in sr.PAYLOADS.glob("*.json")}
    assert files == {*sr.EVENT_KINDS, *sr.INTERACTION_KINDS, "command"}
    assert set(KIND_CHECKS) == {*sr.EVENT_KINDS, *sr.INTERACTION_KINDS}


@pytest.mark.parametrize("kind", sr.EVENT_KINDS)
def test_events_are_signed_json_that_bolt_reads_as_their_kind(kind: sr.EventKind) -> None:
    request = sr.event(kind)

    assert request.headers["content-type"] == "application/json"
    assert verifies(request)
    bolt = request.to_bolt()
    assert bolt.body == json.loads(request.body) == request.payload()
    assert KIND_CHECKS[kind](bolt.body)
    assert bolt.body.get("api_app_id", sr.APP_ID) == sr.APP_ID


@pytest.mark.parametrize("kind", sr.INTERACTION_KINDS)
def test_interactions_are_a_signed_payload_form_that_bolt_reads(kind: sr.InteractionKind) -> None:
    request = sr.interaction(kind)

    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert verifies(request)
    fields = parse_qs(request.body.decode(), strict_parsing=True)
    assert list(fields) == ["payload"]
    assert json.loads(fields["payload"][0]) == request.payload()
    bolt = request.to_bolt()
    assert bolt.body == request.payload()
    assert KIND_CHECKS[kind](bolt.body)
    assert bolt.body["team"]["id"] == sr.TEAM_ID


def test_a_slash_command_is_its_fields_form_encoded() -> None:
    request = sr.command("acme wants PDF exports", "U0PM", "C0PRODUCT", response_url="http://x/r")

    assert verifies(request)
    fields = {k: v[0] for k, v in parse_qs(request.body.decode(), strict_parsing=True).items()}
    assert fields == request.payload()
    assert fields["text"] == "acme wants PDF exports"
    assert (fields["user_id"], fields["channel_id"]) == ("U0PM", "C0PRODUCT")
    assert (fields["command"], fields["response_url"]) == ("/feedback", "http://x/r")
    assert fields["is_enterprise_install"] == "false"
    bolt = request.to_bolt()
    assert payload_utils.is_slash_command(bolt.body)
    assert bolt.body == fields


def test_the_body_is_serialized_once_and_escapes_slashes_as_slack_does() -> None:
    request = sr.block_action("approval.approve", "apr-1", "U0PM", response_url="https://h/x/y")

    raw = parse_qs(request.body.decode())["payload"][0]
    assert '"response_url":"https:\\/\\/h\\/x\\/y"' in raw
    assert request.payload()["response_url"] == "https://h/x/y"
    reserialized = SlackRequest(
        json.dumps(request.payload()).encode(), dict(request.headers)
    )  # what a body re-encoded before verifying looks like
    assert not verifies(reserialized)


def test_forged_requests_do_not_verify() -> None:
    assert verifies(sr.reaction_added("C0ACME", "1.2", "U0SALES"))
    wrong_secret = sr.reaction_added("C0ACME", "1.2", "U0SALES", secret="not-the-secret")
    assert not verifies(wrong_secret)
    assert verifies(wrong_secret, secret="not-the-secret")
    stale = sr.reaction_added("C0ACME", "1.2", "U0SALES", timestamp=int(time.time()) - 6 * 60)
    assert stale.headers["x-slack-request-timestamp"] == str(int(time.time()) - 6 * 60)
    assert not verifies(stale)
    assert not verifies(sr.global_shortcut("U0SALES", secret="nope"))
    assert not verifies(sr.command("x", secret="nope"))


def test_each_event_gets_a_fresh_id_unless_it_is_a_redelivery() -> None:
    first, second = sr.event("reaction_added"), sr.event("reaction_added")
    first_id = first.payload()["event_id"]
    assert first_id.startswith("Ev") and len(first_id) == 12
    assert second.payload()["event_id"] != first_id
    assert "x-slack-retry-num" not in first.headers

    again = sr.reaction_added("C0ACME", "1.2", "U0SALES", event_id=first_id, retry_num=1)
    assert again.payload()["event_id"] == first_id
    assert again.headers["x-slack-retry-num"] == "1"
    assert again.headers["x-slack-retry-reason"] == "http_timeout"
    assert "event_id" not in sr.url_verification().payload()

    retried = first.redelivered(2, "http_error")
    assert retried.body == first.body
    assert (retried.headers["x-slack-retry-num"], retried.headers["x-slack-retry-reason"]) == (
        "2",
        "http_error",
    )
    assert verifies(retried) and retried.headers["content-type"] == "application/json"


def test_overrides_merge_nested_fields_drop_keys_and_replace_whole_values() -> None:
    merged = sr.event("reaction_added", event={"reaction": "eyes", "item_user": DROP}).payload()
    assert merged["event"]["reaction"] == "eyes"
    assert merged["event"]["item"] == sr.load("reaction_added")["event"]["item"]
    assert "item_user" not in merged["event"]

    replaced = sr.interaction("block_actions_message", message=Replace({"ts": "9.9"})).payload()
    assert replaced["message"] == {"ts": "9.9"}
    with pytest.raises(ValueError, match="no payload template 'nope'"):
        sr.load("nope")


def test_reaction_added_names_the_message_and_the_channel() -> None:
    body = sr.reaction_added("C0PRODUCT", "1733000000.000100", "U0PM", item_user=None).payload()

    assert body["event"]["item"] == {
        "type": "message",
        "channel": "C0PRODUCT",
        "ts": "1733000000.000100",
    }
    assert (body["event"]["user"], body["event"]["reaction"]) == ("U0PM", "gtm-feedback")
    assert "item_user" not in body["event"]
    assert body["is_ext_shared_channel"] is False
    assert body["event_context"] == sr.event_context("reaction_added", "C0PRODUCT")
    assert body["authorizations"][0]["user_id"] == sr.BOT_USER_ID
    assert sr.reaction_added("C0ACME", "1.2", "U0PM").payload()["is_ext_shared_channel"]


def test_app_mentions_carry_rich_text_and_thread_fields() -> None:
    top = sr.app_mention("C0PRODUCT", "U0SALES", "<@U0BOT> file this").payload()["event"]
    assert "thread_ts" not in top
    assert top["blocks"][0]["elements"][0]["elements"] == [
        {"type": "user", "user_id": "U0BOT"},
        {"type": "text", "text": " file this"},
    ]
    assert top["ts"] == top["event_ts"]

    reply = sr.app_mention("C0ACME", "U0SALES", "<@U0BOT> this", thread_ts="1.0").payload()
    assert (reply["event"]["thread_ts"], reply["event"]["parent_user_id"]) == ("1.0", "U0ACME1")


def test_app_home_opened_uses_the_simulators_dm_id() -> None:
    body = sr.app_home_opened("U0PM").payload()["event"]
    assert (body["channel"], body["tab"], "view" in body) == ("D0PM", "home", False)
    with_view = sr.app_home_opened("U0PM", view={"id": "V1", "type": "home"}).payload()
    assert with_view["event"]["view"] == {"id": "V1", "type": "home"}


def test_block_actions_from_a_message_and_from_the_home_tab() -> None:
    message = sr.load("block_actions_message")["message"] | {"ts": "5.5"}
    clicked = sr.block_action(
        "approval.reject", "apr-7", "U0PM", channel="C0ACME", message=message
    ).payload()
    assert clicked["actions"][0] | {"action_ts": "-"} == {
        "action_id": "approval.reject",
        "block_id": "approval.1",
        "text": {"type": "plain_text", "text": "Reject", "emoji": True},
        "value": "apr-7",
        "style": "danger",
        "type": "button",
        "action_ts": "-",
    }
    assert clicked["container"] == {
        "type": "message",
        "message_ts": "5.5",
        "channel_id": "C0ACME",
        "is_ephemeral": False,
    }
    assert (clicked["channel"], clicked["message"]) == ({"id": "C0ACME", "name": "c0acme"}, message)
    assert clicked["user"] == {
        "id": "U0PM",
        "username": "priya",
        "name": "priya",
        "team_id": "T0SIM",
    }

    home = sr.block_action("approval.approve", "apr-7", "U0PM", container="home", view_id="V9")
    body = home.payload()
    assert body["container"] == {"type": "view", "view_id": "V9"}
    assert body["view"]["id"] == "V9" and body["view"]["type"] == "home"
    assert not {"response_url", "message", "channel"} & body.keys()


def test_a_static_select_carries_the_option_in_the_action_and_the_state() -> None:
    body = sr.static_select("request.area", "integrations", "U0PM", block_id="area.9").payload()

    label = {"type": "plain_text", "text": "Integrations", "emoji": True}
    option = {"text": label, "value": "integrations"}
    assert body["actions"][0]["selected_option"] == option
    assert body["actions"][0]["block_id"] == "area.9"
    assert body["state"] == {
        "values": {"area.9": {"request.area": {"type": "static_select", "selected_option": option}}}
    }


def test_shortcuts_submissions_and_suggestions() -> None:
    shortcut = sr.message_shortcut("U0SALES", "C0ACME", "7.7", text="PDF please").payload()
    assert (shortcut["callback_id"], shortcut["message_ts"]) == ("file_feedback", "7.7")
    assert shortcut["message"]["ts"] == "7.7"
    assert shortcut["message"]["text"] == "PDF please"
    assert shortcut["trigger_id"] != sr.load("message_action")["trigger_id"]

    values = {"feedback": {"text": {"type": "plain_text_input", "value": "PDF"}}}
    submitted = sr.view_submission("U0SALES", values, private_metadata='{"a":1}').payload()
    assert submitted["view"]["state"] == {"values": values}
    assert submitted["view"]["private_metadata"] == '{"a":1}'

    suggestion = sr.block_suggestion("customer", "glo", "U0SALES").payload()
    assert (suggestion["action_id"], suggestion["block_id"], suggestion["value"]) == (
        "customer",
        "customer",
        "glo",
    )


async def test_bolt_verifies_routes_and_refuses_forgeries() -> None:
    async with SlackSimulator() as sim:
        sim.add_user("U0PM", "priya")
        sim.add_channel("C0PRODUCT", "product-reporting", members=["U0PM"])
        client = AsyncWebClient(token=sim.token, base_url=sim.api_url)
        app = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)
        seen: list[str] = []

        @app.event("reaction_added")
        async def on_reaction(event: dict[str, Any]) -> None:
            seen.append(event["reaction"])

        @app.action("approval.approve")
        async def on_click(ack: AsyncAck, action: dict[str, Any]) -> None:
            await ack()
            seen.append(action["value"])

        ok = await app.async_dispatch(sr.reaction_added("C0PRODUCT", "1.2", "U0PM").to_bolt())
        click = sr.block_action("approval.approve", "apr-1", "U0PM")
        clicked = await app.async_dispatch(click.to_bolt())
        challenge = await app.async_dispatch(sr.url_verification("abc").to_bolt())
        forged = sr.reaction_added("C0PRODUCT", "1.2", "U0PM", secret="wrong")
        refused = await app.async_dispatch(forged.to_bolt())
        stale = sr.reaction_added("C0PRODUCT", "1.2", "U0PM", timestamp=int(time.time()) - 600)
        too_old = await app.async_dispatch(stale.to_bolt())

    assert (ok.status, clicked.status, challenge.status) == (200, 200, 200)
    assert json.loads(challenge.body) == {"challenge": "abc"}
    assert (refused.status, too_old.status) == (401, 401)
    assert seen == ["gtm-feedback", "apr-1"]
