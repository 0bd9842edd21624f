"""Extract the customer's asks from a Slack message or thread, with an offline fallback.

One thread may carry several distinct asks ("PDF export, and also the CSV import drops
rows"): each becomes an :class:`ExtractedItem`, matched on its own by the caller. Chatter
(greetings, thanks, "no action needed", colleagues' notes, bots' replies) files nothing.

Who wrote a message is the caller's call (:attr:`ThreadMessage.role`): the customer's
words are filed, a colleague's are context for the LLM only, a bot's are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.llm.asks import Ask, split_asks
from agents.llm.client import LLMClient, with_fallback
from agents.llm.prompts import EXTRACT_SYSTEM
from agents.llm.text import Severity, clean_slack_text, clip, find_account, guess_severity

__all__ = [
    "ExtractedItem",
    "Extraction",
    "ThreadMessage",
    "extract_feedback",
    "fallback_extraction",
]

logger = logging.getLogger(__name__)

MAX_ITEMS = 5
MAX_MESSAGES = 30
MAX_MESSAGE_CHARS = 3000
MAX_THREAD_CHARS = 12000

Role = Literal["customer", "colleague", "bot"]


@dataclass(frozen=True)
class ThreadMessage:
    """One Slack message of a feedback thread.

    Attributes:
        author: Display name (or user id) of the author.
        text: The message text, Slack markup allowed.
        role: Who wrote it: ``"customer"`` (the voice being filed: the author of the
            message that was reacted to, and anyone of the customer's organisation),
            ``"colleague"`` (a workspace member: context only) or ``"bot"`` (dropped).
    """

    author: str
    text: str
    role: Role = "customer"


class ExtractedItem(BaseModel):
    """One distinct ask of the customer.

    Attributes:
        summary: One sentence on what the customer asked for, without greeting or filler.
        pain: The underlying problem, in the customer's words where possible.
        quote: The customer's own words for this ask (Slack markup cleaned, greetings
            stripped).
        severity: ``low``, ``medium`` or ``high``.
    """

    model_config = ConfigDict(frozen=True)

    summary: str = Field(max_length=500)
    pain: str = Field(max_length=1000)
    quote: str = Field(max_length=2000)
    severity: Severity


class Extraction(BaseModel):
    """The feedback of a conversation: its distinct asks and the account it names.

    Attributes:
        items: One item per distinct ask, in order, at most :data:`MAX_ITEMS`; empty
            when there is nothing to file (chatter only, or no ask).
        account: A known account named in the text, else ``None``. The account of the
            channel or of the author is the caller's to resolve.
        customer_specific: Whether it is tied to one customer rather than general.
        source: ``"llm"``, or ``"fallback"`` when extracted offline.
    """

    model_config = ConfigDict(frozen=True)

    items: tuple[ExtractedItem, ...] = Field(max_length=MAX_ITEMS)
    account: str | None = Field(default=None, max_length=200)
    customer_specific: bool
    source: Literal["llm", "fallback"]


class _AnswerItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(
        min_length=1, max_length=500, description="One sentence: what the customer asks for."
    )
    pain_description: str = Field(
        min_length=1, max_length=1000, description="The underlying problem, specific and clear."
    )
    quote: str = Field(
        min_length=1, max_length=2000, description="The customer's own words for this ask."
    )
    severity: Severity


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[_AnswerItem] = Field(
        max_length=MAX_ITEMS, description="One per distinct ask; empty when nothing to file."
    )
    account: str | None = Field(max_length=200, description="Customer account or null.")
    is_customer_specific: bool


async def extract_feedback(
    thread: ThreadMessage | Sequence[ThreadMessage],
    *,
    llm: LLMClient | None,
    known_accounts: Sequence[str] = (),
) -> Extraction:
    """Extract the customer's distinct asks, the account named and severity from a thread.

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
            "messages": [{"author": m.author, "role": m.role, "text": m.text} for m in messages],
            "known_accounts": list(known_accounts),
        }
        answer = await client.structured(
            _Answer, task="extract_feedback", system=EXTRACT_SYSTEM, data=data
        )
        return _from_answer(answer, known_accounts)

    async def offline() -> Extraction:
        return fallback_extraction(messages, known_accounts=known_accounts)

    if not any(m.role == "customer" for m in messages):  # nothing to file: no model needed
        return await offline()
    return await with_fallback("extract_feedback", llm, call, offline)


def fallback_extraction(
    thread: ThreadMessage | Sequence[ThreadMessage], *, known_accounts: Sequence[str] = ()
) -> Extraction:
    """Extract offline: split the customer's words into asks by messages, cues and lists.

    The customer's messages are split into asks (see :mod:`agents.llm.asks`):
    at each message, explicit cues ("also", "another thing", "unrelated", numbered or
    bulleted lists), with greetings, filler and chatter dropped. An item's quote is
    the customer's words for the ask, its summary the sentence that states it, its pain
    the quote with the customer's surrounding context, its severity from cue words.
    Colleagues' words never become items. The account is the known account named most
    often by the customer (else by a colleague); the feedback counts as
    customer-specific when one was found.

    Args:
        thread: The message, or the thread with the customer's message first.
        known_accounts: Customer account names to look for.

    Returns:
        An extraction with ``source="fallback"``, at most :data:`MAX_ITEMS` items.
    """
    messages = _prepare(thread)
    customer = [m.text for m in messages if m.role == "customer"]
    asks = split_asks(customer)
    if len(asks) > MAX_ITEMS:
        logger.info("extract_feedback: %d asks found offline; keeping %d", len(asks), MAX_ITEMS)
    colleagues = "\n".join(m.text for m in messages if m.role == "colleague")
    account = find_account("\n".join(customer), known_accounts) or find_account(
        colleagues, known_accounts
    )
    return Extraction(
        items=tuple(_item(ask) for ask in asks[:MAX_ITEMS]),
        account=account,
        customer_specific=account is not None,
        source="fallback",
    )


def _item(ask: Ask) -> ExtractedItem:
    pain = f"{ask.context} {ask.quote}" if ask.context else ask.quote
    return ExtractedItem(
        summary=clip(ask.summary, 500),
        pain=clip(pain, 1000),
        quote=clip(ask.quote, 2000),
        severity=guess_severity(pain),
    )


def _prepare(thread: ThreadMessage | Sequence[ThreadMessage]) -> list[ThreadMessage]:
    items = [thread] if isinstance(thread, ThreadMessage) else list(thread)
    items = [item for item in items if item.role != "bot"]  # bots' words are never feedback
    if len(items) > MAX_MESSAGES:  # keep the opening message and the latest replies
        items = [items[0], *items[-(MAX_MESSAGES - 1) :]]
    prepared, budget = [], MAX_THREAD_CHARS
    for item in items:
        text = clip(clean_slack_text(item.text), min(MAX_MESSAGE_CHARS, budget))
        if text:
            prepared.append(ThreadMessage(clip(item.author, 100), text, item.role))
            budget -= len(text)
        if budget <= 0:
            break
    return prepared


def _from_answer(answer: _Answer, known_accounts: Sequence[str]) -> Extraction:
    account = answer.account.strip() if answer.account else None
    if account and known_accounts:
        lookup = {name.casefold(): name for name in known_accounts}
        account = lookup.get(account.casefold())
        if account is None:
            logger.info("extract_feedback: the model named an unknown account; ignoring it")
    items = []
    for item in answer.items:
        summary, quote = item.summary.strip(), clip(clean_slack_text(item.quote), 2000)
        if summary and quote:  # an item with nothing in it is no ask
            pain = item.pain_description.strip() or summary
            items.append(
                ExtractedItem(summary=summary, pain=pain, quote=quote, severity=item.severity)
            )
    return Extraction(
        items=tuple(items),
        account=account or None,
        customer_specific=answer.is_customer_specific,
        source="llm",
    )
