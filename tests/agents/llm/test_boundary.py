"""Every ``openai`` exception maps to the right ``agents`` error, in one place."""

from __future__ import annotations

import inspect

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletion

from agents.errors import AgentsError, LLMOutputInvalid, LLMUnavailable
from agents.llm import LLMRejected, LLMRetryable, map_openai_errors
from agents.llm.boundary import parse_retry_after

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _response(status: int, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, request=REQUEST, headers=headers)


def _status(cls: type[openai.APIStatusError], status: int, **headers: str) -> Exception:
    return cls(f"status {status}", response=_response(status, **headers), body=None)


COMPLETION = ChatCompletion.model_validate(
    {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "length",
                "message": {"role": "assistant", "content": "{"},
            }
        ],
    }
)

CASES: list[tuple[Exception, type[AgentsError]]] = [
    (_status(openai.AuthenticationError, 401), LLMRejected),
    (openai.OAuthError(response=_response(401), body=None), LLMRejected),
    (_status(openai.PermissionDeniedError, 403), LLMRejected),
    (_status(openai.NotFoundError, 404), LLMRejected),
    (_status(openai.RateLimitError, 429, **{"retry-after": "7"}), LLMRetryable),
    (_status(openai.ConflictError, 409), LLMRetryable),
    (_status(openai.InternalServerError, 503), LLMRetryable),
    (_status(openai.APIStatusError, 502), LLMRetryable),
    (_status(openai.BadRequestError, 400), LLMUnavailable),
    (_status(openai.UnprocessableEntityError, 422), LLMUnavailable),
    (_status(openai.APIStatusError, 418), LLMUnavailable),
    (openai.APITimeoutError(request=REQUEST), LLMRetryable),
    (openai.APIConnectionError(request=REQUEST), LLMRetryable),
    (openai.APIResponseValidationError(_response(200), body=None), LLMRetryable),
    (openai.APIError("generic", REQUEST, body=None), LLMUnavailable),
    (openai.LengthFinishReasonError(completion=COMPLETION), LLMOutputInvalid),
    (openai.ContentFilterFinishReasonError(), LLMOutputInvalid),
    (openai.WebSocketConnectionClosedError("closed", unsent_messages=[]), LLMUnavailable),
    (openai.WebSocketQueueFullError("full"), LLMUnavailable),
    (openai.OpenAIError("anything else"), LLMUnavailable),
]


@pytest.mark.parametrize(("error", "expected"), CASES, ids=lambda v: type(v).__name__)
def test_openai_errors_are_mapped(error: Exception, expected: type[AgentsError]) -> None:
    with pytest.raises(AgentsError) as caught, map_openai_errors("test task"):
        raise error
    assert type(caught.value) is expected
    assert caught.value.__cause__ is error
    assert str(caught.value).startswith("test task: ")


def test_every_openai_error_class_is_covered() -> None:
    exported = [getattr(openai, name) for name in openai.__all__ if name.endswith("Error")]
    public = {
        obj for obj in exported if inspect.isclass(obj) and issubclass(obj, openai.OpenAIError)
    }
    assert len(public) > 15
    assert public - {type(error) for error, _ in CASES} == set()


def test_rejections_say_what_to_check() -> None:
    with (
        pytest.raises(LLMRejected, match="check the configured API key") as caught,
        map_openai_errors("extract"),
    ):
        raise _status(openai.AuthenticationError, 401)
    assert caught.value.status == 401


def test_retryable_errors_carry_retry_after() -> None:
    with pytest.raises(LLMRetryable) as caught, map_openai_errors():
        raise _status(openai.RateLimitError, 429, **{"retry-after-ms": "1500"})
    assert (caught.value.status, caught.value.retry_after) == (429, 1.5)


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), map_openai_errors():
        raise KeyError("not ours to map")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "40", "retry-after": "9"}, 0.04),
        ({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 60.0),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=40.0) == expected
