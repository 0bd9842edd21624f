"""Pure retry arithmetic: a step's policy and the delay before its next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._errors import (
    DefinitionError,
    FatalError,
    RetryableError,
    SerializationError,
    StepRetriesExhausted,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How a step is retried.

    Attributes:
        max_attempts: Attempts in all, the first included (1 means never retry).
        backoff: Delay before the second attempt, in seconds; doubles each attempt.
        max_backoff: Upper bound of the delay, in seconds.
        jitter: Fraction of the delay drawn at random (0.5: between 50% and 100%).
    """

    max_attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 300.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise DefinitionError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise DefinitionError("backoff and max_backoff must not be negative")
        if not 0 <= self.jitter <= 1:
            raise DefinitionError(f"jitter must be within 0..1, got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        draw = rng.random() if rng is not None else random.random()
        return base * (1 - self.jitter * draw)


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a failed attempt: give up, or wait ``delay`` seconds."""

    give_up: bool
    delay: float = 0.0


def decide(policy: RetryPolicy, attempt: int, error: BaseException) -> RetryDecision:
    """Decide whether failed attempt ``attempt`` (1-based) is retried, and after how long.

    ``FatalError`` never retries; ``RetryableError(retry_after=)`` sets the delay;
    every other error follows the policy's back-off.
    """
    if isinstance(error, FatalError) or attempt >= policy.max_attempts:
        return RetryDecision(give_up=True)
    if isinstance(error, RetryableError) and error.retry_after is not None:
        return RetryDecision(give_up=False, delay=max(0.0, error.retry_after))
    return RetryDecision(give_up=False, delay=policy.delay(attempt))


@dataclass(frozen=True)
class AfterFailure:
    """What a failed attempt leads to: ``error`` raised into the workflow (give up),
    or another attempt at ``next_at``."""

    error: BaseException | None
    next_at: float | None


def after_failure(
    policy: RetryPolicy, step: str, attempt: int, error: BaseException, now: float
) -> AfterFailure:
    """Decide what follows failed attempt ``attempt`` of ``step``, at time ``now``.

    A result that cannot be stored (``SerializationError``) is never retried, nor is a
    ``FatalError``; both reach the workflow as they are. Exhausted retries reach it as
    ``StepRetriesExhausted`` carrying the last error.
    """
    if isinstance(error, SerializationError):
        return AfterFailure(error, None)
    verdict = decide(policy, attempt, error)
    if not verdict.give_up:
        return AfterFailure(None, now + verdict.delay)
    if isinstance(error, FatalError):
        return AfterFailure(error, None)
    return AfterFailure(StepRetriesExhausted(step, attempt, error), None)
