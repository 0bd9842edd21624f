"""LLMJudge: a confidence and a reason per candidate, validated against the candidates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agents.embedders.fake import FakeEmbedder
from agents.errors import LLMOutputInvalid, LLMUnavailable
from agents.llm import Judgement, LLMClient, LLMJudge, fallback_judgements
from agents.llm.prompts import RERANK_SYSTEM
from agents.matcher import Judge, Matcher
from agents.thresholds import Tier
from tests.agents.llm.conftest import data_of
from tests.fakes import FakeOpenAIServer


@dataclass(frozen=True)
class Candidate:
    request_id: str
    text: str
    score: float = 0.0


CANDIDATES = [Candidate("r1", "Export audit logs to S3", 0.83), Candidate("r2", "Dark mode", 0.41)]


def _verdicts(*pairs: tuple[str, float]) -> dict[str, object]:
    return {
        "judgements": [
            {"request_id": rid, "confidence": conf, "reason": f"about {rid}"} for rid, conf in pairs
        ]
    }


async def test_judge_through_the_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with(_verdicts(("r2", 0.05), ("r1", 0.93)))
    judge = LLMJudge(llm)
    as_protocol: Judge = judge  # mypy checks that LLMJudge fits the matcher's protocol
    assert as_protocol.name == "llm"
    result = await judge.judge("We need audit logs in S3 <@U1>", CANDIDATES)
    assert result == [Judgement("r1", 0.93, "about r1"), Judgement("r2", 0.05, "about r2")]
    assert judge.name == "llm"
    system, _ = fake_openai.chat_requests[0].messages
    assert system["content"] == RERANK_SYSTEM
    data = data_of(fake_openai.chat_requests[0].messages)
    assert data == {
        "feedback": "We need audit logs in S3 @someone",
        "candidates": [
            {"request_id": "r1", "request": "Export audit logs to S3"},
            {"request_id": "r2", "request": "Dark mode"},
        ],
    }


async def test_missing_or_invented_ids_are_repaired(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(_verdicts(("r1", 0.9), ("r9", 0.9)), _verdicts(("r1", 0.9), ("r2", 0.1)))
    result = await LLMJudge(llm).judge("audit logs", CANDIDATES)
    assert [j.request_id for j in result] == ["r1", "r2"]
    assert "each candidate request_id" in fake_openai.chat_requests[1].messages[-1]["content"]


async def test_out_of_range_confidence_twice_is_an_error(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    bad = _verdicts(("r1", 1.7), ("r2", 0.1))
    fake_openai.reply_with(bad, bad)
    with pytest.raises(LLMOutputInvalid):
        await LLMJudge(llm).judge("audit logs", CANDIDATES)


async def test_unavailable_llm_raises_for_the_matcher(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fail_next(503, times=3)
    with pytest.raises(LLMUnavailable):
        await LLMJudge(llm).judge("audit logs", CANDIDATES)


async def test_candidates_beyond_the_limit_get_zero(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(_verdicts(("r1", 0.8)))
    result = await LLMJudge(llm, max_candidates=1).judge("audit logs", CANDIDATES)
    assert [(j.request_id, j.confidence) for j in result] == [("r1", 0.8), ("r2", 0.0)]
    assert await LLMJudge(llm).judge("audit logs", []) == []


def test_fallback_judgements_report_embedding_scores() -> None:
    result = fallback_judgements([*CANDIDATES, Candidate("r3", "x", 1.2)])
    assert [(j.request_id, j.confidence, j.source) for j in result] == [
        ("r1", 0.83, "fallback"),
        ("r2", 0.41, "fallback"),
        ("r3", 1.0, "fallback"),
    ]
    assert "0.83" in result[0].reason


async def test_the_matcher_decides_with_the_judge(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    matcher = Matcher(FakeEmbedder(), judge=LLMJudge(llm))
    await matcher.add_request("r1", ["Export audit logs to S3", "need audit logs in s3 weekly"])
    await matcher.add_request("r2", ["Dark mode for the dashboard"])
    fake_openai.reply_with(_verdicts(("r1", 0.95), ("r2", 0.02)))
    decision = await matcher.decide("we need audit logs weekly")
    assert (decision.tier, decision.request_id, decision.scorer) == (Tier.LINK, "r1", "llm")
    assert decision.thresholds == LLMJudge(llm).thresholds
    sent = data_of(fake_openai.chat_requests[0].messages)["candidates"][0]
    assert sent["closest_linked_feedback"] == "need audit logs in s3 weekly"


async def test_the_matcher_falls_back_to_embeddings_when_the_judge_fails(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    matcher = Matcher(FakeEmbedder(), judge=LLMJudge(llm))
    await matcher.add_request("r1", ["Export audit logs to S3"])
    fake_openai.fail_next(401)
    decision = await matcher.decide("Export audit logs to S3")
    assert decision.scorer != "llm"
    assert "LLMRejected" in decision.note
