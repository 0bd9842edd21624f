"""The fake OpenAI server answers the real ``openai`` client as the real API would."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.fakes import ChatReply, FakeOpenAIServer, example_from_schema, fake_embedding
from tests.fakes.pytest_plugin import FAKE_OPENAI_KEY, fake_openai

__all__ = ["fake_openai"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 20, "maxLength": 40},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "level": {"type": "string", "enum": ["low", "high"]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 2},
        "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
    "$defs": {"Tag": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
}


@pytest.fixture
async def client(fake_openai: FakeOpenAIServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake_openai.base_url, api_key=FAKE_OPENAI_KEY, max_retries=0
    ) as api:
        yield api


async def _chat(client: openai.AsyncOpenAI, **extra: Any) -> str | None:
    answer = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], **extra
    )
    content: str | None = answer.choices[0].message.content
    return content


def test_example_from_schema_satisfies_constraints() -> None:
    value = example_from_schema(SCHEMA)
    assert 20 <= len(value["title"]) <= 40
    assert value["score"] == 0.5
    assert value["level"] == "low"
    assert value["tags"] == [{"ok": False}, {"ok": False}]
    assert isinstance(value["note"], str)


async def test_default_chat_answer_follows_the_json_schema(
    client: openai.AsyncOpenAI,
) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": SCHEMA, "strict": True},
    }
    content = await _chat(client, response_format=response_format)
    assert content is not None
    assert json.loads(content) == example_from_schema(SCHEMA)


async def test_scripted_replies_are_used_in_order(
    fake_openai: FakeOpenAIServer, client: openai.AsyncOpenAI
) -> None:
    fake_openai.reply_with("plain", {"a": 1}, lambda body: body["model"], ChatReply("x", "length"))
    assert await _chat(client) == "plain"
    assert json.loads(await _chat(client) or "") == {"a": 1}
    assert await _chat(client) == "m"
    answer = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].finish_reason == "length"
    fake_openai.responder = lambda body: "from responder"
    assert await _chat(client) == "from responder"


async def test_embeddings_are_deterministic_unit_vectors(client: openai.AsyncOpenAI) -> None:
    answer = await client.embeddings.create(
        model="e", input=["red apple", "red car"], dimensions=64
    )
    first, second = (item.embedding for item in answer.data)
    assert len(first) == 64
    assert math.isclose(sum(v * v for v in first), 1.0, rel_tol=1e-5)
    assert first == pytest.approx(fake_embedding("red apple", 64), abs=1e-6)
    assert sum(a * b for a, b in zip(first, second, strict=True)) > 0.2


async def test_faults_then_recovery(
    fake_openai: FakeOpenAIServer, client: openai.AsyncOpenAI
) -> None:
    fake_openai.fail_next(429, retry_after=2.5)
    fake_openai.fail_next(500, path="/embeddings")
    with pytest.raises(openai.RateLimitError) as limited:
        await _chat(client)
    assert limited.value.response.headers["retry-after"] == "2.5"
    assert await _chat(client)  # the 500 waits for an embeddings request
    with pytest.raises(openai.InternalServerError):
        await client.embeddings.create(model="e", input="x")
    fake_openai.malformed_next()
    with pytest.raises(json.JSONDecodeError):
        json.loads(await _chat(client) or "")
    fake_openai.disconnect_next()
    with pytest.raises(openai.APIConnectionError):
        await _chat(client)
    assert [e.status for e in fake_openai.journal] == [429, 200, 500, 200, 0]


async def test_wrong_key_is_rejected_and_journaled(fake_openai: FakeOpenAIServer) -> None:
    async with openai.AsyncOpenAI(
        base_url=fake_openai.base_url, api_key="wrong", max_retries=0
    ) as api:
        with pytest.raises(openai.AuthenticationError):
            await _chat(api)
    (entry,) = fake_openai.chat_requests
    assert entry.headers["authorization"] == "Bearer wrong"
    assert entry.messages == [{"role": "user", "content": "hi"}]


async def test_stall_triggers_client_timeout(
    fake_openai: FakeOpenAIServer, client: openai.AsyncOpenAI
) -> None:
    fake_openai.stall_next(5.0)
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.1).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )


def test_sync_client_and_restart() -> None:
    server = FakeOpenAIServer(api_key=None)
    for _ in range(2):
        with server, openai.OpenAI(base_url=server.base_url, api_key="any", max_retries=0) as api:
            assert api.models.list().data[0].id == "fake-model"
    assert "stopped" in repr(server)
