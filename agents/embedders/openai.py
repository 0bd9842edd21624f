"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

Texts go out in batches. Rate limits (429), server errors (5xx), timeouts and dropped
connections are retried, waiting as long as the server's ``Retry-After`` says (else an
exponential back-off with jitter); a rejected key (401/403) or an unknown model (404)
is an :class:`~agents.errors.EmbedderConfigError` at once, never a retry loop. The
client's own retries are off so that this module owns the policy, and every ``openai``
exception is translated at one boundary, :func:`map_openai_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from agents.errors import EmbedderConfigError, EmbedderError, EmbedderUnavailable
from agents.thresholds import Thresholds

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["DEFAULT_BASE_URL", "OpenAIEmbedder", "map_openai_errors", "parse_retry_after"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class _Transient(EmbedderUnavailable):
    """A failure worth retrying; ``retry_after`` is the server's wish, if it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``retry-after`` headers.

    Args:
        headers: Response headers (names lower-cased, or a case-insensitive mapping).
        now: The current Unix time, for HTTP-date values (default: ``time.time()``).

    Returns:
        Non-negative seconds, or ``None`` when no usable header is present.
    """
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        with contextlib.suppress(ValueError):
            seconds = float(value) / scale
            if math.isfinite(seconds):
                return max(seconds, 0.0)
        if name == "retry-after":
            with contextlib.suppress(TypeError, ValueError):
                moment = email.utils.parsedate_to_datetime(value).timestamp()
                return max(moment - (time.time() if now is None else now), 0.0)
    return None


@contextlib.contextmanager
def map_openai_errors(base_url: str, model: str) -> Iterator[None]:
    """Translate ``openai`` exceptions into :mod:`agents.errors` ones.

    Args:
        base_url: The API root, named in the messages.
        model: The model, named in the messages.

    Raises:
        EmbedderConfigError: 401/403 (key rejected) or 404 (unknown model or bad URL).
        EmbedderUnavailable: 429, 5xx, timeouts and connection failures (retryable).
        EmbedderError: Any other rejection (400, 422, ...) or an unreadable answer.
    """
    import openai

    try:
        yield
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise EmbedderConfigError(
            f"{base_url} rejected the API key ({exc.status_code}): set a valid key for the "
            f"openai embedder (api_key=, e.g. from OPENAI_API_KEY)"
        ) from exc
    except openai.NotFoundError as exc:
        raise EmbedderConfigError(
            f"{base_url} answered 404 for model {model!r}: check the model name and that "
            f"base_url ends in /v1"
        ) from exc
    except openai.RateLimitError as exc:
        raise _Transient(f"rate limited by {base_url} (429)", _retry_after(exc)) from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            raise _Transient(f"{base_url} failed ({exc.status_code})", _retry_after(exc)) from exc
        raise EmbedderError(
            f"{base_url} rejected the embedding request ({exc.status_code}): {exc.message}"
        ) from exc
    except openai.APITimeoutError as exc:
        raise _Transient(f"{base_url} timed out") from exc
    except openai.APIConnectionError as exc:
        raise _Transient(f"cannot connect to {base_url}: {exc.message}") from exc
    except openai.OpenAIError as exc:
        raise EmbedderError(f"embedding with {model!r} at {base_url} failed: {exc}") from exc


def _retry_after(exc: Any) -> float | None:
    return parse_retry_after(exc.response.headers)


class OpenAIEmbedder:
    """Embeddings from the OpenAI API or any compatible server.

    Args:
        api_key: The API key (required; the CLI reads ``OPENAI_API_KEY``).
        model: Embedding model name.
        dimensions: Vector length to ask for (``text-embedding-3`` models can shorten);
            required for models this module does not know.
        base_url: API root ending in ``/v1``.
        batch_size: Texts per request (the API accepts up to 2048).
        max_attempts: Tries per request for retryable failures.
        max_retry_wait: Longest wait between tries, in seconds; a server asking for
            longer makes the call fail at once with :class:`EmbedderUnavailable`.
        timeout: Seconds per request.
        client: A ready ``openai.AsyncOpenAI`` (for tests); built lazily otherwise.

    Raises:
        EmbedderConfigError: No key, a bad number, or an unknown model without dimensions.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str = "text-embedding-3-small",
        dimensions: int | None = None,
        base_url: str | None = None,
        batch_size: int = 256,
        max_attempts: int = 5,
        max_retry_wait: float = 60.0,
        timeout: float = 30.0,
        client: AsyncOpenAI | None = None,
    ) -> None:
        if not api_key and client is None:
            raise EmbedderConfigError(
                "the openai embedder needs an API key: pass api_key= (the CLI reads "
                "OPENAI_API_KEY), or use the offline 'local' embedder"
            )
        dim = dimensions or KNOWN_DIMENSIONS.get(model)
        if dim is None or dim < 1:
            raise EmbedderConfigError(
                f"unknown vector size for model {model!r}: pass dimensions= (a positive int)"
            )
        if batch_size < 1 or max_attempts < 1 or max_retry_wait < 0 or timeout <= 0:
            raise EmbedderConfigError(
                "batch_size and max_attempts must be >= 1, max_retry_wait >= 0, timeout > 0"
            )
        self.model, self.dim, self.dimensions = model, dim, dimensions
        self.name = f"openai:{model}:{dim}"
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.batch_size, self.max_attempts = batch_size, max_attempts
        self.max_retry_wait, self.timeout = max_retry_wait, timeout
        self.thresholds: Thresholds | None = None  # not calibrated: run `feedback-bot calibrate`
        self._api_key = api_key
        self._client = client

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, dim={self.dim}, base_url={self.base_url!r})"

    async def __aenter__(self) -> OpenAIEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (safe to call twice)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts, one request per ``batch_size`` texts.

        Args:
            texts: The texts; may be empty. The API rejects empty strings.

        Returns:
            A float32 array of shape ``(len(texts), dim)`` with unit rows.

        Raises:
            EmbedderConfigError: Key rejected, unknown model, or vectors of the wrong size.
            EmbedderUnavailable: Retryable failures outlasted ``max_attempts``.
            EmbedderError: The server rejected the input.
        """
        batch = list(texts)
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        for start in range(0, len(batch), self.batch_size):
            chunk = batch[start : start + self.batch_size]
            out[start : start + len(chunk)] = await self._with_retries(chunk)
        return out

    async def _with_retries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._request(texts)
            except _Transient as exc:
                delay = self._delay(attempt, exc.retry_after)
                if attempt == self.max_attempts or delay is None:
                    why = (
                        f"after {attempt} attempts"
                        if delay is not None
                        else f"the server asked to wait {exc.retry_after:g} s, more than "
                        f"max_retry_wait={self.max_retry_wait:g} s"
                    )
                    raise EmbedderUnavailable(f"{exc} ({why}); try again later") from exc
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_wait else None
        backoff = min(self.max_retry_wait, 0.5 * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)

    async def _request(self, texts: list[str]) -> npt.NDArray[np.float32]:
        client = self._ensure_client()
        options: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        with map_openai_errors(self.base_url, self.model):
            response = await client.embeddings.create(
                input=texts, model=self.model, encoding_format="float", **options
            )
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise EmbedderError(
                f"{self.base_url} returned {len(rows)} embeddings for {len(texts)} texts"
            )
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if matrix.shape[1] != self.dim:
            raise EmbedderConfigError(
                f"{self.base_url} returned {matrix.shape[1]}-dimensional vectors for "
                f"{self.model!r}, expected {self.dim}: set dimensions={matrix.shape[1]}"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = matrix / np.maximum(norms, 1e-12)
        return unit

    def _ensure_client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                max_retries=0,
                timeout=self.timeout,
            )
        return self._client
