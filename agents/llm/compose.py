"""Compose short, friendly Slack DMs, with plain templates as the offline fallback.

Three kinds of message, each a small frozen dataclass: :class:`FeedbackLinked`
(confirmation to the submitter), :class:`NoFeedbackReminder` (to a request's creator)
and :class:`RequestShipped` (to each follower). Model-written text is checked: no
mentions or broadcasts, and no link but the request's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from agents.llm.client import LLMClient, with_fallback
from agents.llm.prompts import COMPOSE_SYSTEM
from agents.llm.text import clip, find_links, sanitize_output, slack_escape

__all__ = [
    "ComposedMessage",
    "DirectMessage",
    "FeedbackLinked",
    "NoFeedbackReminder",
    "RequestShipped",
    "compose_dm",
    "fallback_dm",
]

logger = logging.getLogger(__name__)

MAX_TEXT = 600


@dataclass(frozen=True)
class FeedbackLinked:
    """Tell a submitter their feedback was linked to a request (or filed as a new one).

    Attributes:
        request_title: The request's title.
        request_url: A link to the request, if there is one.
        new_request: True when the feedback was filed as a new request.
        recipient: First name to greet, if known.
    """

    request_title: str
    request_url: str | None = None
    new_request: bool = False
    recipient: str | None = None


@dataclass(frozen=True)
class NoFeedbackReminder:
    """Remind a request's creator that no customer feedback is attached yet.

    Attributes:
        request_title: The request's title.
        request_url: A link to the request, if there is one.
        recipient: First name to greet, if known.
    """

    request_title: str
    request_url: str | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class RequestShipped:
    """Tell a follower that a request has shipped.

    Attributes:
        request_title: The request's title.
        request_url: A link to the request, if there is one.
        recipient: First name to greet, if known.
        accounts: Customer accounts that asked for it, to tell them.
    """

    request_title: str
    request_url: str | None = None
    recipient: str | None = None
    accounts: Sequence[str] = ()


DirectMessage: TypeAlias = FeedbackLinked | NoFeedbackReminder | RequestShipped


class ComposedMessage(BaseModel):
    """A DM ready to post (Slack mrkdwn).

    Attributes:
        text: The message.
        source: ``"llm"``, or ``"fallback"`` when it comes from a template.
    """

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1, max_length=4000)
    source: Literal["llm", "fallback"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=MAX_TEXT, description="The Slack message, one to three sentences."
    )


async def compose_dm(message: DirectMessage, *, llm: LLMClient | None) -> ComposedMessage:
    """Write a DM for ``message`` with the LLM, or from a template offline.

    Args:
        message: What to tell whom.
        llm: The LLM client, or ``None`` to use the template.

    Returns:
        The message; ``source`` says whether the LLM or the template wrote it.
    """

    async def call(client: LLMClient) -> ComposedMessage:
        answer = await client.structured(
            _Answer,
            task="compose_dm",
            system=COMPOSE_SYSTEM,
            data=_data(message),
            check=lambda answer: _check(answer, message.request_url),
        )
        return ComposedMessage(text=_with_link(answer.text, message), source="llm")

    async def offline() -> ComposedMessage:
        return fallback_dm(message)

    return await with_fallback("compose_dm", llm, call, offline)


def fallback_dm(message: DirectMessage) -> ComposedMessage:
    """Write a DM for ``message`` from a plain template.

    Args:
        message: What to tell whom.

    Returns:
        The message with ``source="fallback"``.
    """
    title = f"*{slack_escape(clip(message.request_title, 200))}*"
    hello = f", {slack_escape(message.recipient)}" if message.recipient else ""
    if isinstance(message, FeedbackLinked) and message.new_request:
        text = (
            f"Thanks{hello}! I filed your feedback as a new request: {title}. "
            "You're following it, so you'll hear from me when it ships."
        )
    elif isinstance(message, FeedbackLinked):
        text = (
            f"Thanks{hello}! I linked your feedback to {title}. You're following it "
            "now, so you'll hear from me when it ships."
        )
    elif isinstance(message, NoFeedbackReminder):
        text = (
            f"Hi{hello}, your request {title} has no customer feedback attached yet. "
            "Linking a customer conversation or two helps the team size it."
        )
    else:
        asked = ""
        if message.accounts:
            names = ", ".join(slack_escape(a) for a in list(message.accounts)[:5])
            asked = f" Customers who asked for it: {names}."
        text = (
            f"Good news{hello}: {title} has shipped!{asked} "
            "Now is a great time to let your customers know."
        )
    return ComposedMessage(text=_with_link(text, message), source="fallback")


def _data(message: DirectMessage) -> dict[str, Any]:
    kind = {
        FeedbackLinked: "feedback_linked",
        NoFeedbackReminder: "no_feedback_reminder",
        RequestShipped: "request_shipped",
    }[type(message)]
    data: dict[str, Any] = {
        "kind": kind,
        "request_title": clip(message.request_title, 200),
        "recipient": message.recipient,
    }
    if isinstance(message, FeedbackLinked):
        data["new_request"] = message.new_request
    if isinstance(message, RequestShipped):
        data["accounts"] = [clip(a, 100) for a in list(message.accounts)[:10]]
    if message.request_url:
        data["request_link"] = message.request_url
    return data


def _check(answer: _Answer, allowed_url: str | None) -> _Answer:
    text = sanitize_output(answer.text)
    if find_links(text) - ({allowed_url} if allowed_url else set()):
        raise ValueError("text: must not contain links other than the given request_link")
    if not text:
        raise ValueError("text: must not be empty once mentions are removed")
    return _Answer(text=text)


def _with_link(text: str, message: DirectMessage) -> str:
    url = message.request_url
    if (
        not url
        or url in text
        or len(url) > 2000
        or find_links(url) != {url}
        or not url.startswith("http")
    ):
        return text
    return f"{text}\n<{url}|Open the request>"
