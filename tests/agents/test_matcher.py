"""Decisions: link, ask or new, by embedding scores or by a judge's confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from agents.embedders.fake import FakeEmbedder
from agents.embedders.openai import OpenAIEmbedder
from agents.errors import EmbedderConfigError, LLMUnavailable
from agents.index import VectorIndex
from agents.llm import LLMClient, LLMConfig, LLMJudge
from agents.matcher import JUDGE_THRESHOLDS, Candidate, Matcher
from agents.thresholds import Thresholds, Tier
from tests.fakes import FakeOpenAIServer
from tests.fakes.pytest_plugin import FAKE_OPENAI_KEY, fake_openai

__all__ = ["fake_openai"]

THRESHOLDS = Thresholds(link=0.9, ask=0.3)


@dataclass(frozen=True)
class Verdict:
    request_id: str
    confidence: float
    reason: str


class FakeJudge:
    """Answers fixed confidences per request id, or raises."""

    name = "fake-judge"

    def __init__(self, confidences: dict[str, float], error: Exception | None = None) -> None:
        self.confidences = confidences
        self.error = error
        self.seen: list[tuple[str, list[str]]] = []

    async def judge(self, text: str, candidates: Sequence[Candidate]) -> list[Verdict]:
        self.seen.append((text, [c.request_id for c in candidates]))
        if self.error is not None:
            raise self.error
        return [
            Verdict(c.request_id, self.confidences.get(c.request_id, 0.1), f"about {c.text}")
            for c in candidates
            if c.request_id in self.confidences
        ]


@pytest.fixture
async def matcher() -> Matcher:
    matcher = Matcher(FakeEmbedder(), thresholds=THRESHOLDS)
    await matcher.add_request("r1", ["export reports to csv"])
    await matcher.add_request("r2", ["dark mode for the dashboard"])
    await matcher.add_request("r3", ["single sign on with okta"])
    return matcher


async def test_identical_text_links(matcher: Matcher) -> None:
    decision = await matcher.decide("Export reports to CSV")
    assert decision.tier is Tier.LINK and decision.request_id == "r1"
    assert decision.best is not None and decision.best.score == pytest.approx(1.0)
    assert decision.best.text == "export reports to csv"
    assert decision.thresholds == THRESHOLDS and decision.scorer == "fake:hashed-words-256"
    assert repr(decision) == (
        "MatchDecision(tier=link, best='r1' (1.000), scorer='fake:hashed-words-256', "
        "thresholds=Thresholds(link=0.900, ask=0.300, margin=0.000), candidates=3)"
    )


async def test_partial_overlap_asks_and_nothing_in_common_is_new(matcher: Matcher) -> None:
    ask = await matcher.decide("dark mode please")
    assert ask.tier is Tier.ASK and ask.request_id is None
    assert ask.best is not None and ask.best.request_id == "r2"
    new = await matcher.decide("my cat is cute")
    assert new.tier is Tier.NEW
    assert [c.score for c in new.candidates] == sorted(
        (c.score for c in new.candidates), reverse=True
    )


async def test_linked_feedback_makes_a_request_findable(matcher: Matcher) -> None:
    assert (await matcher.decide("download spreadsheets")).tier is Tier.NEW
    await matcher.add_request("r1", ["download spreadsheets"])  # feedback linked to r1
    decision = await matcher.decide("download spreadsheets")
    assert decision.request_id == "r1"
    assert decision.best is not None and decision.best.matched_text == "download spreadsheets"
    assert decision.best.text == "export reports to csv"


async def test_update_and_remove(matcher: Matcher) -> None:
    await matcher.update_request("r3", ["saml login"])
    assert (await matcher.decide("saml login")).request_id == "r3"
    matcher.remove_request("r1")
    decision = await matcher.decide("export reports to csv")
    assert decision.tier is not Tier.LINK and "r1" not in [
        c.request_id for c in decision.candidates
    ]


async def test_empty_index_files_a_new_request() -> None:
    judge = FakeJudge({})
    decision = await Matcher(FakeEmbedder(), judge=judge).decide("anything")
    assert decision.tier is Tier.NEW and decision.candidates == () and decision.best is None
    assert judge.seen == []  # nothing to judge, no LLM call


async def test_thresholds_default_to_the_embedders() -> None:
    embedder = FakeEmbedder()
    assert Matcher(embedder).thresholds == embedder.thresholds


def test_an_uncalibrated_embedder_needs_thresholds() -> None:
    with pytest.raises(EmbedderConfigError, match="feedback-bot calibrate"):
        Matcher(OpenAIEmbedder(api_key="k"))
    assert Matcher(OpenAIEmbedder(api_key="k"), thresholds=THRESHOLDS).thresholds == THRESHOLDS


def test_the_index_must_come_from_the_same_embedder() -> None:
    with pytest.raises(EmbedderConfigError, match="cannot be compared"):
        Matcher(FakeEmbedder(), VectorIndex("local:all-MiniLM-L6-v2-int8", 384))


async def test_a_judge_reranks_and_its_thresholds_decide(matcher: Matcher) -> None:
    judge = FakeJudge({"r1": 0.2, "r2": 0.95, "r3": 0.1})
    judged = Matcher(matcher.embedder, matcher.index, thresholds=THRESHOLDS, judge=judge)
    decision = await judged.decide("export reports to csv")  # embedding favours r1
    assert decision.tier is Tier.LINK and decision.request_id == "r2"
    assert decision.scorer == "fake-judge" and decision.thresholds == JUDGE_THRESHOLDS
    assert [c.request_id for c in decision.candidates] == ["r2", "r1", "r3"]
    assert decision.best is not None and decision.best.reason == "about dark mode for the dashboard"
    assert judge.seen == [("export reports to csv", ["r1", "r2", "r3"])]
    assert "best='r2' (0.950)" in repr(decision)


async def test_judge_confidence_between_its_thresholds_asks(matcher: Matcher) -> None:
    judged = Matcher(matcher.embedder, matcher.index, judge=FakeJudge({"r1": 0.85}))
    decision = await judged.decide("export reports to csv")
    assert decision.tier is Tier.ASK  # 0.8 <= 0.85 < 0.9
    assert [c.confidence for c in decision.candidates] == [0.85, 0.0, 0.0]  # unjudged: 0
    own = FakeJudge({"r1": 0.85})
    own.thresholds = Thresholds(link=0.8, ask=0.5)  # type: ignore[attr-defined]
    assert (await Matcher(matcher.embedder, matcher.index, judge=own).decide("x")).tier is Tier.LINK


@pytest.mark.parametrize(
    "judge",
    [FakeJudge({}, error=LLMUnavailable("no LLM key")), FakeJudge({"r1": 1.7})],
    ids=["judge-unavailable", "confidence-out-of-range"],
)
async def test_a_failing_judge_falls_back_to_embedding_scores(
    matcher: Matcher, judge: FakeJudge
) -> None:
    judged = Matcher(matcher.embedder, matcher.index, thresholds=THRESHOLDS, judge=judge)
    decision = await judged.decide("export reports to csv")
    assert decision.tier is Tier.LINK and decision.request_id == "r1"
    assert decision.scorer == "fake:hashed-words-256" and decision.thresholds == THRESHOLDS
    assert "judge 'fake-judge' failed" in decision.note


async def test_the_llm_judge_fits_the_protocol(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with(
        {
            "judgements": [
                {"request_id": "r1", "confidence": 0.3, "reason": "Different export."},
                {"request_id": "r2", "confidence": 0.93, "reason": "Same dark theme ask."},
            ]
        }
    )
    config = LLMConfig(api_key=FAKE_OPENAI_KEY, base_url=fake_openai.base_url, model="m")
    async with LLMClient(config) as client:
        matcher = Matcher(FakeEmbedder(), judge=LLMJudge(client), top_k=2)
        await matcher.add_request("r1", ["export reports"])
        await matcher.add_request("r2", ["dark mode for reports"])
        decision = await matcher.decide("reports in a dark theme")
    assert decision.tier is Tier.LINK and decision.request_id == "r2"
    assert decision.scorer == "llm"
    assert decision.best is not None and decision.best.reason == "Same dark theme ask."


async def test_decide_many_matches_decide(matcher: Matcher) -> None:
    texts = ["export reports to csv", "dark mode please", "my cat is cute"]
    together = await matcher.decide_many(texts)
    assert [d.tier for d in together] == [(await matcher.decide(t)).tier for t in texts]
    assert await matcher.decide_many([]) == []


async def test_the_specifics_guard_turns_a_link_into_a_question() -> None:
    matcher = Matcher(FakeEmbedder(), thresholds=Thresholds(link=0.7, ask=0.3))
    await matcher.add_request("r89", ["Upgrade Netty to 4.1.89"])
    await matcher.add_request("rdark", ["dark mode for the dashboard"])

    decision = await matcher.decide("Upgrade Netty to 4.1.77")
    same = await matcher.decide("upgrade netty to 4.1.89 please")

    assert decision.best is not None and decision.best.score >= 0.7  # the score would link
    assert decision.tier is Tier.ASK and decision.request_id is None
    assert str(decision.mismatch) == "4.1.77 vs 4.1.89"
    assert decision.reason == "They name different specifics: `4.1.77` vs `4.1.89`."
    assert "reason='They name different specifics" in repr(decision)
    assert same.tier is Tier.LINK and same.mismatch is None and same.reason == ""


async def test_the_guard_compares_with_the_best_matching_text_not_the_title() -> None:
    matcher = Matcher(FakeEmbedder(), thresholds=Thresholds(link=0.7, ask=0.3))
    await matcher.add_request("r1", ["Faster exports", "csv export of reports is slow in Chrome"])

    decision = await matcher.decide("csv export of reports is slow in Chrome")
    other = await matcher.decide("csv export of reports is slow in Firefox")

    assert decision.tier is Tier.LINK and decision.best is not None
    assert decision.best.matched_text == "csv export of reports is slow in Chrome"
    assert other.tier is Tier.ASK and str(other.mismatch) == "Firefox vs Chrome"


async def test_a_link_needs_a_lead_over_the_runner_up() -> None:
    matcher = Matcher(FakeEmbedder(), thresholds=Thresholds(link=0.5, ask=0.3, margin=0.05))
    await matcher.add_request("r1", ["export reports to csv files"])
    await matcher.add_request("r2", ["export reports to csv sheets"])
    await matcher.add_request("r3", ["dark mode for the dashboard"])

    close = await matcher.decide("export reports to csv")
    clear = await matcher.decide("dark mode for the dashboard")

    assert close.candidates[0].score - close.candidates[1].score < 0.05
    assert close.best is not None and close.best.score >= 0.5
    assert close.tier is Tier.ASK
    assert close.reason.startswith("Two requests are about equally close (")
    assert clear.tier is Tier.LINK and clear.request_id == "r3"


async def test_a_judge_is_not_second_guessed_by_the_guard() -> None:
    judge = FakeJudge({"r89": 0.95})
    matcher = Matcher(FakeEmbedder(), thresholds=THRESHOLDS, judge=judge)
    await matcher.add_request("r89", ["Upgrade Netty to 4.1.89"])

    decision = await matcher.decide("Upgrade Netty to 4.1.77")

    assert decision.tier is Tier.LINK and decision.scorer == "fake-judge"
    assert str(decision.mismatch) == "4.1.77 vs 4.1.89"  # still recorded, for calibration


async def test_a_decision_says_what_stopped_its_link() -> None:
    matcher = Matcher(FakeEmbedder(), thresholds=Thresholds(link=0.7, ask=0.5, margin=0.05))
    await matcher.add_request("a", ["upgrade jackson to 2.13"])
    await matcher.add_request("b", ["upgrade jackson to 2.13"])
    await matcher.add_request("c", ["export invoices to excel"])
    await matcher.add_request("d", ["export invoices to excel"])

    both = await matcher.decide("upgrade jackson to 2.14")
    tie = await matcher.decide("export invoices to excel")

    assert (both.tier, both.stopped_by) == (Tier.ASK, "guard")
    assert both.reason.startswith("They name different specifics")  # the clearer reason
    assert (tie.tier, tie.stopped_by) == (Tier.ASK, "margin")
    assert tie.reason.startswith("Two requests are about equally close")
