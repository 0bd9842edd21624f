"""Pure replay core: event types, event rows, and the replay cursor.

Every durable call of a workflow (a step, a sleep, a hook, a child, ``now()``...)
takes the next *position*, in call order. Exactly one event per position is a
*checkpoint*: its outcome, which replay returns instead of running the call again.
Other events at a position carry state that must survive restarts too: failed
attempts (with the next attempt time) and timer deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._errors import NonDeterminismError


class EventType(StrEnum):
    """The kinds of events in a run's history."""

    RUN_CREATED = "run_created"
    RUN_RECOVERED = "run_recovered"
    RUN_CANCEL_REQUESTED = "run_cancel_requested"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_CANCELLED = "run_cancelled"
    RUN_CRASHED = "run_crashed"
    RUN_RETRIED = "run_retried"
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    SLEEP_SCHEDULED = "sleep_scheduled"
    SLEEP_FIRED = "sleep_fired"
    HOOK_CREATED = "hook_created"
    HOOK_WAITING = "hook_waiting"
    HOOK_RECEIVED = "hook_received"
    HOOK_CONSUMED = "hook_consumed"
    HOOK_TIMED_OUT = "hook_timed_out"
    CHILD_STARTED = "child_started"
    CHILD_FINISHED = "child_finished"
    VALUE_RECORDED = "value_recorded"


# Names under which non-step calls are recorded (and checked on replay).
SLEEP = "sleep"
NOW = "now()"
UUID = "uuid()"
CREATE_HOOK = "create_hook()"
WAIT_HOOK = "Hook.wait()"
CHILD_RESULT = "child.result()"


def start_child_name(workflow: str) -> str:
    return f"start_child({workflow})"


def event_row(
    run_id: str,
    key: str,
    type: EventType,
    at: float,
    *,
    position: int | None = None,
    name: str | None = None,
    checkpoint: bool = False,
    failed: bool = False,
    attempt: int | None = None,
    started_at: float | None = None,
    wake_at: float | None = None,
    data: str | None = None,
) -> dict[str, Any]:
    """A ``wf_events`` row; every row has every column, so rows batch together."""
    return {
        "run_id": run_id,
        "key": key,
        "type": type.value,
        "at": at,
        "position": position,
        "name": name,
        "checkpoint": checkpoint,
        "failed": failed,
        "attempt": attempt,
        "started_at": started_at,
        "wake_at": wake_at,
        "data": data,
    }


@dataclass(frozen=True)
class Checkpoint:
    """The recorded outcome of the call at ``position``."""

    position: int
    type: str
    name: str
    data: str | None
    failed: bool
    wake_at: float | None = None


@dataclass
class History:
    """What replay needs of a run's events, indexed by position."""

    run_id: str
    checkpoints: dict[int, Checkpoint] = field(default_factory=dict)
    attempts: dict[int, tuple[str, int, float | None]] = field(default_factory=dict)
    deadlines: dict[int, tuple[str, float | None]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, run_id: str, rows: Iterable[Any]) -> History:
        """Build from ``wf_events`` rows (in id order) that carry a position."""
        history = cls(run_id)
        for row in rows:
            pos, name = row.position, row.name or ""
            if row.checkpoint:
                history.checkpoints[pos] = Checkpoint(
                    pos, row.type, name, row.data, row.failed, row.wake_at
                )
            elif row.type == EventType.STEP_FAILED:
                history.attempts[pos] = (name, row.attempt or 0, row.wake_at)
            elif row.type == EventType.HOOK_WAITING:
                history.deadlines[pos] = (name, row.wake_at)
        return history

    def checkpoint(self, position: int, name: str) -> Checkpoint | None:
        """The outcome recorded at ``position``, after checking the call's name.

        Raises:
            NonDeterminismError: Something else was recorded at that position.
        """
        recorded = self.checkpoints.get(position)
        if recorded is not None:
            self._check(position, recorded.name, name)
            return recorded
        for seen in (self.attempts.get(position), self.deadlines.get(position)):
            if seen is not None:
                self._check(position, seen[0], name)
        return None

    def retry_state(self, position: int) -> tuple[int, float | None]:
        """Attempts already made at ``position`` and when the next one may start."""
        _, attempt, next_at = self.attempts.get(position, ("", 0, None))
        return attempt, next_at

    def deadline(self, position: int) -> float | None:
        """The stored absolute deadline of a timer at ``position``, if any."""
        seen = self.deadlines.get(position)
        return None if seen is None else seen[1]

    def _check(self, position: int, recorded: str, called: str) -> None:
        if recorded != called:
            raise NonDeterminismError(self.run_id, position, recorded, called)
