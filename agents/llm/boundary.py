"""The one place where ``openai`` exceptions become ``agents`` errors.

::

    LLMUnavailable                   (agents.errors)
    ├── LLMRetryable                 rate limit, 5xx, timeout, connection: worth retrying
    └── LLMRejected                  401/403/404: the key, its rights or the model is wrong
    LLMOutputInvalid                 (agents.errors) the answer was cut or filtered

Any other ``openai`` error (400, 422, unknown) becomes a plain ``LLMUnavailable``.
Every mapped error is raised ``from`` the original.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agents.errors import LLMOutputInvalid, LLMUnavailable

if TYPE_CHECKING:
    import openai

__all__ = ["LLMRejected", "LLMRetryable", "map_openai_errors", "parse_retry_after"]

logger = logging.getLogger(__name__)

_REJECTED_HINTS = {
    401: "the LLM service rejected the API key (401 Unauthorized): check the configured "
    "API key (and base URL) for the LLM",
    403: "the LLM service refused access (403 Forbidden): check that the API key may use "
    "this model and endpoint",
    404: "the LLM service does not know this model or endpoint (404 Not Found): check the "
    "configured model name and base URL",
}
_RETRYABLE_STATUSES = frozenset({408, 409, 429})


class LLMRetryable(LLMUnavailable):
    """A transient LLM failure (rate limit, server error, timeout); retrying may succeed.

    Attributes:
        status: The HTTP status, or ``None`` for timeouts and connection errors.
        retry_after: Seconds the service asked us to wait, if it said.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class LLMRejected(LLMUnavailable):
    """The LLM service refused our credentials or configuration; retrying cannot help.

    Attributes:
        status: The HTTP status (401, 403 or 404).
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def map_openai_errors(task: str = "LLM call") -> Iterator[None]:
    """Translate ``openai`` exceptions raised inside the block into ``agents`` errors.

    Args:
        task: A short name of the operation, used in messages.

    Raises:
        LLMRetryable: On 408/409/429, 5xx, timeouts and connection errors.
        LLMRejected: On 401, 403 and 404.
        LLMOutputInvalid: When the answer was cut at the length limit or filtered.
        LLMUnavailable: On any other ``openai`` error.
    """
    import openai

    try:
        yield
    except openai.APIStatusError as exc:
        raise _from_status(task, exc) from exc
    except openai.APITimeoutError as exc:
        raise LLMRetryable(f"{task}: the LLM service timed out") from exc
    except openai.APIConnectionError as exc:
        raise LLMRetryable(f"{task}: could not reach the LLM service ({exc})") from exc
    except openai.APIResponseValidationError as exc:
        status = exc.status_code
        raise LLMRetryable(
            f"{task}: the LLM service sent a malformed response", status=status
        ) from exc
    except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
        raise LLMOutputInvalid(f"{task}: {exc}") from exc
    except openai.OpenAIError as exc:
        raise LLMUnavailable(f"{task}: the LLM call failed: {type(exc).__name__}: {exc}") from exc


def _from_status(task: str, exc: openai.APIStatusError) -> LLMUnavailable:
    status = exc.status_code
    if status in _REJECTED_HINTS:
        return LLMRejected(f"{task}: {_REJECTED_HINTS[status]}", status=status)
    if status in _RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(exc.response.headers)
        return LLMRetryable(
            f"{task}: the LLM service answered {status}: {exc.message}",
            status=status,
            retry_after=retry_after,
        )
    return LLMUnavailable(f"{task}: the LLM service rejected the request ({status}): {exc.message}")


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Read how long the service asks us to wait from response headers.

    Understands ``retry-after-ms`` (milliseconds), ``retry-after`` in seconds and
    ``retry-after`` as an HTTP date.

    Args:
        headers: Response headers (case-insensitive lookups, as ``httpx`` headers are).
        now: The current Unix time, for HTTP dates; ``time.time()`` when omitted.

    Returns:
        Seconds to wait (never negative), or ``None`` when the headers do not say.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _as_float(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _as_float(raw)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        logger.debug("ignoring unparseable Retry-After header %r", raw)
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _as_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value else None  # NaN is not a delay
