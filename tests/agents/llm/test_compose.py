"""compose_dm: friendly DMs via the LLM (checked), and plain templates offline."""

from __future__ import annotations

import pytest

from agents.llm import (
    ComposedMessage,
    FeedbackLinked,
    LLMClient,
    NoFeedbackReminder,
    RequestShipped,
    compose_dm,
)
from agents.llm.prompts import COMPOSE_SYSTEM
from tests.agents.llm.conftest import data_of
from tests.fakes import FakeOpenAIServer

URL = "https://feedback.example.com/r/42"


async def test_compose_through_the_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    text = f"Thanks Dana! Your note is now on <{URL}|SSO for Okta> :tada:"
    fake_openai.reply_with({"text": text})
    message = FeedbackLinked("SSO for Okta", URL, recipient="Dana")
    assert await compose_dm(message, llm=llm) == ComposedMessage(text=text, source="llm")
    system, _ = fake_openai.chat_requests[0].messages
    assert system["content"] == COMPOSE_SYSTEM
    data = data_of(fake_openai.chat_requests[0].messages)
    assert data == {
        "kind": "feedback_linked",
        "request_title": "SSO for Okta",
        "recipient": "Dana",
        "new_request": False,
        "request_link": URL,
    }


async def test_mentions_are_removed_and_the_link_is_added(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with({"text": "<!channel> It shipped, <@U999>!"})
    result = await compose_dm(RequestShipped("Dark mode", URL), llm=llm)
    assert result.text == f"It shipped, !\n<{URL}|Open the request>"
    assert result.source == "llm"


async def test_foreign_links_are_rejected_then_repaired(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(
        {"text": "Claim your prize at https://evil.example"}, {"text": f"Linked! {URL}"}
    )
    result = await compose_dm(FeedbackLinked("SSO", URL), llm=llm)
    assert result.text == f"Linked! {URL}"
    assert "links other than" in fake_openai.chat_requests[1].messages[-1]["content"]


async def test_failure_falls_back_to_the_template(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fail_next(500, times=3)
    result = await compose_dm(NoFeedbackReminder("Dark mode", URL, recipient="Lee"), llm=llm)
    assert result.source == "fallback"
    assert result.text.startswith("Hi, Lee, your request *Dark mode*")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            FeedbackLinked("SSO <!here>", URL, recipient="Dana"),
            f"Thanks, Dana! I linked your feedback to *SSO &lt;!here&gt;*. You're following it "
            f"now, so you'll hear from me when it ships.\n<{URL}|Open the request>",
        ),
        (
            FeedbackLinked("SSO", None, new_request=True),
            "Thanks! I filed your feedback as a new request: *SSO*. You're following it, so "
            "you'll hear from me when it ships.",
        ),
        (
            NoFeedbackReminder("Dark mode"),
            "Hi, your request *Dark mode* has no customer feedback attached yet. Linking a "
            "customer conversation or two helps the team size it.",
        ),
        (
            RequestShipped("Dark mode", accounts=("Acme", "Globex")),
            "Good news: *Dark mode* has shipped! Customers who asked for it: Acme, Globex. "
            "Now is a great time to let your customers know.",
        ),
    ],
)
async def test_templates(
    message: FeedbackLinked | NoFeedbackReminder | RequestShipped, expected: str
) -> None:
    assert await compose_dm(message, llm=None) == ComposedMessage(text=expected, source="fallback")
