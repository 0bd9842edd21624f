"""The pure replay core: checkpoints by position and the determinism check."""

from types import SimpleNamespace

import pytest

from workflows.engine import NonDeterminismError
from workflows.engine._replay import History, args_digest


def row(
    position: int,
    type: str,
    name: str,
    *,
    checkpoint: bool = False,
    failed: bool = False,
    attempt: int | None = None,
    wake_at: float | None = None,
    data: str | None = None,
    args_digest: str | None = None,
) -> SimpleNamespace:
    return SimpleNamespace(
        position=position,
        type=type,
        name=name,
        checkpoint=checkpoint,
        failed=failed,
        attempt=attempt,
        wake_at=wake_at,
        data=data,
        args_digest=args_digest,
    )


def test_replay_returns_the_checkpoint_at_each_position() -> None:
    history = History.from_rows("r1", [row(0, "step_completed", "a", checkpoint=True, data="1")])
    recorded = history.checkpoint(0, "a")
    assert recorded is not None and recorded.data == "1"
    assert history.checkpoint(1, "b") is None


def test_a_different_step_at_a_recorded_position_names_both() -> None:
    history = History.from_rows("r1", [row(0, "step_completed", "a", checkpoint=True)])
    with pytest.raises(NonDeterminismError) as info:
        history.checkpoint(0, "b")
    assert info.value.position == 0
    assert (info.value.recorded, info.value.called) == ("a", "b")
    assert "position 0" in str(info.value) and "'a'" in str(info.value) and "'b'" in str(info.value)


def test_failed_attempts_carry_the_attempt_count_and_next_time() -> None:
    history = History.from_rows(
        "r1",
        [
            row(2, "step_failed", "charge", attempt=1, wake_at=10.0),
            row(2, "step_failed", "charge", attempt=2, wake_at=20.0),
        ],
    )
    assert history.retry_state(2) == (2, 20.0)
    assert history.checkpoint(2, "charge") is None
    with pytest.raises(NonDeterminismError):
        history.checkpoint(2, "refund")


def test_replay_refuses_a_recorded_outcome_for_other_arguments() -> None:
    recorded = args_digest((1,), {})
    history = History.from_rows(
        "r1", [row(0, "step_completed", "a", checkpoint=True, data="2", args_digest=recorded)]
    )
    assert history.checkpoint(0, "a", args_digest((1,), {})) is not None
    with pytest.raises(NonDeterminismError, match="'a' with other arguments"):
        history.checkpoint(0, "a", args_digest((2,), {}))


def test_arguments_that_cannot_be_encoded_are_checked_by_name_only() -> None:
    history = History.from_rows(
        "r1", [row(0, "step_completed", "a", checkpoint=True, data="2", args_digest="x")]
    )
    assert args_digest((object(),), {}) is None
    assert history.checkpoint(0, "a", args_digest((object(),), {})) is not None


def test_a_cancelled_call_is_recorded_as_such() -> None:
    history = History.from_rows("r1", [row(0, "call_cancelled", "Hook.wait()", checkpoint=True)])
    recorded = history.checkpoint(0, "Hook.wait()")
    assert recorded is not None and recorded.cancelled
