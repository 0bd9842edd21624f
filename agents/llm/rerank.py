"""Re-rank match candidates with an LLM: a confidence in 0..1 and a reason per candidate.

:class:`LLMJudge` satisfies the matcher's ``Judge`` protocol (``name``, ``thresholds``
and ``async judge(text, candidates)``). Candidates are any objects with ``request_id``
and ``text`` (optionally ``matched_text``, the closest linked feedback, and ``score``).
When the LLM fails, ``judge`` raises :class:`~agents.errors.LLMUnavailable` or
:class:`~agents.errors.LLMOutputInvalid` so the matcher can decide by embedding scores
with its own thresholds; :func:`fallback_judgements` gives those scores in the same
shape, marked as a fallback, for callers that want judgements regardless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agents.llm.client import LLMClient
from agents.llm.prompts import RERANK_SYSTEM
from agents.llm.text import clean_slack_text, clip, sanitize_output
from agents.thresholds import Thresholds

__all__ = ["JudgeCandidate", "Judgement", "LLMJudge", "fallback_judgements"]

logger = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_CANDIDATE_TEXT = 1500
DEFAULT_THRESHOLDS = Thresholds(link=0.9, ask=0.8)
"""The prompt's bands: 0.9+ is the same request; 0.8 to 0.9 a strong match to confirm."""


class JudgeCandidate(Protocol):
    """What the judge needs of a candidate request (the matcher's candidates fit)."""

    @property
    def request_id(self) -> str:
        """The request's id."""
        ...

    @property
    def text(self) -> str:
        """The request's text (title and description)."""
        ...


@dataclass(frozen=True)
class Judgement:
    """How well one candidate request matches the feedback.

    Attributes:
        request_id: The candidate's id.
        confidence: 0..1 that the feedback asks for the same thing.
        reason: A short explanation.
        source: ``"llm"``, or ``"fallback"`` when it is the embedding score.
    """

    request_id: str
    confidence: float
    reason: str
    source: Literal["llm", "fallback"] = "llm"


class _Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=200)
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(min_length=1, max_length=300, description="One short sentence.")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    judgements: list[Annotated[_Verdict, Field()]] = Field(max_length=50)


class LLMJudge:
    """Judge match candidates with an LLM (the matcher's ``Judge`` protocol).

    Args:
        llm: The LLM client.
        max_candidates: Only the first this many candidates are judged; the others
            get confidence 0.
        thresholds: How the matcher should read this judge's confidences.
    """

    name = "llm"

    def __init__(
        self,
        llm: LLMClient,
        *,
        max_candidates: int = 10,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.llm = llm
        self.max_candidates = max_candidates
        self.thresholds = thresholds

    def __repr__(self) -> str:
        return (
            f"LLMJudge(llm={self.llm!r}, max_candidates={self.max_candidates}, "
            f"thresholds={self.thresholds!r})"
        )

    async def judge(self, text: str, candidates: Sequence[JudgeCandidate]) -> list[Judgement]:
        """Give every candidate a confidence and a reason, in the candidates' order.

        Args:
            text: The feedback text.
            candidates: The top candidate requests.

        Returns:
            One judgement per candidate.

        Raises:
            LLMUnavailable: The LLM could not be reached or rejected the call.
            LLMOutputInvalid: The answer did not validate, even after a repair.
        """
        judged = list(candidates[: self.max_candidates])
        if not judged:
            return []
        ids = [str(c.request_id) for c in judged]
        answer = await self.llm.structured(
            _Answer,
            task="rerank",
            system=RERANK_SYSTEM,
            data=_data(text, judged),
            check=lambda answer: _check(answer, ids),
        )
        verdicts = {v.request_id: v for v in answer.judgements}
        results = [Judgement(i, verdicts[i].confidence, verdicts[i].reason) for i in ids]
        results += [
            Judgement(str(c.request_id), 0.0, "Not judged: beyond the candidate limit.")
            for c in candidates[self.max_candidates :]
        ]
        return results


def fallback_judgements(candidates: Sequence[JudgeCandidate]) -> list[Judgement]:
    """Judgements from the candidates' embedding scores, for when no LLM can judge.

    Args:
        candidates: Candidates; a ``score`` attribute (cosine similarity) is used when
            present, clipped to 0..1, else 0.

    Returns:
        One judgement per candidate with ``source="fallback"``.
    """
    results = []
    for candidate in candidates:
        score = float(getattr(candidate, "score", 0.0) or 0.0)
        confidence = min(1.0, max(0.0, score))
        reason = f"Embedding similarity {score:.2f} (no LLM judgement)."
        results.append(Judgement(str(candidate.request_id), confidence, reason, "fallback"))
    return results


def _data(text: str, candidates: Sequence[JudgeCandidate]) -> dict[str, Any]:
    return {
        "feedback": clip(clean_slack_text(text), MAX_TEXT),
        "candidates": [_candidate(c) for c in candidates],
    }


def _candidate(candidate: JudgeCandidate) -> dict[str, str]:
    entry = {
        "request_id": str(candidate.request_id),
        "request": clip(candidate.text, MAX_CANDIDATE_TEXT),
    }
    matched = getattr(candidate, "matched_text", "")  # the matcher's closest linked text
    if isinstance(matched, str) and matched.strip() and matched != candidate.text:
        entry["closest_linked_feedback"] = clip(matched, MAX_CANDIDATE_TEXT)
    return entry


def _check(answer: _Answer, ids: Sequence[str]) -> _Answer:
    given = [v.request_id for v in answer.judgements]
    if sorted(given) != sorted(ids):
        raise ValueError(
            "judgements: give exactly one judgement for each candidate request_id, "
            "using the ids exactly as listed"
        )
    cleaned = [
        v.model_copy(update={"reason": sanitize_output(v.reason) or "No reason given."})
        for v in answer.judgements
    ]
    return _Answer(judgements=cleaned)
