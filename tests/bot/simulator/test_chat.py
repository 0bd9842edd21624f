"""``chat.*`` and ``reactions.add`` through the real ``AsyncWebClient``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator
from tests.bot.simulator.test_conversations import refused

APPROVAL: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*PDF export* for Acme?"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approval.approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "req-1",
            }
        ],
    },
]


async def test_post_message_with_blocks_echoes_a_bot_message(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    answer = await client.chat_postMessage(channel="C0GENERAL", text="Approve?", blocks=APPROVAL)
    assert answer["channel"] == "C0GENERAL"
    message = answer["message"]
    assert (message["ts"], message["user"], message["bot_id"]) == (answer["ts"], "U0BOT", "B0BOT")
    assert message["blocks"] == APPROVAL
    assert sim.messages("C0GENERAL") == [message]
    (call,) = sim.calls("chat.postMessage")
    assert (call.ok, call.status, call.args["blocks"]) == (True, 200, APPROVAL)
    assert "token" not in call.args


async def test_post_message_into_a_thread(sim: SlackSimulator, client: AsyncWebClient) -> None:
    parent = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    answer = await client.chat_postMessage(channel="C0ACME", text="Filed!", thread_ts=parent)
    assert (answer["message"]["thread_ts"], answer["message"]["parent_user_id"]) == (
        parent,
        "U0CAROL",
    )
    assert [m["text"] for m in sim.thread("C0ACME", parent)] == ["We need PDF export", "Filed!"]


async def test_post_message_to_a_user_lands_in_the_dm(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    answer = await client.chat_postMessage(channel="U0BOB", text="Your weekly digest")
    assert answer["channel"] == "D0BOB"
    assert sim.dm_channel("U0BOB") == "D0BOB"
    await client.chat_update(channel="D0BOB", ts=answer["ts"], text="Your weekly digest (v2)")
    assert [m["text"] for m in sim.dms("U0BOB")] == ["Your weekly digest (v2)"]
    assert sim.dms("U0ALICE") == []


async def test_post_message_by_channel_name(client: AsyncWebClient) -> None:
    assert (await client.chat_postMessage(channel="#general", text="hi"))["channel"] == "C0GENERAL"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel": "C0RANDOM", "text": "hi"}, "not_in_channel"),
        ({"channel": "G0SECRET", "text": "hi"}, "channel_not_found"),
        ({"channel": "C0NOPE", "text": "hi"}, "channel_not_found"),
        ({"channel": "U0GHOST", "text": "hi"}, "channel_not_found"),
        ({"channel": "C0GENERAL", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C0GENERAL", "text": "hi", "thread_ts": "1.000001"}, "thread_not_found"),
        ({"channel": "C0GENERAL", "text": "hi", "metadata": {"x": 1}}, "invalid_metadata_format"),
    ],
)
async def test_post_message_refusals(
    client: AsyncWebClient, args: dict[str, Any], error: str
) -> None:
    assert await refused(client.chat_postMessage(**args)) == error


async def test_post_message_without_text_or_blocks_is_no_text(client: AsyncWebClient) -> None:
    # through api_call: chat_postMessage itself warns before sending such a call
    empty = client.api_call("chat.postMessage", json={"channel": "C0GENERAL", "blocks": []})
    assert await refused(empty) == "no_text"


async def test_invalid_blocks_are_explained_as_slack_does(client: AsyncWebClient) -> None:
    blocks = [{"type": "actions", "elements": [{"type": "button", "text": "Approve"}]}]
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="x", blocks=blocks)
    answer = caught.value.response
    assert answer["error"] == "invalid_blocks"
    assert any("json-pointer:/blocks/0/elements/0/action_id" in e for e in answer["errors"])
    assert answer["response_metadata"]["messages"][0].startswith("[ERROR] ")


async def test_form_encoded_calls_carry_json_blocks_and_metadata(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "feedback_filed", "event_payload": {"id": "fb-1"}}
    form = {
        "channel": "C0GENERAL",
        "text": "Approve?",
        "blocks": json.dumps(APPROVAL),
        "metadata": json.dumps(metadata),
    }
    answer = await client.api_call("chat.postMessage", data=form)
    assert answer["message"]["blocks"] == APPROVAL
    assert answer["message"]["metadata"] == metadata
    assert sim.calls("chat.postMessage")[0].args["metadata"] == metadata
    bad = client.api_call("chat.postMessage", data=form | {"blocks": "[{oops"})
    assert await refused(bad) == "invalid_blocks_format"


async def test_post_ephemeral(sim: SlackSimulator, client: AsyncWebClient) -> None:
    answer = await client.chat_postEphemeral(channel="C0GENERAL", user="U0BOB", text="Only you")
    assert sim.ephemerals(user="U0BOB") == [
        {
            "channel": "C0GENERAL",
            "user": "U0BOB",
            "message_ts": answer["message_ts"],
            "text": "Only you",
        }
    ]
    assert sim.messages("C0GENERAL") == []
    not_member = client.chat_postEphemeral(channel="C0GENERAL", user="U0CAROL", text="x")
    assert await refused(not_member) == "user_not_in_channel"


async def test_update_only_the_bots_own_messages(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="Approve?", blocks=APPROVAL)
    done = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "Approved by <@U0ALICE>"}]}]
    answer = await client.chat_update(
        channel="C0GENERAL", ts=posted["ts"], text="Done", blocks=done
    )
    assert (answer["ts"], answer["text"], answer["message"]["blocks"]) == (
        posted["ts"],
        "Done",
        done,
    )
    assert answer["message"]["edited"]["user"] == "U0BOT"
    assert sim.messages("C0GENERAL")[0]["blocks"] == done
    theirs = sim.post_message("C0GENERAL", "U0ALICE", "mine")
    assert await refused(client.chat_update(channel="C0GENERAL", ts=theirs, text="x")) == (
        "cant_update_message"
    )
    missing = client.chat_update(channel="C0GENERAL", ts="1.000001", text="x")
    assert await refused(missing) == "message_not_found"


async def test_permalinks_of_messages_and_replies(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    parent = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    reply = sim.post_message("C0ACME", "U0ALICE", "Noted", thread_ts=parent)
    top = await client.chat_getPermalink(channel="C0ACME", message_ts=parent)
    digits = parent.replace(".", "")
    assert top["permalink"] == f"https://simulator.slack.com/archives/C0ACME/p{digits}"
    threaded = (await client.chat_getPermalink(channel="C0ACME", message_ts=reply))["permalink"]
    assert threaded.endswith(f"?thread_ts={parent}&cid=C0ACME")
    assert sim.permalink("C0ACME", reply) == threaded
    missing = client.chat_getPermalink(channel="C0ACME", message_ts="1.000001")
    assert await refused(missing) == "message_not_found"


async def test_reactions_by_the_bot_and_by_people(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    ts = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    sim.add_reaction("C0ACME", ts, "U0ALICE", "memo")
    await client.reactions_add(channel="C0ACME", name="eyes", timestamp=ts)
    assert sim.reactions("C0ACME", ts) == {"memo": ["U0ALICE"], "eyes": ["U0BOT"]}
    again = client.reactions_add(channel="C0ACME", name="eyes", timestamp=ts)
    assert await refused(again) == "already_reacted"
    missing = client.reactions_add(channel="C0ACME", name="eyes", timestamp="1.000001")
    assert await refused(missing) == "message_not_found"
    hidden = client.reactions_add(channel="G0SECRET", name="eyes", timestamp=ts)
    assert await refused(hidden) == "channel_not_found"
    history = await client.conversations_history(channel="C0ACME")
    assert history["messages"][0]["reactions"] == [
        {"name": "memo", "users": ["U0ALICE"], "count": 1},
        {"name": "eyes", "users": ["U0BOT"], "count": 1},
    ]
