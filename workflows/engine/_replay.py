"""Pure replay core: event types, event rows, and what replay reads of a history.

Every durable call of a workflow (a step, a sleep, a hook, a child, ``now()``...)
takes the next *position*, in call order. Exactly one event per position is a
*checkpoint*: its outcome, which replay returns instead of running the call again. A
call that the workflow itself cancelled (the losing branch of a race) has a
checkpoint too, so that on replay it stays pending until cancelled again and never
takes what a later call took. Other events at a position carry state that must
survive restarts too: failed attempts (with the next attempt time) and timer
deadlines.

Checkpoints also keep a digest of the call's arguments, where they can be encoded:
replay refuses to hand a stored outcome to a call with other arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._errors import NonDeterminismError
from ._serialization import dumps


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
    CALL_CANCELLED = "call_cancelled"


# Names under which non-step calls are recorded (and checked on replay).
SLEEP = "sleep"
NOW = "now()"
UUID = "uuid()"
CREATE_HOOK = "create_hook()"
WAIT_HOOK = "Hook.wait()"
CHILD_RESULT = "child.result()"


def start_child_name(workflow: str) -> str:
    return f"start_child({workflow})"


def args_digest(*args: Any) -> str | None:
    """A short digest of a call's arguments (None where they cannot be encoded: then
    replay checks the call's name only)."""
    try:
        encoded = dumps(list(args), "arguments")
    except (TypeError, ValueError, RecursionError):  # SerializationError is a TypeError
        return None
    canonical = json.dumps(json.loads(encoded), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


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
    args_digest: str | None = None,
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
        "args_digest": args_digest,
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
    args_digest: str | None = None

    @property
    def cancelled(self) -> bool:
        """The workflow cancelled this call: on replay it waits to be cancelled again."""
        return self.type == EventType.CALL_CANCELLED


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
                    pos, row.type, name, row.data, row.failed, row.wake_at, row.args_digest
                )
            elif row.type == EventType.STEP_FAILED:
                history.attempts[pos] = (name, row.attempt or 0, row.wake_at)
            elif row.type == EventType.HOOK_WAITING:
                history.deadlines[pos] = (name, row.wake_at)
        return history

    def checkpoint(
        self, position: int, name: str, args_digest: str | None = None
    ) -> Checkpoint | None:
        """The outcome recorded at ``position``, after checking the call's name and
        (where both are known) the digest of its arguments.

        Raises:
            NonDeterminismError: Something else was recorded at that position.
        """
        recorded = self.checkpoints.get(position)
        if recorded is not None:
            self._check(position, recorded.name, name)
            if args_digest and recorded.args_digest and args_digest != recorded.args_digest:
                raise NonDeterminismError(
                    self.run_id, position, recorded.name, name, detail="with other arguments"
                )
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
