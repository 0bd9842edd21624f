"""Decide what to do with a piece of feedback: link it, ask a human, or file a new request.

:meth:`Matcher.decide` embeds the text, takes the ``top_k`` closest requests from the
:class:`~agents.index.VectorIndex` and applies the scorer's thresholds to the best
score and its lead over the runner-up (see :mod:`agents.thresholds`). A ``link`` also
needs the feedback and the best candidate's best-matching text to name the same
specifics (versions, identifiers, product names: :mod:`agents.specifics`); when they
differ, or when the runner-up is within the margin, the decision is ``ask`` and its
``reason`` says why (a judge, which reads the specifics itself, is not second-guessed
by the guard). With a
:class:`Judge` (an LLM re-ranker), the judge gives each candidate a confidence in 0..1
and a reason; candidates are re-ranked by confidence and the judge's own thresholds
decide. When the judge fails (:class:`~agents.errors.AgentsError`), the embedding
scores decide, and the decision says so. ::

    matcher = Matcher(get_embedder("local"))
    await matcher.add_request("r1", ["Export reports to CSV", "need csv export please"])
    decision = await matcher.decide("Can I download the report as a spreadsheet?")
    decision.tier, decision.best, decision.thresholds
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from agents.embedders import Embedder
from agents.errors import AgentsError, EmbedderConfigError, LLMOutputInvalid
from agents.index import Hit, VectorIndex
from agents.specifics import Mismatch, compare
from agents.thresholds import Thresholds, Tier

__all__ = [
    "JUDGE_THRESHOLDS",
    "Candidate",
    "Judge",
    "JudgementLike",
    "MatchDecision",
    "Matcher",
]

logger = logging.getLogger(__name__)

JUDGE_THRESHOLDS = Thresholds(link=0.9, ask=0.8)
"""Default judge thresholds, on the bands its prompt defines: 0.9+ the same request,
0.8-0.89 a strong match with minor differences (a human decides), below that new."""


@dataclass(frozen=True)
class Candidate:
    """A request that may match the feedback.

    Attributes:
        request_id: The request.
        score: Cosine similarity of the request's best text to the feedback.
        text: The request's own text (title and description; its first indexed text).
        matched_text: The request's text that scored best (may be linked feedback).
        confidence: The judge's confidence in 0..1, or ``None`` without a judge.
        reason: The judge's reason, or ``None`` without a judge.
    """

    request_id: str
    score: float
    text: str = ""
    matched_text: str = ""
    confidence: float | None = None
    reason: str | None = None

    def __repr__(self) -> str:
        judged = "" if self.confidence is None else f", confidence={self.confidence:.2f}"
        return f"Candidate({self.request_id!r}, score={self.score:.3f}{judged})"


class JudgementLike(Protocol):
    """What a judge says of one candidate (``agents.llm.Judgement`` fits)."""

    @property
    def request_id(self) -> str:
        """The candidate's request id, exactly as given."""
        ...

    @property
    def confidence(self) -> float:
        """Confidence in 0..1 that the feedback asks for this request."""
        ...

    @property
    def reason(self) -> str:
        """A short explanation."""
        ...


class Judge(Protocol):
    """Re-ranks candidates: a confidence and a reason for each (``agents.llm.LLMJudge`` fits).

    Attributes:
        name: Names the judge in decisions (e.g. ``"llm"``).
    """

    name: str

    async def judge(self, text: str, candidates: Sequence[Candidate]) -> Sequence[JudgementLike]:
        """Judge each candidate for the feedback ``text``.

        Args:
            text: The feedback.
            candidates: The top candidates by embedding score, best first.

        Returns:
            One judgement per candidate (missing ones count as confidence 0).

        Raises:
            AgentsError: The judge could not judge (e.g. ``LLMUnavailable``); the
                matcher then decides by embedding scores.
        """
        ...


@dataclass(frozen=True, repr=False)
class MatchDecision:
    """The tier for a piece of feedback, with the evidence behind it.

    Attributes:
        tier: ``link``, ``ask`` or ``new``.
        candidates: The candidates, best first (by confidence when a judge decided).
        thresholds: The thresholds applied.
        scorer: What produced the ranking scores: the embedder's or the judge's name.
        note: Why the scorer is not the configured one (a judge failure), else ``""``.
        mismatch: What the feedback and the best candidate name differently
            (:func:`agents.specifics.compare`), whatever the tier; ``None`` when nothing
            differs or there is no candidate.
        reason: Why a score high enough to link was put to a person (the specifics
            differ, or the runner-up is within the margin), else ``""``.
        stopped_by: What put that score to a person: ``"guard"`` (the specifics differ;
            it wins when both apply, its reason being the clearer) or ``"margin"`` (the
            runner-up is too close), else ``""``.
    """

    tier: Tier
    candidates: tuple[Candidate, ...]
    thresholds: Thresholds
    scorer: str
    note: str = ""
    mismatch: Mismatch | None = None
    reason: str = ""
    stopped_by: Literal["", "guard", "margin"] = ""

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.candidates[0] if self.candidates else None

    @property
    def request_id(self) -> str | None:
        """The request to link to when the tier is ``link``, else ``None``."""
        return self.candidates[0].request_id if self.tier is Tier.LINK else None

    def __repr__(self) -> str:
        best = self.best
        top = "none" if best is None else f"{best.request_id!r} ({_value(best):.3f})"
        note = f", note={self.note!r}" if self.note else ""
        reason = f", reason={self.reason!r}" if self.reason else ""
        return (
            f"MatchDecision(tier={self.tier.value}, best={top}, scorer={self.scorer!r}, "
            f"thresholds={self.thresholds!r}, candidates={len(self.candidates)}{note}{reason})"
        )


def _value(candidate: Candidate) -> float:
    return candidate.score if candidate.confidence is None else candidate.confidence


class Matcher:
    """Match feedback against indexed requests.

    Args:
        embedder: Embeds feedback and request texts.
        index: The request index (default: an empty one for ``embedder``).
        thresholds: Override the embedder's calibrated thresholds.
        judge: Optional re-ranker (an LLM); its thresholds then decide.
        judge_thresholds: The judge's thresholds (default: its ``thresholds`` attribute
            if it has one, else :data:`JUDGE_THRESHOLDS`).
        top_k: How many candidates to rank (and to show the judge).

    Raises:
        EmbedderConfigError: The index belongs to another embedder, or the embedder has
            no calibrated thresholds and none were given.
    """

    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex | None = None,
        *,
        thresholds: Thresholds | None = None,
        judge: Judge | None = None,
        judge_thresholds: Thresholds | None = None,
        top_k: int = 5,
    ) -> None:
        chosen = thresholds or embedder.thresholds
        if chosen is None:
            raise EmbedderConfigError(
                f"the embedder {embedder.name!r} has no calibrated thresholds: run "
                f"`feedback-bot calibrate FILE --embedder ...` on labelled data and pass "
                f"Matcher(thresholds=Thresholds(link=..., ask=..., margin=...))"
            )
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.embedder = embedder
        self.index = index if index is not None else VectorIndex.for_embedder(embedder)
        self.index.check_embedder(embedder.name, embedder.dim)
        self.thresholds = chosen
        self.judge = judge
        own = getattr(judge, "thresholds", None)
        self.judge_thresholds = judge_thresholds or (
            own if isinstance(own, Thresholds) else JUDGE_THRESHOLDS
        )
        self.top_k = top_k

    def __repr__(self) -> str:
        judge = f", judge={self.judge.name!r}" if self.judge is not None else ""
        return (
            f"Matcher(embedder={self.embedder.name!r}, requests={len(self.index)}, "
            f"thresholds={self.thresholds!r}{judge})"
        )

    async def add_request(
        self, request_id: str, texts: Sequence[str], *, text_ids: Sequence[str] | None = None
    ) -> None:
        """Embed and index texts of a request (new, or more feedback for an existing one).

        Args:
            request_id: The request.
            texts: Its texts; for a new request the first is its title and description.
            text_ids: An id per text (default: numbered).
        """
        vectors = await self.embedder.embed(texts)
        self.index.add(request_id, vectors, text_ids=text_ids, texts=texts)

    async def update_request(
        self, request_id: str, texts: Sequence[str], *, text_ids: Sequence[str] | None = None
    ) -> None:
        """Replace all texts of an indexed request.

        Args:
            request_id: The request.
            texts: All its texts, title and description first.
            text_ids: An id per text.

        Raises:
            KeyError: The request is not indexed.
        """
        vectors = await self.embedder.embed(texts)
        self.index.update(request_id, vectors, text_ids=text_ids, texts=texts)

    def remove_request(self, request_id: str) -> None:
        """Forget a request.

        Args:
            request_id: The request.

        Raises:
            KeyError: The request is not indexed.
        """
        self.index.remove(request_id)

    async def decide(self, text: str) -> MatchDecision:
        """Decide the tier for one piece of feedback.

        Args:
            text: The feedback.

        Returns:
            The decision.

        Raises:
            EmbedderError: The feedback could not be embedded.
        """
        return (await self.decide_many([text]))[0]

    async def decide_many(self, texts: Sequence[str]) -> list[MatchDecision]:
        """Decide many pieces of feedback, embedding them in one batch.

        Args:
            texts: The feedback texts.

        Returns:
            One decision per text, in order.

        Raises:
            EmbedderError: The texts could not be embedded.
        """
        if not texts:
            return []
        vectors = await self.embedder.embed(texts)
        hits = self.index.search_many(vectors, self.top_k)
        decisions = []
        for text, found in zip(texts, hits, strict=True):
            candidates = tuple(self._candidate(hit) for hit in found)
            decision = await self._decide(text, candidates)
            decisions.append(_guarded(text, decision, decision.scorer == self.embedder.name))
        return decisions

    def _candidate(self, hit: Hit) -> Candidate:
        return Candidate(hit.request_id, hit.score, self.index.text_of(hit.request_id), hit.text)

    async def _decide(self, text: str, candidates: tuple[Candidate, ...]) -> MatchDecision:
        if self.judge is None or not candidates:
            return self._by_embedding(candidates)
        try:
            judged = _apply_judgements(candidates, await self.judge.judge(text, candidates))
        except AgentsError as exc:
            logger.warning("judge %r failed, deciding by embedding: %s", self.judge.name, exc)
            note = f"judge {self.judge.name!r} failed ({type(exc).__name__}): decided by embedding"
            return replace(self._by_embedding(candidates), note=note)
        second = judged[1].confidence if len(judged) > 1 else None
        tier = self.judge_thresholds.tier(judged[0].confidence, second)
        return MatchDecision(tier, judged, self.judge_thresholds, self.judge.name)

    def _by_embedding(self, candidates: tuple[Candidate, ...]) -> MatchDecision:
        best = candidates[0].score if candidates else None
        second = candidates[1].score if len(candidates) > 1 else None
        tier = self.thresholds.tier(best, second)
        return MatchDecision(tier, candidates, self.thresholds, self.embedder.name)


def _guarded(text: str, decision: MatchDecision, by_embedding: bool) -> MatchDecision:
    """Apply the specifics guard and explain a margin: a ``link`` may become ``ask``.

    The guard stops embedding links only: a judge reads the specifics itself. When the
    runner-up is within the margin and the specifics differ too, the guard's reason is
    given (it says what differs).
    """
    best = decision.best
    if best is None:
        return decision
    mismatch = compare(text, best.matched_text or best.text)
    value = _value(best)
    if value < decision.thresholds.link or decision.tier is Tier.NEW:
        return replace(decision, mismatch=mismatch)
    if mismatch is not None and by_embedding:
        return replace(
            decision, tier=Tier.ASK, mismatch=mismatch, reason=mismatch.reason, stopped_by="guard"
        )
    if decision.tier is Tier.ASK:
        second = _value(decision.candidates[1])  # below the margin, so there is one
        reason = (
            f"Two requests are about equally close ({value:.2f} and {second:.2f}): "
            f"a person should pick."
        )
        return replace(decision, mismatch=mismatch, reason=reason, stopped_by="margin")
    return replace(decision, mismatch=mismatch)


def _apply_judgements(
    candidates: tuple[Candidate, ...], judgements: Sequence[JudgementLike]
) -> tuple[Candidate, ...]:
    """Attach confidences and reasons, then rank by confidence (embedding score breaks ties)."""
    by_id = {c.request_id: c for c in candidates}
    judged: dict[str, Candidate] = {}
    for verdict in judgements:
        confidence = float(verdict.confidence)
        if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
            raise LLMOutputInvalid(
                f"judge gave confidence {verdict.confidence!r} for {verdict.request_id!r}; "
                f"confidences must lie in 0..1"
            )
        candidate = by_id.get(verdict.request_id)
        if candidate is None:
            logger.warning("judge named request %r, which is not a candidate", verdict.request_id)
            continue
        judged[candidate.request_id] = replace(
            candidate, confidence=confidence, reason=str(verdict.reason)
        )
    ranked = [
        judged.get(c.request_id) or replace(c, confidence=0.0, reason="Not judged.")
        for c in candidates
    ]
    ranked.sort(key=lambda c: (-(c.confidence or 0.0), -c.score))
    return tuple(ranked)
