"""A Bolt ``AsyncApp`` runs against the simulator as against Slack: its calls, a listener's."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator

SECRET = "signing-secret"


def signed(envelope: dict[str, Any]) -> AsyncBoltRequest:
    body = json.dumps(envelope)
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    headers: dict[str, str | Sequence[str]] = {
        "content-type": "application/json",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }
    return AsyncBoltRequest(body=body, headers=headers)


async def test_a_reaction_listener_reads_the_message_and_answers_in_its_thread(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    ts = sim.post_message("C0ACME", "U0CAROL", "Can we export dashboards to PDF?")
    app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)

    @app.event("reaction_added")
    async def file_it(event: dict[str, Any], client: AsyncWebClient, say: AsyncSay) -> None:
        item = event["item"]
        found = await client.conversations_history(
            channel=item["channel"], latest=item["ts"], oldest=item["ts"], inclusive=True, limit=1
        )
        await say(text=f"Filed: {found['messages'][0]['text']}", thread_ts=item["ts"])

    event = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "memo",
        "item": {"type": "message", "channel": "C0ACME", "ts": ts},
        "event_ts": ts,
    }
    envelope = {
        "type": "event_callback",
        "team_id": "T0SIM",
        "api_app_id": "A0SIM",
        "event_id": "Ev0001",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": "T0SIM", "user_id": "U0BOT", "is_bot": True}],
    }
    response = await app.async_dispatch(signed(envelope))
    assert response.status == 200
    assert [c.method for c in sim.journal] == [
        "auth.test",
        "conversations.history",
        "chat.postMessage",
    ]
    assert sim.thread("C0ACME", ts)[-1]["text"] == "Filed: Can we export dashboards to PDF?"
