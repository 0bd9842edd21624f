"""``auth.*``, ``users.*`` and ``conversations.*`` through the real ``AsyncWebClient``."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator


async def refused(call: object) -> str:
    """The Slack error code of an awaited client call that must fail."""
    assert hasattr(call, "__await__")
    with pytest.raises(SlackApiError) as caught:
        await call
    error: str = caught.value.response["error"]
    return error


async def test_auth_test_names_the_bot_and_team(client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["ok"] is True
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("U0BOT", "B0BOT", "T0SIM")
    assert answer["url"] == "https://simulator.slack.com/"


async def test_users_info_gives_the_profile_email(client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0ALICE"))["user"]
    assert (user["id"], user["name"], user["team_id"]) == ("U0ALICE", "alice", "T0SIM")
    assert user["profile"]["email"] == "alice@ourco.example"
    assert user["real_name"] == "Alice Adams"
    external = (await client.users_info(user="U0CAROL"))["user"]
    assert external["team_id"] == "T0ACME"
    assert await refused(client.users_info(user="U0GHOST")) == "user_not_found"


async def test_users_lookup_by_email(client: AsyncWebClient) -> None:
    found = await client.users_lookupByEmail(email="Carol@Acme.example")
    assert found["user"]["id"] == "U0CAROL"
    assert await refused(client.users_lookupByEmail(email="x@y.example")) == "users_not_found"


async def test_conversations_info_respects_visibility(client: AsyncWebClient) -> None:
    shared = (await client.conversations_info(channel="C0ACME", include_num_members=True))[
        "channel"
    ]
    assert (shared["name"], shared["is_ext_shared"], shared["is_member"]) == (
        "acme-shared",
        True,
        True,
    )
    assert shared["num_members"] == 3
    assert shared["shared_team_ids"] == ["T0ACME", "T0SIM"]
    public = (await client.conversations_info(channel="C0RANDOM"))["channel"]
    assert (public["is_member"], public["is_private"]) == (False, False)
    assert await refused(client.conversations_info(channel="G0SECRET")) == "channel_not_found"
    assert await refused(client.conversations_info(channel="C0NOPE")) == "channel_not_found"


async def test_conversations_open_gives_a_stable_dm(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    first = await client.conversations_open(users="U0ALICE")
    assert first["channel"] == {"id": "D0ALICE"}
    again = await client.conversations_open(users=["U0ALICE"], return_im=True)
    assert (again["already_open"], again["channel"]["is_im"], again["channel"]["user"]) == (
        True,
        True,
        "U0ALICE",
    )
    assert sim.dm_channel("U0ALICE") == "D0ALICE"
    info = (await client.conversations_info(channel="D0ALICE"))["channel"]
    assert (info["is_im"], info["user"]) == (True, "U0ALICE")
    resumed = await client.conversations_open(channel="D0ALICE")
    assert resumed["channel"]["id"] == "D0ALICE"


@pytest.mark.parametrize(
    ("users", "error"),
    [
        ("U0GHOST", "user_not_found"),
        ("", "users_list_not_supplied"),
        ("U0ALICE,U0BOB", "invalid_arguments"),
        ("U0BOT", "cannot_dm_bot"),
    ],
)
async def test_conversations_open_refusals(client: AsyncWebClient, users: str, error: str) -> None:
    assert await refused(client.conversations_open(users=users)) == error


async def test_history_through_the_client(sim: SlackSimulator, client: AsyncWebClient) -> None:
    parent = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    reply = sim.post_message("C0ACME", "U0ALICE", "Noted", thread_ts=parent)
    later = sim.post_message("C0ACME", "U0CAROL", "And SSO")
    answer = await client.conversations_history(channel="C0ACME")
    assert [m["ts"] for m in answer["messages"]] == [later, parent]
    top = answer["messages"][1]
    assert (top["reply_count"], top["latest_reply"], top["user_team"]) == (1, reply, "T0ACME")
    assert top["blocks"][0]["type"] == "rich_text"  # as Slack's clients send typed text
    exact = await client.conversations_history(
        channel="C0ACME", latest=reply, oldest=reply, inclusive=True, limit=1
    )
    assert exact["messages"] == []  # a reply: history cannot see it


async def test_history_pages_with_the_clients_async_iterator(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    posted = [sim.post_message("C0GENERAL", "U0ALICE", f"m{n}") for n in range(5)]
    # the iterator yields one response object, refilled per page: read it inside the loop
    first = await client.conversations_history(channel="C0GENERAL", limit=2)
    pages = [[m["ts"] for m in page["messages"]] async for page in first]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [ts for page in pages for ts in page] == posted[::-1]


async def test_history_refusals(client: AsyncWebClient) -> None:
    assert await refused(client.conversations_history(channel="C0RANDOM")) == "not_in_channel"
    assert await refused(client.conversations_history(channel="G0SECRET")) == "channel_not_found"
    bad_cursor = client.conversations_history(channel="C0GENERAL", cursor="bogus")
    assert await refused(bad_cursor) == "invalid_cursor"


async def test_replies_by_parent_and_by_reply(sim: SlackSimulator, client: AsyncWebClient) -> None:
    parent = sim.post_message("C0ACME", "U0CAROL", "We need PDF export")
    replies = [sim.post_message("C0ACME", "U0ALICE", f"r{n}", thread_ts=parent) for n in range(3)]
    first = await client.conversations_replies(channel="C0ACME", ts=parent, limit=2)
    pages = [[m["ts"] for m in page["messages"]] async for page in first]
    assert pages == [
        [parent, replies[0]],
        replies[1:],
    ]
    one = await client.conversations_replies(channel="C0ACME", ts=replies[2])
    assert [(m["ts"], m["thread_ts"], m["parent_user_id"]) for m in one["messages"]] == [
        (replies[2], parent, "U0CAROL")
    ]
    unknown = client.conversations_replies(channel="C0ACME", ts="1.000001")
    assert await refused(unknown) == "thread_not_found"
