"""LLM tasks, each with an honest offline fallback beside it.

Every task is one async function taking ``llm: LLMClient | None``; with ``None``, or
when the LLM fails (bad key, retries exhausted, invalid answer even after a repair),
the offline version runs and the result says ``source="fallback"``:

- :func:`extract_feedback`: the customer's distinct asks in a Slack thread (each with
  summary, pain, quote and severity) and the account it names;
- :func:`draft_request`: title, description and product area of a new request;
- :func:`compose_dm`: confirmation, reminder and shipped DMs;
- :func:`area_insights`: up to four report sections for a product area;
- :func:`weekly_digest`: the weekly digest message;
- :class:`LLMJudge`: re-ranks match candidates (the matcher's ``Judge``).

The fallbacks that compare meaning (the area of a draft, the themes of insights) take
an ``embedder: Embedder | None`` from :mod:`agents.embedders`: pass the app's; ``None``
means the offline local model, built once and reused.

Customer text only ever travels in a delimited data message (:mod:`.prompts`), and
answers are validated pydantic objects with length limits; nothing is executed.
"""

from agents.llm.boundary import LLMRejected, LLMRetryable, map_openai_errors
from agents.llm.client import LLMClient, LLMConfig, with_fallback
from agents.llm.compose import (
    ComposedMessage,
    DirectMessage,
    FeedbackLinked,
    NoFeedbackReminder,
    RequestShipped,
    compose_dm,
    fallback_dm,
)
from agents.llm.digest import Digest, DigestItem, fallback_digest, weekly_digest
from agents.llm.draft import (
    ProductArea,
    RequestDraft,
    draft_request,
    fallback_draft,
    nearest_area,
)
from agents.llm.extract import (
    ExtractedItem,
    Extraction,
    ThreadMessage,
    extract_feedback,
    fallback_extraction,
)
from agents.llm.insights import (
    AccountInfo,
    AreaInsights,
    AreaRequest,
    InsightSection,
    area_insights,
    fallback_insights,
)
from agents.llm.rerank import JudgeCandidate, Judgement, LLMJudge, fallback_judgements
from agents.llm.themes import Theme, find_themes

__all__ = [
    "AccountInfo",
    "AreaInsights",
    "AreaRequest",
    "ComposedMessage",
    "Digest",
    "DigestItem",
    "DirectMessage",
    "ExtractedItem",
    "Extraction",
    "FeedbackLinked",
    "InsightSection",
    "JudgeCandidate",
    "Judgement",
    "LLMClient",
    "LLMConfig",
    "LLMJudge",
    "LLMRejected",
    "LLMRetryable",
    "NoFeedbackReminder",
    "ProductArea",
    "RequestDraft",
    "RequestShipped",
    "Theme",
    "ThreadMessage",
    "area_insights",
    "compose_dm",
    "draft_request",
    "extract_feedback",
    "fallback_digest",
    "fallback_dm",
    "fallback_draft",
    "fallback_extraction",
    "fallback_insights",
    "fallback_judgements",
    "find_themes",
    "map_openai_errors",
    "nearest_area",
    "weekly_digest",
    "with_fallback",
]
