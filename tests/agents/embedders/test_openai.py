"""The OpenAI-compatible embedder against the local fake server: batching, retries, errors."""

from __future__ import annotations

import email.utils

import httpx2
import numpy as np
import openai
import pytest

from agents.embedders.openai import OpenAIEmbedder, map_openai_errors, parse_retry_after
from agents.errors import EmbedderConfigError, EmbedderError, EmbedderUnavailable
from tests.fakes import FakeOpenAIServer, fake_embedding
from tests.fakes.pytest_plugin import FAKE_OPENAI_KEY, fake_openai

__all__ = ["fake_openai"]


def embedder_for(server: FakeOpenAIServer, **options: object) -> OpenAIEmbedder:
    settings: dict[str, object] = {
        "api_key": FAKE_OPENAI_KEY,
        "base_url": server.base_url,
        "max_retry_wait": 0.05,
    }
    settings.update(options)
    return OpenAIEmbedder(**settings)  # type: ignore[arg-type]


async def test_embeds_in_batches_in_order(fake_openai: FakeOpenAIServer) -> None:
    texts = ["export to csv", "dark mode", "sso with okta", "slack alerts", "api keys"]
    async with embedder_for(fake_openai, batch_size=2, dimensions=64) as embedder:
        vectors = await embedder.embed(texts)
    assert embedder.name == "openai:text-embedding-3-small:64" and embedder.dim == 64
    assert vectors.shape == (5, 64) and vectors.dtype == np.float32
    expected = np.array([fake_embedding(t, 64) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    bodies = [entry.body for entry in fake_openai.embedding_requests]
    assert [b["input"] for b in bodies] == [texts[0:2], texts[2:4], texts[4:]]
    assert {b["dimensions"] for b in bodies} == {64}
    assert {b["model"] for b in bodies} == {"text-embedding-3-small"}


async def test_empty_input_sends_nothing(fake_openai: FakeOpenAIServer) -> None:
    async with embedder_for(fake_openai) as embedder:
        assert (await embedder.embed([])).shape == (0, 1536)
    assert fake_openai.embedding_requests == []


async def test_429_waits_as_the_server_says_then_succeeds(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next(429, times=2, retry_after=0.05, path="/embeddings")
    async with embedder_for(fake_openai, max_retry_wait=1.0) as embedder:
        vectors = await embedder.embed(["hello"])
    assert vectors.shape == (1, 1536)
    attempts = fake_openai.embedding_requests
    assert [a.status for a in attempts] == [429, 429, 200]
    assert attempts[1].at - attempts[0].at >= 0.045  # honoured Retry-After


async def test_server_errors_are_retried(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next(500, path="/embeddings")
    fake_openai.fail_next(503, path="/embeddings")
    async with embedder_for(fake_openai) as embedder:
        await embedder.embed(["hello"])
    assert [a.status for a in fake_openai.embedding_requests] == [500, 503, 200]


async def test_gives_up_after_max_attempts(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next(503, times=5, retry_after=0.01, path="/embeddings")
    async with embedder_for(fake_openai, max_attempts=3) as embedder:
        with pytest.raises(EmbedderUnavailable, match="after 3 attempts"):
            await embedder.embed(["hello"])
    assert len(fake_openai.embedding_requests) == 3


async def test_a_long_retry_after_fails_fast(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next(429, retry_after=120, path="/embeddings")
    async with embedder_for(fake_openai, max_retry_wait=30) as embedder:
        with pytest.raises(EmbedderUnavailable, match="asked to wait 120 s"):
            await embedder.embed(["hello"])
    assert len(fake_openai.embedding_requests) == 1


async def test_a_bad_key_is_a_config_error_not_a_retry_loop(fake_openai: FakeOpenAIServer) -> None:
    async with embedder_for(fake_openai, api_key="sk-wrong") as embedder:
        with pytest.raises(EmbedderConfigError, match=r"rejected the API key \(401\)"):
            await embedder.embed(["hello"])
    assert len(fake_openai.embedding_requests) == 1


async def test_a_rejected_input_is_not_retried(fake_openai: FakeOpenAIServer) -> None:
    async with embedder_for(fake_openai) as embedder:
        with pytest.raises(EmbedderError, match=r"rejected the embedding request \(400\)"):
            await embedder.embed([""])
    assert len(fake_openai.embedding_requests) == 1


async def test_wrong_vector_size_names_the_fix() -> None:
    server = FakeOpenAIServer(api_key=FAKE_OPENAI_KEY, embedding_dimensions=8)
    async with server, embedder_for(server) as embedder:
        with pytest.raises(EmbedderConfigError, match="set dimensions=8"):
            await embedder.embed(["hello"])


async def test_unreachable_server_is_unavailable() -> None:
    server = FakeOpenAIServer(api_key=FAKE_OPENAI_KEY).start()
    base_url = server.base_url
    server.stop()
    async with OpenAIEmbedder(
        api_key="k", base_url=base_url, max_attempts=2, max_retry_wait=0.01
    ) as embedder:
        with pytest.raises(EmbedderUnavailable, match="cannot connect"):
            await embedder.embed(["hello"])


def test_configuration_errors() -> None:
    with pytest.raises(EmbedderConfigError, match="needs an API key"):
        OpenAIEmbedder()
    with pytest.raises(EmbedderConfigError, match="pass dimensions="):
        OpenAIEmbedder(api_key="k", model="nomic-embed-text")
    assert OpenAIEmbedder(api_key="k", model="nomic-embed-text", dimensions=768).dim == 768
    assert OpenAIEmbedder(api_key="k").thresholds is None  # not calibrated: say so


REQUEST = httpx2.Request("POST", "http://fake/v1/embeddings")


def status_error(cls: type[openai.APIStatusError], status: int) -> openai.APIStatusError:
    response = httpx2.Response(status, request=REQUEST, headers={"retry-after": "3"})
    return cls("boom", response=response, body=None)


@pytest.mark.parametrize(
    ("foreign", "ours", "retry_after"),
    [
        (status_error(openai.AuthenticationError, 401), EmbedderConfigError, None),
        (status_error(openai.PermissionDeniedError, 403), EmbedderConfigError, None),
        (status_error(openai.NotFoundError, 404), EmbedderConfigError, None),
        (status_error(openai.RateLimitError, 429), EmbedderUnavailable, 3.0),
        (status_error(openai.InternalServerError, 500), EmbedderUnavailable, 3.0),
        (status_error(openai.APIStatusError, 502), EmbedderUnavailable, 3.0),
        (status_error(openai.BadRequestError, 400), EmbedderError, None),
        (status_error(openai.UnprocessableEntityError, 422), EmbedderError, None),
        (status_error(openai.ConflictError, 409), EmbedderError, None),
        (openai.APITimeoutError(REQUEST), EmbedderUnavailable, None),
        (openai.APIConnectionError(request=REQUEST), EmbedderUnavailable, None),
        (
            openai.APIResponseValidationError(httpx2.Response(200, request=REQUEST), None),
            EmbedderError,
            None,
        ),
        (openai.OpenAIError("other"), EmbedderError, None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_openai_errors_are_mapped(
    foreign: Exception, ours: type[Exception], retry_after: float | None
) -> None:
    with pytest.raises(ours) as caught, map_openai_errors("http://fake/v1", "m"):
        raise foreign
    assert caught.value.__cause__ is foreign
    assert getattr(caught.value, "retry_after", None) == retry_after
    if ours is EmbedderUnavailable:
        assert not isinstance(caught.value, EmbedderConfigError)


def test_parse_retry_after() -> None:
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
