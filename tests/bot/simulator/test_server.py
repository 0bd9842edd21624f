"""The HTTP side: tokens, unknown methods, request bodies and the ``/_sim/`` control endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator


@pytest.fixture
async def http(sim: SlackSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def post(http: aiohttp.ClientSession, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(path, **kwargs) as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


def test_urls_need_a_running_simulator() -> None:
    sim = SlackSimulator()
    assert "not started" in repr(sim)
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.api_url


async def test_api_url_is_what_the_client_joins_methods_to(sim: SlackSimulator) -> None:
    assert sim.api_url == f"{sim.url}/api/"
    assert sim.url.startswith("http://127.0.0.1:")
    assert repr(sim) == f"<SlackSimulator T0SIM {sim.url}>"


async def test_a_wrong_token_is_invalid_auth(sim: SlackSimulator) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=sim.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert (caught.value.response.status_code, caught.value.response["error"]) == (
        200,
        "invalid_auth",
    )
    assert [(c.method, c.error) for c in sim.journal] == [("auth.test", "invalid_auth")]


async def test_no_token_is_not_authed(http: aiohttp.ClientSession, sim: SlackSimulator) -> None:
    assert await post(http, "/api/auth.test") == (200, {"ok": False, "error": "not_authed"})


async def test_the_token_may_come_as_a_form_field(
    http: aiohttp.ClientSession, sim: SlackSimulator
) -> None:
    status, body = await post(http, "/api/users.info", data={"token": sim.token, "user": "U0BOB"})
    assert (status, body["user"]["id"]) == (200, "U0BOB")
    assert sim.calls("users.info")[0].args == {"user": "U0BOB"}  # the token is not journaled


async def test_an_unknown_method_fails_loudly_as_slack_answers_it(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("chat.postMesage", json={"channel": "C0GENERAL", "text": "typo"})
    response = caught.value.response
    assert response.status_code == 200
    assert response.data == {
        "ok": False,
        "error": "unknown_method",
        "req_method": "chat.postMesage",
    }
    (call,) = sim.journal
    assert (call.method, call.ok, call.error, call.args["text"]) == (
        "chat.postMesage",
        False,
        "unknown_method",
        "typo",
    )


async def test_get_query_arguments_and_json_bodies(
    http: aiohttp.ClientSession, sim: SlackSimulator
) -> None:
    auth = {"Authorization": f"Bearer {sim.token}"}
    async with http.get("/api/users.info", params={"user": "U0ALICE"}, headers=auth) as response:
        assert (await response.json())["user"]["name"] == "alice"
    status, body = await post(
        http, "/api/chat.postMessage", json={"channel": "C0GENERAL", "text": "hi"}, headers=auth
    )
    assert (status, body["ok"]) == (200, True)
    status, body = await post(
        http,
        "/api/chat.postMessage",
        data=b"{not json",
        headers=auth | {"Content-Type": "application/json"},
    )
    assert (status, body["error"]) == (200, "invalid_json")
    assert [c.error for c in sim.journal] == [None, None, "invalid_json"]


async def test_control_journal_and_state(
    http: aiohttp.ClientSession, sim: SlackSimulator, client: AsyncWebClient
) -> None:
    await client.auth_test()
    await client.chat_postMessage(channel="C0GENERAL", text="hello")
    async with http.get("/_sim/journal", params={"method": "chat.postMessage"}) as response:
        journal = await response.json()
    assert [(c["method"], c["ok"], c["args"]["text"]) for c in journal] == [
        ("chat.postMessage", True, "hello")
    ]
    async with http.get("/_sim/state") as response:
        state = await response.json()
    general = next(c for c in state["channels"] if c["id"] == "C0GENERAL")
    assert [m["text"] for m in general["messages"]] == ["hello"]
    assert state["bot"]["user_id"] == "U0BOT"
    assert state == sim.state()
    async with http.delete("/_sim/journal") as response:
        assert response.status == 200
    assert sim.journal == []


async def test_control_people_post_and_react(
    http: aiohttp.ClientSession, sim: SlackSimulator
) -> None:
    status, posted = await post(
        http, "/_sim/messages", json={"channel": "C0ACME", "user": "U0CAROL", "text": "PDF?"}
    )
    assert status == 200
    ts = posted["ts"]
    status, reply = await post(
        http,
        "/_sim/messages",
        data={"channel": "C0ACME", "user": "U0ALICE", "text": "On it", "thread_ts": ts},
    )
    assert (status, reply["channel"]) == (200, "C0ACME")
    assert [m["text"] for m in sim.thread("C0ACME", ts)] == ["PDF?", "On it"]
    reaction = {"channel": "C0ACME", "ts": ts, "user": "U0ALICE", "name": "memo"}
    assert await post(http, "/_sim/reactions", json=reaction) == (200, {"ok": True})
    assert sim.reactions("C0ACME", ts) == {"memo": ["U0ALICE"]}
    status, refused = await post(http, "/_sim/reactions", json=reaction)
    assert (status, refused["error"]) == (400, "already_reacted")
    status, refused = await post(
        http, "/_sim/messages", json={"channel": "C0NOPE", "user": "U0CAROL", "text": "x"}
    )
    assert (status, refused["error"]) == (400, "channel_not_found")


async def test_control_faults(
    http: aiohttp.ClientSession, sim: SlackSimulator, client: AsyncWebClient
) -> None:
    plan = {"method": "users.info", "error": "user_not_visible", "times": 2}
    assert await post(http, "/_sim/faults", json=plan) == (
        200,
        {"ok": True, "pending": {"users.info": 2}},
    )
    for _ in range(2):
        with pytest.raises(SlackApiError, match="user_not_visible"):
            await client.users_info(user="U0BOB")
    assert (await client.users_info(user="U0BOB"))["ok"] is True
    status, body = await post(http, "/_sim/faults", json={"method": "users.info"})
    assert (status, body["error"]) == (400, "invalid_arguments")
    status, body = await post(http, "/_sim/faults", json={"error": "x"})
    assert (status, body["detail"]) == (400, "`method` is required")
    assert (await post(http, "/_sim/faults", data={"method": "auth.test", "delay": "0.01"}))[
        0
    ] == 200
