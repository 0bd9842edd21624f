"""Outbound Slack: the error mapping, retries and lookups, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.simulator import SlackSimulator
from workflows.engine import FatalError, RetryableError
from workflows.slack import HINTS, Slack, SlackFatal


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        simulator.add_user("U0SAM", "sam", email="sam@ourco.example")
        simulator.add_channel("C0GEN", "general", members=["U0SAM"])
        yield simulator


@pytest.fixture
async def slack(sim: SlackSimulator) -> AsyncIterator[Slack]:
    async with aiohttp.ClientSession() as session:
        yield Slack.connect(sim.token, sim.api_url, session=session)


@pytest.mark.parametrize("error", sorted(HINTS))
async def test_errors_retrying_cannot_fix_are_fatal_and_say_what_to_do(
    sim: SlackSimulator, slack: Slack, error: str
) -> None:
    sim.fail("chat.postMessage", error=error)

    with pytest.raises(SlackFatal) as caught:
        await slack.post("C0GEN", "hello")

    assert isinstance(caught.value, FatalError)
    assert caught.value.error == error and HINTS[error] in str(caught.value)


async def test_not_in_channel_tells_how_to_invite_the_bot(
    sim: SlackSimulator, slack: Slack
) -> None:
    sim.add_channel("C0OTHER", "other", bot_is_member=False)

    with pytest.raises(SlackFatal, match="invite the bot to the channel with /invite"):
        await slack.post("C0OTHER", "hello")


async def test_other_errors_are_retryable(sim: SlackSimulator, slack: Slack) -> None:
    sim.fail("chat.postMessage", error="fatal_error")

    with pytest.raises(RetryableError, match="fatal_error"):
        await slack.post("C0GEN", "hello")


async def test_429_and_500_are_retried_by_the_client(sim: SlackSimulator, slack: Slack) -> None:
    sim.fail("chat.postMessage", status=429, retry_after=0)
    sim.fail("chat.postMessage", status=500)

    channel, ts = await slack.post("C0GEN", "hello")

    assert channel == "C0GEN" and ts
    assert [c.status for c in sim.calls("chat.postMessage")] == [429, 500, 200]


async def test_a_429_that_outlasts_the_client_asks_the_step_to_wait(
    sim: SlackSimulator, slack: Slack
) -> None:
    sim.fail("chat.postMessage", status=429, retry_after=0, times=5)

    with pytest.raises(RetryableError) as caught:
        await slack.post("C0GEN", "hello")

    assert caught.value.retry_after == 0


async def test_an_unknown_user_is_none_and_asked_once(sim: SlackSimulator, slack: Slack) -> None:
    assert await slack.user("U0NOBODY") is None
    assert await slack.user("U0NOBODY") is None
    person = await slack.user("U0SAM")

    assert person is not None and person.email == "sam@ourco.example"
    assert len(sim.calls("users.info")) == 2


async def test_already_reacted_counts_as_done(sim: SlackSimulator, slack: Slack) -> None:
    ts = sim.post_message("C0GEN", "U0SAM", "hello")

    await slack.add_reaction("C0GEN", ts, "eyes")
    await slack.add_reaction("C0GEN", ts, "eyes")

    assert sim.reactions("C0GEN", ts) == {"eyes": [sim.bot_user_id]}


async def test_a_thread_reply_is_found_with_its_parent(sim: SlackSimulator, slack: Slack) -> None:
    parent = sim.post_message("C0GEN", "U0SAM", "parent")
    reply = sim.post_message("C0GEN", "U0SAM", "reply", thread_ts=parent)

    target, thread = await slack.thread_of("C0GEN", reply)

    assert target.ts == reply and target.thread_ts == parent
    assert [m.text for m in thread] == ["parent", "reply"]


async def test_a_message_posted_with_a_key_is_found_again(
    sim: SlackSimulator, slack: Slack
) -> None:
    _, ts = await slack.post("C0GEN", "hello", key="confirm:1")

    assert await slack.find_posted("C0GEN", "confirm:1") == ts
    assert await slack.find_posted("C0GEN", "confirm:2") is None
