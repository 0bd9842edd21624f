"""The state of one loaded run, and the plumbing its durable calls share.

``RunCore`` holds what an executor knows about its run (position, history, parked
calls, lease epoch) and the few primitives every durable call uses: take the next
position, write fenced by the lease, park until something happens. The calls
themselves live in ``_steps`` and ``_waits``; the lifecycle in ``_executor``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from . import _history
from ._errors import BranchError, DatabaseUnavailable, _CancelSignal, _LeaseLost
from ._history import EventType, History, event_row
from ._serialization import decode_error, dumps, loads
from ._store import Write, WriteOutcome

if TYPE_CHECKING:
    from ._clock import Clock
    from ._definitions import WorkflowDef
    from ._store import Batcher, Database
    from ._store.leases import Claimed

log = logging.getLogger(__name__)


class ExecutorHost(Protocol):
    """What an executor needs from the worker that runs it."""

    batcher: Batcher
    db: Database
    clock: Clock
    engine: Any
    idle_window: float
    poll_interval: float

    def parked_changed(self, executor: RunCore, parked: bool) -> None: ...

    def finished(self, run_id: str, outcome: Outcome) -> None: ...

    def kick(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as stored: its status and its result or error (JSON text)."""

    status: str
    result: str | None
    error: str | None


def new_run_row(
    run_id: str, definition: WorkflowDef, args: str, now: float, *, parent: str | None = None
) -> dict[str, Any]:
    """A ``wf_runs`` row for a run that has not started yet.

    Every row has the same keys (ownership included), so that rows of runs started
    pending and of runs handed straight to a worker can be inserted in one batch.
    """
    return {
        "run_id": run_id,
        "workflow": definition.name,
        "status": "pending",
        "args": args,
        "parent_run_id": parent,
        "created_at": now,
        "updated_at": now,
        "deadline": None if definition.timeout is None else now + definition.timeout,
        "wake_at": now,
        "started_at": None,
        "owner": None,
        "lease_epoch": 0,
        "lease_expires_at": None,
    }


def encode_args(definition: WorkflowDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return dumps(
        {"args": list(args), "kwargs": kwargs}, f"arguments of workflow {definition.name!r}"
    )


class RunCore:
    """One loaded run's state and the primitives its durable calls share."""

    def __init__(
        self, host: ExecutorHost, claimed: Claimed, definition: WorkflowDef, history: History
    ) -> None:
        self._host = host
        self.claimed = claimed
        self._def = definition
        self._history = history
        self._position = 0
        self._inflight = 0
        self._parked: dict[int, float | None] = {}
        self._poke = asyncio.Event()
        self._cancel = claimed.cancel_requested
        self._lost = False
        self._unloading = False
        self._task: asyncio.Task[Any] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._waits_on_tokens: set[str] = set()
        self._waits_on_children: set[str] = set()
        self._has_hooks = any(
            c.type == EventType.HOOK_CREATED for c in history.checkpoints.values()
        )
        self._reset_recoveries = claimed.recoveries > 0
        self._background: set[asyncio.Future[WriteOutcome]] = set()
        self._unload_deadlines: list[float | None] = []
        self._unload_positions: list[int] = []
        self._probing: set[int] = set()  # parked calls whose probes may take an outcome
        self._ending = False  # a final write (finish, unload, hand-back) is under way
        self._unload_waits: tuple[list[str], list[str]] = ([], [])
        self._branch_calls: dict[asyncio.Task[Any], int] = {}

    # -- identity and outside signals -------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.claimed.run_id

    @property
    def engine(self) -> Any:
        return self._host.engine

    @property
    def releasing(self) -> bool:
        """The run is being finished or handed back: its lease is on its way out."""
        return self._unloading or self._ending

    @property
    def parked(self) -> bool:
        return self._inflight == 0 and bool(self._parked)

    def poke(self) -> None:
        """Something this run may wait for happened: parked calls look again."""
        event, self._poke = self._poke, asyncio.Event()
        event.set()

    def request_cancel(self) -> None:
        self._cancel = True
        self.poke()

    def lose(self) -> None:
        """Another worker owns the run now: stop at once, writing nothing."""
        self._lost = True
        if self._task is not None:
            self._task.cancel()

    def unload(self) -> None:
        """Unload now if parked (called when the worker holds too many parked runs)."""
        if self.parked and not self._unloading and self._task is not None:
            self._unloading = True
            # the cancelled calls unwind before _unload runs: keep what they wait for
            self._unload_deadlines = list(self._parked.values())
            self._unload_positions = sorted(self._probing)
            self._unload_waits = (sorted(self._waits_on_tokens), sorted(self._waits_on_children))
            self._task.cancel()

    # -- lifecycle ----------------------------------------------------------------------
    # -- plumbing -----------------------------------------------------------------------

    def _next(self, name: str) -> tuple[int, _history.Checkpoint | None]:
        self._branch_call()
        position = self._position
        self._position += 1
        return position, self._history.checkpoint(position, name)

    def _event(
        self,
        position: int,
        type: EventType,
        name: str,
        *,
        suffix: str = "",
        at: float | None = None,
        checkpoint: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A history row at ``position``: its checkpoint, or (``suffix``) a side event
        such as a failed attempt, keyed so that a repeated write inserts nothing."""
        return event_row(
            self.run_id,
            f"p{position}{suffix}",
            type,
            self._now() if at is None else at,
            position=position,
            name=name,
            checkpoint=checkpoint and not suffix,
            **fields,
        )

    def _now(self) -> float:
        return self._host.clock.time()

    def _check_cancel(self) -> None:
        """Stop before a new durable call if the run was cancelled, lost or is ending
        (a sibling branch may still be running after the run failed)."""
        if self._lost or self._ending:
            raise _LeaseLost
        if self._cancel:
            raise _CancelSignal

    def _busy(self, delta: int) -> None:
        """Count work in flight; when the last piece ends, the run may now be idle."""
        self._inflight += delta
        if delta < 0 and self._inflight == 0 and self._parked:
            self._state_changed()

    def _branch_call(self) -> None:
        """Allow one durable call per concurrent branch (a task other than the run's).

        Positions are handed out in call order. A branch of ``asyncio.gather`` that
        made two calls could interleave differently with its siblings on replay, and
        replay would hand results to the wrong calls.
        """
        task = asyncio.current_task()
        if task is None or task is self._task:
            return
        count = self._branch_calls.get(task, 0) + 1
        self._branch_calls[task] = count
        if count > 1:
            raise BranchError(
                f"a concurrent branch of run {self.run_id!r} made a second durable call; "
                "each branch of asyncio.gather may make one (a step, a wait, or "
                "child.result()): move multi-step branches into child workflows "
                "(start_child) or into one step"
            )

    async def _commit(
        self, write: Write, *, probe: bool = False, shielded: bool = False
    ) -> WriteOutcome:
        """Write, fenced by our lease; ``shielded``: the write survives our cancellation."""
        if self._reset_recoveries and not probe:  # progress, not a look at a wait
            write.run_update = {**(write.run_update or {}), "recoveries": 0}
            self._reset_recoveries = False
        busy = 0 if probe else 1
        self._busy(busy)
        try:
            pending = self._host.batcher.submit(write)  # queued now, before any await
            if shielded:
                try:
                    outcome = await asyncio.shield(pending)
                except asyncio.CancelledError:
                    await asyncio.wait([pending])  # let the worker stop once it landed
                    raise
            else:
                outcome = await pending
        except DatabaseUnavailable:
            self._lost = True  # the lease will lapse; another worker (or we) recovers it
            raise _LeaseLost from None
        finally:
            self._busy(-busy)
        if not outcome.applied:
            self._lost = True
            raise _LeaseLost
        if outcome.cancel_requested:
            self._cancel = True
        return outcome

    def _record_in_background(self, row: dict[str, Any]) -> None:
        """Queue a write without waiting: later writes of this run commit after it."""
        future = self._host.batcher.submit(Write(self.run_id, self.claimed.epoch, events=[row]))
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[WriteOutcome]) -> None:
        self._background.discard(future)
        if future.cancelled() or future.exception() is not None or not future.result().applied:
            self._lost = True

    def _state_changed(self) -> None:
        parked = self.parked
        self._host.parked_changed(self, parked)
        if not parked:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            return
        if self._idle_timer is not None:
            return
        deadlines = [d for d in self._parked.values() if d is not None]
        if deadlines and min(deadlines) - self._now() <= self._host.idle_window:
            return  # wakes soon: stay in memory
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(self._host.idle_window, self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle_timer = None
        self.unload()

    async def _wait_for(
        self,
        position: int,
        deadline: float | None,
        probe: Callable[[], Awaitable[tuple[Any] | None]],
        *,
        poll: bool,
    ) -> tuple[Any] | None:
        """Stay parked until ``probe`` finds something (its result) or ``deadline`` (None).

        The first probe runs before the call counts as parked. Later probes run on
        every poke and, with ``poll``, every poll interval; they do not count as
        activity, so a polling run still unloads after the idle window. A probe cut
        short by the unload may still commit what it took (checkpointed with it): the
        unload then sees that checkpoint and makes the run due at once.
        """
        self._check_cancel()
        event = self._poke
        if poll:  # from its first look on, what a probe takes must not be stranded
            self._probing.add(position)
        try:
            found = await probe()
        except BaseException:
            self._probing.discard(position)
            raise
        if found is not None:
            self._probing.discard(position)
            return found
        self._parked[position] = deadline
        self._state_changed()
        try:
            while True:
                remaining = math.inf if deadline is None else deadline - self._now()
                if remaining <= 0:
                    return None
                timeout = min(remaining, self._host.poll_interval) if poll else remaining
                await self._host.clock.wait(event, None if timeout == math.inf else timeout)
                self._check_cancel()
                event = self._poke
                found = await probe()
                if found is not None:
                    return found
        finally:
            del self._parked[position]
            self._probing.discard(position)
            self._state_changed()

    async def _until(self, position: int, deadline: float) -> None:
        async def never() -> None:
            return None

        await self._wait_for(position, deadline, never, poll=False)

    def _replay(self, checkpoint: _history.Checkpoint) -> Any:
        if checkpoint.failed:
            raise decode_error(json.loads(checkpoint.data or "{}"))
        return loads(checkpoint.data)
