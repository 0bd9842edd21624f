"""Faults on demand against slack_sdk's retry handlers, slow answers, and waiting on the journal."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator


async def test_429_carries_retry_after_and_the_rate_limit_handler_retries(
    sim: SlackSimulator,
) -> None:
    sim.fail("chat.postMessage", status=429, retry_after=0)
    client = AsyncWebClient(
        token=sim.token,
        base_url=sim.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    answer = await client.chat_postMessage(channel="C0GENERAL", text="digest")
    assert answer["ok"] is True
    assert [(c.status, c.error) for c in sim.calls("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]
    assert len(sim.messages("C0GENERAL")) == 1  # the refused attempt posted nothing


async def test_429_without_a_handler_raises_with_the_header(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    sim.fail("conversations.history", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        await client.conversations_history(channel="C0GENERAL")
    response = caught.value.response
    assert (response.status_code, response.headers["Retry-After"], response["error"]) == (
        429,
        "7",
        "ratelimited",
    )


@pytest.mark.parametrize(
    ("status", "error"), [(500, "internal_error"), (503, "service_unavailable")]
)
async def test_server_errors_are_retried_by_the_server_error_handler(
    sim: SlackSimulator, status: int, error: str
) -> None:
    sim.fail("users.info", status=status)
    handler = AsyncServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.0)
    )
    client = AsyncWebClient(token=sim.token, base_url=sim.api_url, retry_handlers=[handler])
    assert (await client.users_info(user="U0BOB"))["user"]["id"] == "U0BOB"
    assert [(c.status, c.error) for c in sim.calls("users.info")] == [(status, error), (200, None)]


async def test_an_error_fault_is_an_ok_false_answer(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    sim.fail("views.publish", error="not_enabled", times=2)
    view = {"type": "home", "blocks": []}
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.views_publish(user_id="U0ALICE", view=view)
        assert (caught.value.response.status_code, caught.value.response["error"]) == (
            200,
            "not_enabled",
        )
    assert (await client.views_publish(user_id="U0ALICE", view=view))["ok"] is True


async def test_faults_wait_for_a_call_that_reaches_the_method(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    sim.fail("auth.test", error="account_inactive")
    bad_token = AsyncWebClient(token="xoxb-wrong", base_url=sim.api_url)
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await bad_token.auth_test()
    with pytest.raises(SlackApiError, match="account_inactive"):
        await client.auth_test()


async def test_a_delay_holds_the_answer(sim: SlackSimulator, client: AsyncWebClient) -> None:
    sim.delay("auth.test", 0.2)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs status=, error= or retry_after="),
        ({"status": 302}, "use 200 with error=, or 400-599"),
        ({"error": "x", "times": 0}, "times=0"),
    ],
)
def test_fail_refuses_plans_that_make_no_sense(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlackSimulator().fail("auth.test", **kwargs)  # type: ignore[arg-type]


async def test_retry_after_alone_means_429(sim: SlackSimulator, client: AsyncWebClient) -> None:
    sim.fail("auth.test", retry_after=0)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert (caught.value.response.status_code, caught.value.response.headers["Retry-After"]) == (
        429,
        "0",
    )
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        sim.delay("auth.test", -1)


async def test_wait_for_wakes_on_matching_calls(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    to_bob = asyncio.create_task(
        sim.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "U0BOB")
    )
    two = asyncio.create_task(sim.wait_for("chat.postMessage", count=2))
    await client.chat_postMessage(channel="C0GENERAL", text="one")
    assert not to_bob.done()
    await client.chat_postMessage(channel="U0BOB", text="two")
    assert [c.args["text"] for c in await to_bob] == ["two"]
    assert [c.args["text"] for c in await two] == ["one", "two"]
    assert len(await sim.wait_for("chat.postMessage")) == 2  # already there: no wait


async def test_wait_for_says_what_came_instead(sim: SlackSimulator, client: AsyncWebClient) -> None:
    await client.auth_test()
    with pytest.raises(
        TimeoutError, match=r"1 matching call\(s\) of views\.open, got 0.*auth\.test"
    ):
        await sim.wait_for("views.open", timeout=0.05)


async def test_wait_for_needs_a_running_simulator() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        await SlackSimulator().wait_for("auth.test")


async def test_clear_journal(sim: SlackSimulator, client: AsyncWebClient) -> None:
    await client.auth_test()
    sim.clear_journal()
    assert sim.journal == []
    assert sim.calls("auth.test") == []


async def test_a_client_giving_up_ends_a_delayed_answer(sim: SlackSimulator) -> None:
    sim.delay("auth.test", 30)
    auth = {"Authorization": f"Bearer {sim.token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1)) as session:
        with pytest.raises(TimeoutError):
            await session.post(f"{sim.api_url}auth.test", headers=auth)
    (gone,) = await sim.wait_for("auth.test", where=lambda c: c.status == 0, timeout=5)
    assert (gone.ok, gone.error) == (False, None)


async def test_stopping_does_not_wait_for_a_delayed_answer() -> None:
    async with SlackSimulator() as sim, aiohttp.ClientSession() as session:
        sim.delay("auth.test", 30)
        auth = {"Authorization": f"Bearer {sim.token}"}
        pending = asyncio.create_task(session.post(f"{sim.api_url}auth.test", headers=auth))
        async with asyncio.timeout(5):
            while sim.pending_faults():  # until the request is being held
                await asyncio.sleep(0.01)
        started = time.monotonic()
        await sim.__aexit__(None, None, None)
        assert time.monotonic() - started < 5
        with pytest.raises(aiohttp.ClientError):
            await pending
    assert [(c.method, c.status) for c in sim.journal] == [("auth.test", 0)]


async def test_pending_faults_tell_whether_a_planned_fault_fired(
    sim: SlackSimulator, client: AsyncWebClient
) -> None:
    sim.fail("auth.test", error="x", times=2)
    sim.delay("users.info", 0.01)
    assert sim.pending_faults() == {"auth.test": 2, "users.info": 1}
    await client.users_info(user="U0BOB")
    assert sim.pending_faults() == {"auth.test": 2}
