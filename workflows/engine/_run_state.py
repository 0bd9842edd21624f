"""The record of one loaded run's state, shared by its journal, parking, steps and waits.

Nothing here does I/O: it is what an executor knows about its run (the lease it holds,
why it may have to stop, what its parked calls wait for) and what the worker it runs
on must provide.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._clock import Clock
    from ._definitions import WorkflowDef
    from ._store import Batcher, Database
    from ._store.leases import Claimed


#: recoveries after which a run is a suspect: run alone among suspects until it shows
#: it is harmless (the first recovery is almost always a plain restart)
SUSPECT_AFTER = 2


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as stored: its status and its result or error (JSON text)."""

    status: str
    result: str | None
    error: str | None


class ExecutorHost(Protocol):
    """What an executor needs from the worker that runs it."""

    batcher: Batcher
    db: Database
    clock: Clock
    idle_window: float
    poll_interval: float

    @property
    def results(self) -> Any:
        """Where ``RunHandle.result(timeout=...)`` inside a workflow reads results."""
        ...

    def parked_changed(self, run_id: str, parked: bool) -> None:
        """The run's calls are all parked now (or no longer)."""

    def unload_when_idle(self, run_id: str) -> None:
        """The run stayed parked for the idle window."""

    def suspect_cleared(self, run_id: str) -> None:
        """The run, recovered from a dead worker, made progress or parked here."""

    def finished(self, run_id: str, outcome: Outcome) -> None:
        """The run ended here."""

    def claim_soon(self) -> None:
        """Something became due (a child started, a run was handed back)."""


@dataclass
class RunState:
    """What an executor knows about its run."""

    claimed: Claimed
    definition: WorkflowDef
    #: a cancel was requested: stop before the next durable call
    cancel: bool = False
    #: another worker owns the run now (or our lease could not be confirmed): write nothing
    lost: bool = False
    #: parked past the idle window: handing the run back until something wakes it
    unloading: bool = False
    #: the worker is stopping: hand the run back at once
    stopping: bool = False
    #: a final write (finish, unload, hand-back) is under way
    ending: bool = False
    #: recovered from a dead worker and not yet shown harmless (progress, or a park)
    suspect: bool = False
    #: the run has created hooks (finishing frees their tokens)
    has_hooks: bool = False
    #: the task running the workflow function
    task: asyncio.Task[Any] | None = None
    #: the run's deadline, as an asyncio timeout around the workflow function
    deadline_scope: asyncio.Timeout | None = None
    #: durable calls in flight (steps executing, writes not yet committed)
    inflight: int = 0
    #: parked calls by position, with their deadlines
    parked: dict[int, float | None] = field(default_factory=dict)
    #: parked calls whose probes may take something (a payload, a child's result)
    probing: set[int] = field(default_factory=set)
    #: hook tokens and child runs that parked calls wait for
    tokens: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)

    @property
    def run_id(self) -> str:
        return self.claimed.run_id

    @property
    def epoch(self) -> int:
        return self.claimed.epoch

    @property
    def is_parked(self) -> bool:
        """Every call in flight waits for time, a payload or a child."""
        return self.inflight == 0 and bool(self.parked)

    @property
    def releasing(self) -> bool:
        """The run is being finished or handed back: its lease is on its way out."""
        return self.unloading or self.ending

    @property
    def interrupted(self) -> bool:
        """A cancellation now comes from the engine (unload, lost lease, worker stop,
        the run ending, the run's deadline), not from the workflow's own code."""
        expired = self.deadline_scope is not None and self.deadline_scope.expired()
        return self.lost or self.unloading or self.stopping or self.ending or expired
