"""A run's journal: positions, its history, and writes fenced by the run's lease.

Every durable call asks the journal for the next position (getting the recorded
outcome, if any, for replay) and records its outcome through it. Each write is fenced
by the lease epoch the executor holds: once another worker owns the run, nothing more
lands, and the call stops with ``_LeaseLost``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import BranchError, DatabaseUnavailable, _CancelSignal, _LeaseLost
from ._replay import Checkpoint, EventType, History, event_row
from ._store import Write, WriteOutcome
from ._store import events as event_queries
from ._store import hooks as hook_queries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ._run_state import ExecutorHost, RunState


class Journal:
    """Positions, history and fenced writes of one loaded run."""

    def __init__(
        self,
        state: RunState,
        history: History,
        host: ExecutorHost,
        busy: Callable[[int], None],
    ) -> None:
        self._state = state
        self._history = history
        self._host = host
        self._busy = busy
        self._position = 0
        self._background: set[asyncio.Future[WriteOutcome]] = set()
        self._branch_calls: dict[asyncio.Task[Any], int] = {}

    @property
    def run_id(self) -> str:
        return self._state.run_id

    @property
    def workflow(self) -> str:
        """The run's workflow name."""
        return self._state.definition.name

    @property
    def history(self) -> History:
        return self._history

    def now(self) -> float:
        return self._host.clock.time()

    # -- positions ----------------------------------------------------------------------

    def next(self, name: str, args_digest: str | None = None) -> tuple[int, Checkpoint | None]:
        """Take the next position; return it with its recorded outcome, if any.

        Raises:
            NonDeterminismError: Another call, or this call with other arguments, was
                recorded there.
            BranchError: A concurrent branch made a second durable call.
        """
        self._check_branch()
        position = self._position
        self._position += 1
        return position, self._history.checkpoint(position, name, args_digest)

    def _check_branch(self) -> None:
        """Allow one durable call per concurrent branch (a task other than the run's).

        Positions are handed out in call order. A branch of ``asyncio.gather`` that
        made two calls could interleave differently with its siblings on replay, and
        replay would hand results to the wrong calls.
        """
        task = asyncio.current_task()
        if task is None or task is self._state.task:
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

    def check_cancel(self) -> None:
        """Stop before a new durable call if the run was cancelled, lost or is ending
        (a sibling branch may still be running after the run failed)."""
        if self._state.lost or self._state.ending:
            raise _LeaseLost
        if self._state.cancel:
            raise _CancelSignal

    # -- events and writes --------------------------------------------------------------

    def event(
        self,
        position: int,
        type: EventType,
        name: str,
        *,
        suffix: str = "",
        at: float | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A history row at ``position``: its checkpoint, or (``suffix``) a side event
        such as a failed attempt, keyed so that a repeated write inserts nothing."""
        return event_row(
            self.run_id,
            f"p{position}{suffix}",
            type,
            self.now() if at is None else at,
            position=position,
            name=name,
            checkpoint=not suffix,
            **fields,
        )

    def write(self, **parts: Any) -> Write:
        """A write of this run, fenced by the lease it holds."""
        return Write(self.run_id, self._state.epoch, **parts)

    async def commit(
        self, write: Write, *, probe: bool = False, shielded: bool = False
    ) -> WriteOutcome:
        """Write, fenced by our lease.

        Args:
            probe: A look at what a parked call waits for: not progress, not busy.
            shielded: The write survives our cancellation (we still wait for it).

        Raises:
            _LeaseLost: Another worker owns the run, or the database is unreachable.
        """
        state = self._state
        progress = state.suspect and not probe
        if progress:  # a run recovered from a dead worker shows it is harmless
            write.run_update = {**(write.run_update or {}), "recoveries": 0}
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
            state.lost = True  # the lease will lapse; another worker (or we) recovers it
            raise _LeaseLost from None
        finally:
            self._busy(-busy)
        if not outcome.applied:
            state.lost = True
            raise _LeaseLost
        if outcome.cancel_requested:
            state.cancel = True
        if progress and state.suspect:
            self.clear_suspicion()
        return outcome

    async def append(self, *rows: dict[str, Any], probe: bool = False) -> WriteOutcome:
        """Commit history rows."""
        return await self.commit(self.write(events=list(rows)), probe=probe)

    def record_in_background(self, row: dict[str, Any]) -> None:
        """Queue a row without waiting: later writes of this run commit after it."""
        self._submit_in_background(self.write(events=[row]))

    def _submit_in_background(self, write: Write) -> None:
        future = self._host.batcher.submit(write)
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[WriteOutcome]) -> None:
        self._background.discard(future)
        if future.cancelled() or future.exception() is not None or not future.result().applied:
            self._state.lost = True

    async def settle(self) -> None:
        """Wait for background writes (values a step may use are stored first)."""
        if self._background:
            await asyncio.wait(list(self._background))

    def clear_suspicion(self, *, write: bool = False) -> None:
        """The run made progress or parked: it did not kill its worker this time."""
        self._state.suspect = False
        if write:
            self._submit_in_background(self.write(run_update={"recoveries": 0}))
        self._host.suspect_cleared(self.run_id)

    def cancelled(self, position: int, name: str, *, gives_back: bool = False) -> None:
        """The call at ``position`` was cancelled: if the workflow's own code did it (a
        race's losing branch), make that the call's checkpoint.

        Cancellations by the engine (unload, worker stop, lost lease) and by the run's
        own deadline are not recorded: replay runs those calls again. Nor is a
        ``CancelledError`` that nothing asked for (a step's body raised it). A write of the
        call may still be in flight (a probe that took a payload, a step's result):
        this write is queued after it, replaces its checkpoint, and ``gives_back`` a
        payload the call took, for the wait that is live now.
        """
        task = asyncio.current_task()
        if self._state.interrupted or task is None or not task.cancelling():
            return  # the engine's doing, or a CancelledError a step raised of itself
        row = self.event(position, EventType.CALL_CANCELLED, name)

        async def cancel(conn: AsyncConnection) -> None:
            await event_queries.replace_checkpoint(conn, row, f"c{self._state.epoch}")
            if gives_back:
                await hook_queries.give_back(conn, self.run_id, position)

        self._submit_in_background(self.write(work=cancel))
