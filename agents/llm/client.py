"""One structured-output call to an OpenAI-compatible chat API: schema, retry, repair.

:class:`LLMClient` sends a fixed system prompt and the task input as a separate data
message (see :mod:`agents.llm.prompts`), asks for JSON that follows a strict schema and
validates the answer with pydantic. It retries transient failures itself (the
``openai`` client's own retries are off, so ``Retry-After`` handling is ours), and
makes one repair attempt when the answer does not validate. :func:`with_fallback` runs a
task and falls back to its offline version when the LLM is missing or fails.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from pydantic import BaseModel, ValidationError

from agents.errors import LLMOutputInvalid, LLMUnavailable
from agents.llm.boundary import LLMRejected, LLMRetryable, map_openai_errors
from agents.llm.prompts import data_message, repair_message
from agents.llm.schema import response_format

if TYPE_CHECKING:
    import openai

__all__ = ["LLMClient", "LLMConfig", "SleepFunction", "with_fallback"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
SleepFunction = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class LLMConfig:
    """How to reach an OpenAI-compatible chat API. The key never appears in the repr.

    Attributes:
        api_key: The API key, sent as ``Authorization: Bearer``.
        model: The chat model name.
        base_url: API root (e.g. ``http://localhost:8000/v1``); ``None`` for OpenAI.
        timeout: Seconds allowed per HTTP request.
        max_attempts: Tries per call for transient failures (429, 5xx, timeouts).
        base_delay: First back-off delay in seconds; doubles per attempt, with jitter.
        max_delay: Cap of the exponential back-off, in seconds.
        max_retry_after: Cap on a server's ``Retry-After`` that we honour, in seconds.
        temperature: Sampling temperature; ``None`` leaves the model's default.
        max_output_tokens: Upper bound of tokens in one answer.
    """

    api_key: str = field(repr=False)
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    timeout: float = 30.0
    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    temperature: float | None = 0.2
    max_output_tokens: int = 2048

    def __post_init__(self) -> None:
        if not self.api_key.strip():
            raise ValueError("LLMConfig.api_key is empty: set the LLM API key or run offline")
        if not self.model.strip():
            raise ValueError("LLMConfig.model is empty: set the chat model name")
        if self.max_attempts < 1:
            raise ValueError(f"LLMConfig.max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("timeout", "base_delay", "max_delay", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"LLMConfig.{name} must not be negative")


class LLMClient:
    """Structured-output calls with retries, one repair attempt and mapped errors.

    Args:
        config: Connection and retry settings.
        sleep: Awaitable sleep used between retries (inject a recorder in tests).
    """

    def __init__(self, config: LLMConfig, *, sleep: SleepFunction = asyncio.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._api: openai.AsyncOpenAI | None = None
        self._rejected: LLMRejected | None = None

    def __repr__(self) -> str:
        return f"LLMClient(model={self.config.model!r}, base_url={self.config.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying HTTP connections; the client may be used again after."""
        api, self._api = self._api, None
        if api is not None:
            await api.close()

    async def structured(
        self,
        output: type[M],
        *,
        task: str,
        system: str,
        data: Mapping[str, Any],
        check: Callable[[M], M] | None = None,
    ) -> M:
        """Ask the model for one answer of type ``output``.

        Args:
            output: The pydantic model the answer must validate against.
            task: A short task name (schema name and log messages).
            system: The fixed system prompt; never contains customer text.
            data: The task input, sent as a separate, delimited data message.
            check: Extra validation after the schema; raises ``ValueError`` with a
                message for the model, or returns the (possibly normalised) answer.

        Returns:
            The validated answer.

        Raises:
            LLMUnavailable: No answer (bad key, retries exhausted, request rejected).
            LLMOutputInvalid: The answer did not validate, even after one repair.
        """
        messages: list[dict[str, str]] = [{"role": "system", "content": system}, data_message(data)]
        fmt = response_format(output, task)
        content = await self._complete(task, messages, fmt)
        try:
            return _validate(output, content, check)
        except ValueError as exc:
            problems = _describe(exc)
            logger.warning(
                "%s: the answer did not validate, asking for a repair: %s", task, problems
            )
        messages += [{"role": "assistant", "content": content}, repair_message(problems)]
        content = await self._complete(task, messages, fmt)
        try:
            return _validate(output, content, check)
        except ValueError as exc:
            raise LLMOutputInvalid(
                f"{task}: the model's answer did not match the schema after one repair "
                f"attempt: {_describe(exc)}"
            ) from exc

    async def _complete(
        self, task: str, messages: list[dict[str, str]], fmt: dict[str, Any]
    ) -> str:
        if self._rejected is not None:
            raise LLMRejected(str(self._rejected), status=self._rejected.status)
        attempts = self.config.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self._request(task, messages, fmt)
            except LLMRetryable as exc:
                if attempt == attempts:
                    raise LLMUnavailable(
                        f"{task}: the LLM service kept failing after {attempts} attempts; "
                        f"last error: {exc}"
                    ) from exc
                delay = self._delay(attempt, exc.retry_after)
                logger.warning(
                    "%s: attempt %d/%d failed (%s); retrying in %.2fs",
                    task,
                    attempt,
                    attempts,
                    exc,
                    delay,
                )
                await self._sleep(delay)
            except LLMRejected as exc:
                self._rejected = exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(self, task: str, messages: list[dict[str, str]], fmt: dict[str, Any]) -> str:
        import openai

        api = self._client()
        temperature = self.config.temperature
        with map_openai_errors(task):
            completion = await api.chat.completions.create(
                model=self.config.model,
                messages=cast("Any", messages),
                response_format=cast("Any", fmt),
                max_completion_tokens=self.config.max_output_tokens,
                temperature=openai.omit if temperature is None else temperature,
            )
        if not completion.choices:
            raise LLMRetryable(f"{task}: the LLM service sent an answer without choices")
        message = completion.choices[0].message
        if message.refusal:
            raise LLMOutputInvalid(f"{task}: the model refused to answer")
        return message.content or ""

    def _client(self) -> openai.AsyncOpenAI:
        if self._api is None:
            import openai  # imported on first use: offline runs never pay for it

            self._api = openai.AsyncOpenAI(
                api_key=self.config.api_key,
                base_url=self.config.base_url,
                timeout=self.config.timeout,
                max_retries=0,
            )
        return self._api

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.max_retry_after)
        backoff = min(self.config.max_delay, self.config.base_delay * 2.0 ** (attempt - 1))
        return float(backoff * random.uniform(0.5, 1.0))


def _validate(output: type[M], content: str, check: Callable[[M], M] | None) -> M:
    answer = output.model_validate_json(content)
    return check(answer) if check is not None else answer


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors(include_url=False, include_input=False)[:10]:
            where = ".".join(str(item) for item in error["loc"]) or "answer"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return str(exc)[:500]


async def with_fallback(
    task: str,
    llm: LLMClient | None,
    call: Callable[[LLMClient], Awaitable[T]],
    fallback: Callable[[], Awaitable[T]],
) -> T:
    """Run an LLM task, or its offline fallback when there is no LLM or it fails.

    Args:
        task: The task name, for logs.
        llm: The client, or ``None`` to run offline.
        call: The LLM version of the task.
        fallback: The offline version of the task.

    Returns:
        The result of ``call``, or of ``fallback`` after a logged warning when ``call``
        raised :class:`LLMUnavailable` or :class:`LLMOutputInvalid`.
    """
    if llm is None:
        logger.debug("%s: no LLM configured; using the offline fallback", task)
        return await fallback()
    try:
        return await call(llm)
    except (LLMUnavailable, LLMOutputInvalid) as exc:
        logger.warning("%s: using the offline fallback because the LLM failed: %s", task, exc)
        return await fallback()
