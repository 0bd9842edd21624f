"""Embeddings, vector index, matching and LLM tasks with offline fallbacks.

::

    from agents import Matcher, VectorIndex, get_embedder

    embedder = get_embedder("local")                 # offline all-MiniLM-L6-v2, int8
    matcher = Matcher(embedder, VectorIndex(embedder.name, embedder.dim))
    decision = await matcher.decide("Acme needs SSO with Okta")
    decision.tier                                    # Tier.LINK, Tier.ASK or Tier.NEW
    decision.reason                                  # why a close match was asked, if so

    compare_specifics("Upgrade Netty to 4.1.77", "Upgrade Netty to 4.1.89")
    # Mismatch(...): str() gives "4.1.77 vs 4.1.89"; None when both name the same

Errors: see :mod:`agents.errors`.
"""

from agents.calibration import Calibration, ScoredQueries, calibrate
from agents.embedders import EMBEDDERS, Embedder, get_embedder
from agents.embedders.cache import CachedEmbedder
from agents.embedders.fake import FakeEmbedder
from agents.embedders.local import LOCAL_THRESHOLDS, LocalEmbedder
from agents.embedders.openai import OpenAIEmbedder
from agents.errors import (
    AgentsError,
    EmbedderConfigError,
    EmbedderError,
    EmbedderUnavailable,
    LLMOutputInvalid,
    LLMUnavailable,
    MatchingDataError,
)
from agents.evaluation import (
    EvalReport,
    MatchEvalSet,
    calibrate_files,
    evaluate_files,
    load_match_eval,
)
from agents.index import Hit, IndexArrays, VectorIndex
from agents.llm import (
    AreaInsights,
    ComposedMessage,
    Digest,
    ExtractedItem,
    Extraction,
    Judgement,
    LLMClient,
    LLMConfig,
    LLMJudge,
    ProductArea,
    RequestDraft,
    ThreadMessage,
    area_insights,
    compose_dm,
    draft_request,
    extract_feedback,
    weekly_digest,
)
from agents.matcher import JUDGE_THRESHOLDS, Candidate, Judge, MatchDecision, Matcher
from agents.specifics import Mismatch
from agents.specifics import compare as compare_specifics
from agents.specifics import specifics as find_specifics
from agents.thresholds import Thresholds, Tier

__all__ = [
    "EMBEDDERS",
    "JUDGE_THRESHOLDS",
    "LOCAL_THRESHOLDS",
    "AgentsError",
    "AreaInsights",
    "CachedEmbedder",
    "Calibration",
    "Candidate",
    "ComposedMessage",
    "Digest",
    "Embedder",
    "EmbedderConfigError",
    "EmbedderError",
    "EmbedderUnavailable",
    "EvalReport",
    "ExtractedItem",
    "Extraction",
    "FakeEmbedder",
    "Hit",
    "IndexArrays",
    "Judge",
    "Judgement",
    "LLMClient",
    "LLMConfig",
    "LLMJudge",
    "LLMOutputInvalid",
    "LLMUnavailable",
    "LocalEmbedder",
    "MatchDecision",
    "MatchEvalSet",
    "Matcher",
    "MatchingDataError",
    "Mismatch",
    "OpenAIEmbedder",
    "ProductArea",
    "RequestDraft",
    "ScoredQueries",
    "ThreadMessage",
    "Thresholds",
    "Tier",
    "VectorIndex",
    "area_insights",
    "calibrate",
    "calibrate_files",
    "compare_specifics",
    "compose_dm",
    "draft_request",
    "evaluate_files",
    "extract_feedback",
    "find_specifics",
    "get_embedder",
    "load_match_eval",
    "weekly_digest",
]
