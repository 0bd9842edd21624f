"""Pure retry arithmetic."""

import random

import pytest

from workflows.engine import (
    DefinitionError,
    FatalError,
    RetryableError,
    RetryPolicy,
    SerializationError,
    StepRetriesExhausted,
)
from workflows.engine._retry import after_failure, decide


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, backoff=1.0, max_backoff=5.0, jitter=0.5)
    rng = random.Random(1)
    delays = [policy.delay(attempt, rng) for attempt in range(1, 6)]
    for attempt, delay in enumerate(delays, start=1):
        base = min(5.0, 2 ** (attempt - 1))
        assert base * 0.5 <= delay <= base
    assert max(delays) <= 5.0


def test_fatal_errors_never_retry() -> None:
    assert decide(RetryPolicy(max_attempts=5), 1, FatalError("no")).give_up


def test_retry_after_overrides_backoff() -> None:
    verdict = decide(
        RetryPolicy(max_attempts=5, backoff=100), 1, RetryableError("later", retry_after=2.5)
    )
    assert not verdict.give_up and verdict.delay == 2.5


def test_the_last_attempt_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not decide(policy, 2, ValueError()).give_up
    assert decide(policy, 3, ValueError()).give_up


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"backoff": -1}, {"jitter": 2}])
def test_bad_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(DefinitionError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_after_a_failure_the_next_attempt_is_scheduled_by_the_policy() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=2.0, jitter=0.0)
    verdict = after_failure(policy, "charge", 1, ConnectionError("down"), now=100.0)
    assert verdict.error is None and verdict.next_at == 102.0


def test_after_the_last_attempt_the_workflow_gets_the_exhausted_error() -> None:
    policy = RetryPolicy(max_attempts=2, jitter=0.0)
    verdict = after_failure(policy, "charge", 2, ConnectionError("down"), now=100.0)
    assert isinstance(verdict.error, StepRetriesExhausted)
    assert verdict.error.attempts == 2 and verdict.next_at is None


def test_fatal_and_unstorable_results_are_never_retried() -> None:
    policy = RetryPolicy(max_attempts=5)
    for error in (FatalError("no"), SerializationError("result is inf")):
        verdict = after_failure(policy, "charge", 1, error, now=0.0)
        assert verdict.error is error and verdict.next_at is None
