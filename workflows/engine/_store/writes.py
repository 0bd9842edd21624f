"""What the group-commit batcher writes: one run's share of a batch, and its outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(eq=False)
class Write:
    """One run's share of a batch.

    Attributes:
        run_id: The run written to.
        epoch: Apply only while the run's lease epoch equals this (``None``: unfenced).
        new_run: A run row to insert; the write is not applied if the id exists.
        events: History rows to append.
        run_update: Values to set on the run's row.
        work: Extra statements, run after the above; their result is the outcome's value.
        wake: Run ids to announce on the wake channel (PostgreSQL NOTIFY).
        done: Run ids to announce as finished.
    """

    run_id: str
    epoch: int | None = None
    new_run: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    run_update: dict[str, Any] | None = None
    work: Callable[[AsyncConnection], Awaitable[Any]] | None = None
    wake: tuple[str, ...] = ()
    done: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteOutcome:
    """What became of a write: ``applied`` is False when fenced out or a duplicate run."""

    applied: bool
    cancel_requested: bool = False
    value: Any = None
