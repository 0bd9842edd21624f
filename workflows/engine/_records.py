"""Typed read models: what ``get_run``, ``list_runs`` and ``list_hooks`` return."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ._serialization import loads


class RunStatus(StrEnum):
    """Where a run is in its life."""

    PENDING = "pending"  #: created, not yet claimed by a worker
    RUNNING = "running"  #: owned by a worker (loaded, or its lease not yet expired)
    WAITING = "waiting"  #: unloaded until a timer, hook payload or child wakes it
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"  #: killed its worker too often in a row; ``retry`` it

    @property
    def finished(self) -> bool:
        return self in (
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.CRASHED,
        )


def at(seconds: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def as_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class StepRecord:
    """One durable call of a run, in call order."""

    position: int
    name: str
    status: str  #: completed, failed, retrying, waiting, sleeping, cancelled, or running
    attempts: int
    started_at: datetime | None
    completed_at: datetime | None
    result: Any = field(default=None, repr=False)
    error: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def duration(self) -> float | None:
        """Seconds from the last attempt's start to the outcome."""
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class EventRecord:
    """One entry of a run's append-only history."""

    id: int
    type: str
    at: datetime
    position: int | None = None
    name: str | None = None
    attempt: int | None = None
    data: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RunRecord:
    """A run as stored: status, timestamps, outcome; with steps and events from ``get_run``."""

    run_id: str
    workflow: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    wake_at: datetime | None = None
    parent_run_id: str | None = None
    owner: str | None = None
    recoveries: int = 0
    args: Any = field(default=None, repr=False)
    result: Any = field(default=None, repr=False)
    error: dict[str, Any] | None = field(default=None, repr=False)
    steps: tuple[StepRecord, ...] = field(default=(), repr=False)
    events: tuple[EventRecord, ...] = field(default=(), repr=False)
    children: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_row(cls, row: Any, **extra: Any) -> RunRecord:
        return cls(
            run_id=row.run_id,
            workflow=row.workflow,
            status=RunStatus(row.status),
            created_at=at(row.created_at),
            updated_at=at(row.updated_at),
            started_at=as_datetime(row.started_at),
            completed_at=as_datetime(row.completed_at),
            wake_at=as_datetime(row.wake_at),
            parent_run_id=row.parent_run_id,
            owner=row.owner,
            recoveries=row.recoveries,
            args=loads(row.args),
            result=loads(row.result) if row.status == "completed" else None,
            error=json.loads(row.error) if row.error else None,
            **extra,
        )


@dataclass(frozen=True)
class RunCounts:
    """How many runs are where, at one moment: what a dashboard graphs.

    Attributes:
        runs: Runs per (workflow, status); absent pairs have none.
        timers_ahead: Waiting runs whose timer (a sleep, a wait's timeout, a retry's
            back-off) is still ahead.
        timers_due: Waiting runs whose timer is due but that no worker has claimed
            yet: more than a few for long means the workers are behind (or down).
    """

    runs: dict[tuple[str, RunStatus], int]
    timers_ahead: int
    timers_due: int


@dataclass(frozen=True)
class HookRecord:
    """A live hook: its token, holder run, and payloads waiting to be consumed."""

    token: str
    run_id: str
    workflow: str
    created_at: datetime
    buffered: int


def steps_from_events(rows: list[Any]) -> tuple[StepRecord, ...]:
    """Fold a run's positioned events into one record per position."""
    by_position: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.position is None or "~" in row.key:
            continue
        entry = by_position.setdefault(
            row.position,
            {"name": row.name, "attempts": 0, "status": "running", "started_at": row.at},
        )
        if row.type in ("step_completed", "step_failed"):
            entry["attempts"] = max(entry["attempts"], row.attempt or 0)
            entry["started_at"] = row.started_at
        _fold(entry, row)
    return tuple(_step(position, entry) for position, entry in sorted(by_position.items()))


def _fold(entry: dict[str, Any], row: Any) -> None:
    if row.type == "sleep_scheduled":
        entry["status"] = "sleeping"
    elif row.type == "sleep_fired":
        entry["status"], entry["completed_at"] = "completed", row.at
    elif row.type == "call_cancelled":  # the workflow cancelled it (a race's loser)
        entry["status"], entry["completed_at"] = "cancelled", row.at
        entry["data"], entry["failed"] = None, False
    elif row.checkpoint:
        entry["status"] = "failed" if row.failed else "completed"
        entry["completed_at"] = row.at
        entry["data"], entry["failed"] = row.data, row.failed
    elif row.type == "step_failed":
        entry["status"] = "retrying"
    elif row.type == "hook_waiting" and entry["status"] == "running":
        entry["status"] = "waiting"


def _step(position: int, entry: dict[str, Any]) -> StepRecord:
    data = entry.get("data")
    failed = entry.get("failed", False)
    return StepRecord(
        position=position,
        name=entry["name"] or "?",
        status=entry["status"],
        attempts=entry["attempts"],
        started_at=as_datetime(entry.get("started_at")),
        completed_at=as_datetime(entry.get("completed_at")),
        result=None if failed or data is None else loads(data),
        error=json.loads(data) if failed and data else None,
    )
