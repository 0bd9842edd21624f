"""``response_url``: minted by the simulator, answered as Slack answers, used 5 times in 30 min."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as sr
from tests.bot.simulator.conftest import FakeClock, populate

DONE: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "Done"}}]


async def post(url: str, **body: Any) -> tuple[int, dict[str, Any]]:
    """POST a JSON response as Bolt's ``respond`` does (slack_sdk's webhook client)."""
    answer = await AsyncWebhookClient(url).send_dict(body)
    return answer.status_code, json.loads(answer.body)


async def refusal(url: str, **body: Any) -> tuple[int, str]:
    status, answer = await post(url, **body)
    assert answer["ok"] is False
    return status, answer["error"]


async def test_an_ephemeral_answer_by_default_journaled_as_response_url(
    sim: SlackSimulator,
) -> None:
    url = sim.response_url("C0GENERAL", user="U0ALICE")
    assert url.startswith(f"{sim.url}/_sim/respond/T0SIM-")

    assert await post(url, text="Only you can see this") == (200, {"ok": True})
    (call,) = await sim.wait_for("response_url")
    assert (call.ok, call.status, call.team_id) == (True, 200, "T0SIM")
    assert call.args == {"text": "Only you can see this", "response_url": url}
    (shown,) = sim.ephemerals(user="U0ALICE")
    assert (shown["channel"], shown["text"]) == ("C0GENERAL", "Only you can see this")
    assert sim.messages("C0GENERAL") == []


async def test_replace_original_replaces_the_bots_message(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="Approve?")
    url = sim.response_url("C0GENERAL", posted["ts"], "U0ALICE")

    assert await post(url, replace_original=True, text="Approved", blocks=DONE) == (
        200,
        {"ok": True},
    )
    (message,) = sim.messages("C0GENERAL")
    assert (message["ts"], message["text"], message["blocks"]) == (posted["ts"], "Approved", DONE)
    assert "edited" in message
    assert sim.ephemerals() == []


async def test_replace_original_on_a_persons_message_answers_anew(sim: SlackSimulator) -> None:
    ts = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    url = sim.response_url("C0ACME", ts, "U0ALICE")  # a message shortcut's URL

    assert (await post(url, replace_original=True, text="Filed"))[0] == 200
    assert [m["text"] for m in sim.messages("C0ACME")] == ["We need PDF export"]
    assert [e["text"] for e in sim.ephemerals(user="U0ALICE")] == ["Filed"]


async def test_an_ephemeral_is_replaced_and_deleted_through_its_url(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    shown = await client.chat_postEphemeral(channel="C0GENERAL", user="U0BOB", text="Undo?")
    url = sim.response_url("C0GENERAL", shown["message_ts"], "U0BOB")

    await post(url, replace_original=True, text="Undone")
    assert [e["text"] for e in sim.ephemerals(user="U0BOB")] == ["Undone"]
    await post(url, delete_original=True)
    assert sim.ephemerals(user="U0BOB") == []


async def test_delete_original_and_in_channel(sim: SlackSimulator, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0GENERAL", text="Request #12")
    card = await client.chat_postMessage(channel="C0GENERAL", text="Approve?")
    url = sim.response_url("C0GENERAL", card["ts"], "U0ALICE")

    await post(url, delete_original=True)
    assert [m["text"] for m in sim.messages("C0GENERAL")] == ["Request #12"]
    await post(url, response_type="in_channel", text="Alice approved", thread_ts=parent["ts"])
    (reply,) = sim.thread("C0GENERAL", parent["ts"])[1:]
    assert (reply["text"], reply["user"]) == ("Alice approved", "U0BOT")


async def test_five_uses_then_used_url() -> None:
    async with SlackSimulator() as sim:
        populate(sim)
        url = sim.response_url("C0GENERAL", user="U0ALICE")
        assert await refusal(url, text="") == (400, "no_text")  # refused, not counted
        for n in range(5):
            assert await post(url, text=f"update {n}") == (200, {"ok": True})

        assert await refusal(url, text="one more") == (404, "used_url")
    assert [c.error for c in sim.calls("response_url")] == ["no_text", *[None] * 5, "used_url"]
    assert sim.calls("response_url")[-1].status == 404
    assert len(sim.ephemerals(user="U0ALICE")) == 5


async def test_thirty_minutes_then_expired_url() -> None:
    clock = FakeClock()
    async with SlackSimulator(clock=clock) as sim:
        populate(sim)
        url = sim.response_url("C0GENERAL", user="U0ALICE")
        clock.now += 30 * 60
        assert (await post(url, text="just in time"))[0] == 200
        clock.now += 1
        assert await refusal(url, text="late") == (404, "expired_url")


async def test_unknown_urls_bad_bodies_and_planned_faults(sim: SlackSimulator) -> None:
    assert await refusal(f"{sim.url}/_sim/respond/nope", text="x") == (404, "no_service")
    url = sim.response_url("C0GENERAL", user="U0ALICE")
    async with aiohttp.ClientSession() as http, http.post(url, data=b"{not json") as response:
        assert (response.status, (await response.json())["error"]) == (400, "invalid_payload")
    async with aiohttp.ClientSession() as http:
        form = {"payload": '{"text": "as a form"}'}
        async with http.post(url, data=form) as response:
            assert response.status == 200
    assert [e["text"] for e in sim.ephemerals(user="U0ALICE")] == ["as a form"]

    sim.fail("response_url", status=500)
    assert (await post(url, text="x"))[0] == 500
    assert (await post(url, text="y"))[0] == 200
    assert sim.pending_faults() == {}
    no_channel = sim.response_url(user="U0ALICE")
    assert await refusal(no_channel, text="x") == (404, "channel_not_found")


async def test_bolt_respond_replaces_the_card_clicked(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    card = await client.chat_postMessage(channel="C0GENERAL", text="Approve?")
    app = AsyncApp(client=client, signing_secret=sr.SIGNING_SECRET, process_before_response=True)

    @app.action("approval.approve")
    async def approve(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    click = sr.block_action(
        "approval.approve",
        "apr-1",
        "U0ALICE",
        channel="C0GENERAL",
        message=sim.messages("C0GENERAL")[0],
        response_url=sim.response_url("C0GENERAL", card["ts"], "U0ALICE"),
    )
    response = await app.async_dispatch(click.to_bolt())

    assert response.status == 200
    (call,) = await sim.wait_for("response_url")
    assert call.args["replace_original"] is True
    assert sim.messages("C0GENERAL")[0]["text"] == "Approved by <@U0ALICE>"
