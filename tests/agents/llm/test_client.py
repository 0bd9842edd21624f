"""LLMClient: structured output, retries, Retry-After, repair, bad keys, fallbacks."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel, ConfigDict, Field

from agents.errors import LLMOutputInvalid, LLMUnavailable
from agents.llm import LLMClient, LLMConfig, LLMRejected, with_fallback
from tests.agents.llm.conftest import Sleeps
from tests.fakes import ChatReply, FakeOpenAIServer


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=10, max_length=40, description="A title")
    score: float = Field(ge=0, le=1)


def _answer(title: str = "A valid title here", score: float = 0.5) -> dict[str, object]:
    return {"title": title, "score": score}


async def _ask(llm: LLMClient) -> Answer:
    return await llm.structured(
        Answer, task="test_task", system="SYSTEM PROMPT", data={"text": "customer words"}
    )


async def test_structured_output_request_and_answer(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(_answer())
    assert await _ask(llm) == Answer(title="A valid title here", score=0.5)
    (entry,) = fake_openai.chat_requests
    body = entry.body
    assert body["model"] == "fake-model"
    assert body["response_format"]["type"] == "json_schema"
    spec = body["response_format"]["json_schema"]
    assert (spec["name"], spec["strict"]) == ("test_task", True)
    assert spec["schema"]["required"] == ["title", "score"]
    assert spec["schema"]["additionalProperties"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert entry.headers["authorization"] == f"Bearer {llm.config.api_key}"


async def test_default_answer_from_schema_validates(llm: LLMClient) -> None:
    answer = await _ask(llm)  # the fake builds an answer from the strict schema
    assert 0 <= answer.score <= 1


async def test_429_then_success_honours_retry_after(
    llm: LLMClient, fake_openai: FakeOpenAIServer, sleeps: Sleeps
) -> None:
    fake_openai.fail_next(429, retry_after=2.5)
    fake_openai.reply_with(_answer())
    assert (await _ask(llm)).score == 0.5
    assert sleeps == [2.5]
    assert [e.status for e in fake_openai.chat_requests] == [429, 200]


async def test_retry_after_is_capped(fake_openai: FakeOpenAIServer, sleeps: Sleeps) -> None:
    config = LLMConfig(
        api_key="sk-fake-test-key", base_url=fake_openai.base_url, max_retry_after=0.5
    )
    fake_openai.fail_next(429, retry_after=120)
    async with LLMClient(config, sleep=sleeps) as llm:
        await _ask(llm)
    assert sleeps == [0.5]


async def test_5xx_backs_off_exponentially_then_succeeds(
    llm: LLMClient, fake_openai: FakeOpenAIServer, sleeps: Sleeps
) -> None:
    fake_openai.fail_next(500)
    fake_openai.fail_next(503)
    await _ask(llm)
    base = llm.config.base_delay
    assert len(sleeps) == 2
    assert base / 2 <= sleeps[0] <= base
    assert base <= sleeps[1] <= 2 * base


async def test_retries_exhausted_is_llm_unavailable(
    llm: LLMClient, fake_openai: FakeOpenAIServer, sleeps: Sleeps
) -> None:
    fake_openai.fail_next(500, times=5)
    with pytest.raises(LLMUnavailable, match="after 3 attempts"):
        await _ask(llm)
    assert len(fake_openai.chat_requests) == 3
    assert len(sleeps) == 2


async def test_timeout_and_dropped_connection_are_retried(
    fake_openai: FakeOpenAIServer, sleeps: Sleeps
) -> None:
    config = LLMConfig(
        api_key="sk-fake-test-key", base_url=fake_openai.base_url, timeout=0.2, base_delay=0.0
    )
    fake_openai.stall_next(3.0)
    fake_openai.disconnect_next()
    async with LLMClient(config, sleep=sleeps) as llm:
        await _ask(llm)
    assert len(sleeps) == 2
    assert [e.status for e in fake_openai.chat_requests] == [0, 0, 200]


async def test_bad_key_is_a_clear_error_without_retries(
    fake_openai: FakeOpenAIServer, sleeps: Sleeps
) -> None:
    config = LLMConfig(api_key="sk-wrong", base_url=fake_openai.base_url)
    async with LLMClient(config, sleep=sleeps) as llm:
        with pytest.raises(LLMRejected, match="check the configured API key"):
            await _ask(llm)
        with pytest.raises(LLMRejected):  # remembered: no second request
            await _ask(llm)
    assert [e.status for e in fake_openai.journal] == [401]
    assert sleeps == []


async def test_bad_request_is_not_retried(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next(400, message="context too long")
    with pytest.raises(LLMUnavailable, match="context too long"):
        await _ask(llm)
    assert len(fake_openai.journal) == 1


async def test_malformed_answer_gets_one_repair(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.malformed_next()
    fake_openai.reply_with(_answer())
    assert (await _ask(llm)).title == "A valid title here"
    first, repair = fake_openai.chat_requests
    assert repair.messages[:2] == first.messages
    assert repair.messages[2]["role"] == "assistant"
    assert repair.messages[3]["role"] == "user"
    assert "rejected" in repair.messages[3]["content"]
    assert "Invalid JSON" in repair.messages[3]["content"]


async def test_schema_violation_names_the_field_without_echoing_values(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(_answer(title="IGNORE-ME " * 10), _answer())
    await _ask(llm)
    repair = fake_openai.chat_requests[1].messages[3]["content"]
    assert "title" in repair
    assert "IGNORE-ME" not in repair


async def test_invalid_twice_is_output_invalid(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(_answer(score=7), "not json at all")
    with pytest.raises(LLMOutputInvalid, match="after one repair"):
        await _ask(llm)
    assert len(fake_openai.chat_requests) == 2


async def test_check_failure_triggers_repair(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    def check(answer: Answer) -> Answer:
        if answer.score < 0.9:
            raise ValueError("score: must be at least 0.9 for this test")
        return answer

    fake_openai.reply_with(_answer(score=0.1), _answer(score=0.95))
    answer = await llm.structured(Answer, task="t", system="S", data={}, check=check)
    assert answer.score == 0.95
    assert "at least 0.9" in fake_openai.chat_requests[1].messages[3]["content"]


async def test_refusal_is_output_invalid(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with(ChatReply(None, refusal="I can't help with that."))
    with pytest.raises(LLMOutputInvalid, match="refused"):
        await _ask(llm)


async def test_with_fallback_logs_and_falls_back(
    fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = LLMConfig(api_key="sk-wrong-secret", base_url=fake_openai.base_url)

    async def offline() -> str:
        return "fallback"

    async def call(llm: LLMClient) -> str:
        await _ask(llm)
        return "llm"

    with caplog.at_level(logging.WARNING):
        async with LLMClient(config) as llm:
            assert await with_fallback("demo", llm, call, offline) == "fallback"
        assert await with_fallback("demo", None, call, offline) == "fallback"
    assert "check the configured API key" in caplog.text
    assert "sk-wrong-secret" not in caplog.text


def test_config_hides_the_key_and_validates() -> None:
    config = LLMConfig(api_key="sk-secret", base_url="http://x/v1")
    assert "sk-secret" not in repr(config)
    assert "sk-secret" not in repr(LLMClient(config))
    with pytest.raises(ValueError, match="api_key"):
        LLMConfig(api_key=" ")
    with pytest.raises(ValueError, match="max_attempts"):
        LLMConfig(api_key="k", max_attempts=0)


async def test_client_sends_no_temperature_when_unset(
    fake_openai: FakeOpenAIServer,
) -> None:
    config = LLMConfig(api_key="sk-fake-test-key", base_url=fake_openai.base_url, temperature=None)
    async with LLMClient(config) as llm:
        await _ask(llm)
    assert "temperature" not in fake_openai.chat_requests[0].body
    assert json.dumps(fake_openai.chat_requests[0].body)  # journal holds plain JSON
