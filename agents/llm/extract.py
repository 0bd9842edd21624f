"""Extract the customer's pain from a Slack message or thread, with an offline fallback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.llm.client import LLMClient, with_fallback
from agents.llm.prompts import EXTRACT_SYSTEM
from agents.llm.text import (
    Severity,
    clean_slack_text,
    clip,
    extractive_summary,
    find_account,
    guess_severity,
    sentences,
)

__all__ = ["Extraction", "ThreadMessage", "extract_feedback", "fallback_extraction"]

logger = logging.getLogger(__name__)

MAX_MESSAGES = 30
MAX_MESSAGE_CHARS = 3000
MAX_THREAD_CHARS = 12000


@dataclass(frozen=True)
class ThreadMessage:
    """One Slack message of a feedback thread.

    Attributes:
        author: Display name (or user id) of the author.
        text: The message text, Slack markup allowed.
    """

    author: str
    text: str


class Extraction(BaseModel):
    """The feedback signal of a conversation.

    Attributes:
        summary: One or two sentences on what the customer asked for.
        pain: The underlying problem or missing capability.
        customer_specific: Whether it is tied to one customer rather than general.
        account: The customer account, one of the known accounts when they were given.
        severity: ``low``, ``medium`` or ``high``.
        source: ``"llm"``, or ``"fallback"`` when extracted offline.
    """

    model_config = ConfigDict(frozen=True)

    summary: str = Field(max_length=500)
    pain: str = Field(max_length=1000)
    customer_specific: bool
    account: str | None = Field(default=None, max_length=200)
    severity: Severity
    source: Literal["llm", "fallback"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(
        min_length=1, max_length=500, description="What the customer asked for or struggled with."
    )
    pain_description: str = Field(
        min_length=1, max_length=1000, description="The underlying problem, specific and clear."
    )
    is_customer_specific: bool
    account: str | None = Field(max_length=200, description="Customer account or null.")
    severity: Severity


async def extract_feedback(
    thread: ThreadMessage | Sequence[ThreadMessage],
    *,
    llm: LLMClient | None,
    known_accounts: Sequence[str] = (),
) -> Extraction:
    """Extract summary, pain, account and severity from a Slack message or thread.

    Args:
        thread: The message, or the thread with the customer's message first.
        llm: The LLM client, or ``None`` to extract offline.
        known_accounts: Customer account names the answer may name.

    Returns:
        The extraction; ``source`` says whether the LLM or the fallback produced it.
    """
    messages = _prepare(thread)

    async def call(client: LLMClient) -> Extraction:
        data = {
            "messages": [{"author": m.author, "text": m.text} for m in messages],
            "known_accounts": list(known_accounts),
        }
        answer = await client.structured(
            _Answer, task="extract_feedback", system=EXTRACT_SYSTEM, data=data
        )
        return _from_answer(answer, known_accounts)

    async def offline() -> Extraction:
        return fallback_extraction(messages, known_accounts=known_accounts)

    if not messages:  # nothing to read: no reason to ask a model
        return await offline()
    return await with_fallback("extract_feedback", llm, call, offline)


def fallback_extraction(
    thread: ThreadMessage | Sequence[ThreadMessage], *, known_accounts: Sequence[str] = ()
) -> Extraction:
    """Extract offline: extractive summary, pain sentences, cue-based severity.

    The summary is the most informative sentences; the pain is the first sentences
    carrying pain cues (else the summary); the account is the known account named most
    often; the feedback counts as customer-specific when an account was found.

    Args:
        thread: The message, or the thread with the customer's message first.
        known_accounts: Customer account names to look for.

    Returns:
        An extraction with ``source="fallback"``.
    """
    texts = [m.text for m in _prepare(thread)]
    everything = "\n".join(texts)
    summary = extractive_summary(texts, limit=300) or "No text in the message."
    pain = _pain_sentences(texts) or summary
    account = find_account(everything, known_accounts)
    return Extraction(
        summary=summary,
        pain=clip(pain, 1000),
        customer_specific=account is not None,
        account=account,
        severity=guess_severity(everything),
        source="fallback",
    )


def _prepare(thread: ThreadMessage | Sequence[ThreadMessage]) -> list[ThreadMessage]:
    items = [thread] if isinstance(thread, ThreadMessage) else list(thread)
    if len(items) > MAX_MESSAGES:  # keep the opening message and the latest replies
        items = [items[0], *items[-(MAX_MESSAGES - 1) :]]
    prepared, budget = [], MAX_THREAD_CHARS
    for item in items:
        text = clip(clean_slack_text(item.text), min(MAX_MESSAGE_CHARS, budget))
        if text:
            prepared.append(ThreadMessage(clip(item.author, 100), text))
            budget -= len(text)
        if budget <= 0:
            break
    return prepared


def _pain_sentences(texts: Sequence[str]) -> str:
    cues = (
        "need",
        "want",
        "wish",
        "can't",
        "cannot",
        "unable",
        "missing",
        "broken",
        "doesn't",
        "not working",
        "blocked",
        "error",
        "fail",
        "slow",
        "no way",
    )
    found = [s for text in texts for s in sentences(text) if any(cue in s.lower() for cue in cues)]
    return " ".join(found[:3])


def _from_answer(answer: _Answer, known_accounts: Sequence[str]) -> Extraction:
    account = answer.account.strip() if answer.account else None
    if account and known_accounts:
        lookup = {name.casefold(): name for name in known_accounts}
        account = lookup.get(account.casefold())
        if account is None:
            logger.info("extract_feedback: the model named an unknown account; ignoring it")
    return Extraction(
        summary=answer.summary.strip(),
        pain=answer.pain_description.strip(),
        customer_specific=answer.is_customer_specific,
        account=account or None,
        severity=answer.severity,
        source="llm",
    )
