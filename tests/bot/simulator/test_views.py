"""``views.open``, ``views.publish`` and ``views.update`` through the real ``AsyncWebClient``."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator
from tests.bot.simulator.test_conversations import refused

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "file_feedback",
    "external_id": "file-feedback-1",
    "private_metadata": '{"channel": "C0ACME"}',
    "title": {"type": "plain_text", "text": "File feedback"},
    "submit": {"type": "plain_text", "text": "File"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Loading…"}}],
}
HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Your feedback"}}],
}


async def test_views_open_returns_the_view_with_id_and_hash(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    view = (await client.views_open(trigger_id="123.456.abc", view=MODAL))["view"]
    assert view["id"].startswith("V")
    assert view["hash"]
    assert (view["type"], view["callback_id"], view["external_id"]) == (
        "modal",
        "file_feedback",
        "file-feedback-1",
    )
    assert (view["root_view_id"], view["team_id"], view["bot_id"]) == (view["id"], "T0SIM", "B0BOT")
    assert sim.modals() == [view]


async def test_views_open_refusals(client: AsyncWebClient) -> None:
    assert await refused(client.views_open(trigger_id="", view=MODAL)) == "invalid_arguments"
    assert await refused(client.views_open(trigger_id="t", view=HOME)) == "invalid_arguments"
    untitled = {k: v for k, v in MODAL.items() if k != "title"}
    assert await refused(client.views_open(trigger_id="t", view=untitled)) == "invalid_arguments"


async def test_views_update_by_id_or_external_id(client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id="t", view=MODAL))["view"]
    filled = MODAL | {"blocks": [{"type": "divider"}]}
    by_id = (await client.views_update(view_id=opened["id"], view=filled, hash=opened["hash"]))[
        "view"
    ]
    assert (by_id["id"], by_id["blocks"]) == (opened["id"], [{"type": "divider"}])
    assert by_id["hash"] != opened["hash"]
    by_external = await client.views_update(external_id="file-feedback-1", view=MODAL)
    assert by_external["view"]["id"] == opened["id"]
    stale = client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    assert await refused(stale) == "hash_conflict"
    assert await refused(client.views_update(view_id="V0NOPE", view=MODAL)) == "not_found"


async def test_views_publish_keeps_a_home_per_user(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    first = (await client.views_publish(user_id="U0ALICE", view=HOME))["view"]
    assert sim.home_view("U0ALICE") == first
    assert sim.home_view("U0BOB") is None
    second = (await client.views_publish(user_id="U0ALICE", view=HOME, hash=first["hash"]))["view"]
    assert second["id"] == first["id"]
    stale = client.views_publish(user_id="U0ALICE", view=HOME, hash=first["hash"])
    assert await refused(stale) == "hash_conflict"
    assert await refused(client.views_publish(user_id="U0GHOST", view=HOME)) == "invalid_arguments"
    assert await refused(client.views_publish(user_id="U0ALICE", view=MODAL)) == "invalid_arguments"


async def test_a_bad_home_view_is_explained(client: AsyncWebClient) -> None:
    too_many = HOME | {"blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError) as caught:
        await client.views_publish(user_id="U0ALICE", view=too_many)
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must provide no more than 100 items [json-pointer:/view/blocks]"
    ]
