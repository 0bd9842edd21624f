"""Drives one run on a worker.

While a run is hot its coroutine stays in memory and each durable call costs one
checkpoint write (group-committed with other runs' writes). Calls already recorded
return their stored outcome without running: that is replay, done once when a run
is loaded. When every call in flight is parked on a timer, hook or child for longer
than the idle window, the coroutine is cancelled and the run handed back with the
time it is next due: a waiting run holds no task, memory or connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from . import _faults
from ._errors import (
    DatabaseUnavailable,
    RunCancelled,
    SerializationError,
    WorkflowTimedOut,
    _CancelSignal,
    _LeaseLost,
)
from ._history import EventType, event_row
from ._run import ExecutorHost, Outcome, encode_args, new_run_row
from ._runtime import bind, unbind
from ._serialization import dumps, encode_error, loads
from ._steps import StepCalls
from ._store import Write
from ._store import history as history_queries
from ._store import hooks as hook_queries
from ._store import leases as lease_queries
from ._store import runs as run_queries
from ._store.schema import runs as runs_table
from ._waits import WaitCalls

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


log = logging.getLogger(__name__)


__all__ = ["ExecutorHost", "Outcome", "RunExecutor", "encode_args", "new_run_row"]


class RunExecutor(StepCalls, WaitCalls):
    """Runs one claimed run's workflow code; implements the ``RunContext`` protocol."""

    # -- lifecycle ----------------------------------------------------------------------

    async def execute(self) -> None:
        """Run the workflow until it finishes, unloads, or loses its lease."""
        self._task = asyncio.current_task()
        token = bind(self)
        try:
            await self._drive()
        finally:
            unbind(token)
            if self._idle_timer is not None:
                self._idle_timer.cancel()

    async def _drive(self) -> None:
        try:
            result = await self._call_workflow()
        except asyncio.CancelledError:
            if self._lost:
                return
            if self._unloading:
                await self._unload()
                return
            if self._cancel:  # cancelled, then the worker stopped: end it as cancelled
                await self._finish("cancelled", error=RunCancelled(self.run_id))
            else:
                await self._hand_back()
            raise
        except (_LeaseLost, DatabaseUnavailable) as exc:
            log.info(
                "run %s stopped on this worker: %r", self.run_id, exc, extra={"run_id": self.run_id}
            )
        except _CancelSignal:
            await self._finish("cancelled", error=RunCancelled(self.run_id))
        except Exception as exc:
            await self._finish("failed", error=exc)
        else:
            await self._finish("completed", result=result)

    async def _call_workflow(self) -> Any:
        payload = loads(self.claimed.args)
        call = self._def.fn(*payload["args"], **payload["kwargs"])
        deadline = self.claimed.deadline
        if deadline is None:
            return await call
        try:
            async with asyncio.timeout(deadline - self._host.clock.time()) as scope:
                return await call
        except TimeoutError:
            if scope.expired():
                raise WorkflowTimedOut(
                    f"run {self.run_id!r} passed its deadline of {self._def.timeout}s"
                ) from None
            raise

    async def _finish(
        self, status: str, *, result: Any = None, error: BaseException | None = None
    ) -> None:
        self._ending = True
        now = self._host.clock.time()
        result_text = None
        if error is None:
            try:
                result_text = dumps(result, f"result of workflow {self._def.name!r}")
            except SerializationError as exc:
                status, error = "failed", exc
        error_text = None if error is None else json.dumps(encode_error(error))
        kind = {"completed": EventType.RUN_COMPLETED, "failed": EventType.RUN_FAILED}.get(
            status, EventType.RUN_CANCELLED
        )
        parent = self.claimed.parent_run_id
        needs_work = self._has_hooks or parent is not None

        async def work(conn: AsyncConnection) -> None:
            await run_queries.after_finish(conn, self.run_id, parent, now)

        event = event_row(
            self.run_id,
            "finished",
            kind,
            now,
            failed=error is not None,
            data=error_text or result_text,
        )
        write = Write(
            self.run_id,
            self.claimed.epoch,
            events=[event],
            run_update=run_queries.finish_values(status, now, result=result_text, error=error_text),
            work=work if needs_work else None,
            done=(self.run_id,),
        )
        try:
            # shielded: a worker stopping now must not leave the run half-ended
            await self._commit(write, shielded=True)
        except (_LeaseLost, DatabaseUnavailable):
            return
        _faults.hit("after_run_finished")
        self._host.finished(self.run_id, Outcome(status, result_text, error_text))

    async def _unload(self) -> None:
        """Hand the run back until its nearest deadline (or an outside event)."""
        deadlines = [d for d in self._unload_deadlines if d is not None]
        if self.claimed.deadline is not None:
            deadlines.append(self.claimed.deadline)
        wake_at = min(deadlines) if deadlines else None
        (tokens, children), now = self._unload_waits, self._host.clock.time()
        positions = self._unload_positions

        async def recheck(conn: AsyncConnection) -> None:
            # the row is locked by the fence: a delivery either committed before this
            # check (seen here) or waits for this commit and then sees 'waiting'; and a
            # probe cut short by this unload may have taken a payload or a child's
            # result: its checkpoint committed before this write (the batcher is FIFO)
            if (
                await hook_queries.has_unconsumed(conn, self.run_id, tokens)
                or await run_queries.any_finished(conn, children)
                or await history_queries.has_checkpoint_at(conn, self.run_id, positions)
                or await run_queries.cancel_requested(conn, self.run_id)  # raced the unload
            ):
                await conn.execute(
                    runs_table.update()
                    .where(runs_table.c.run_id == self.run_id)
                    .values(wake_at=now)
                )

        write = Write(
            self.run_id,
            self.claimed.epoch,
            run_update=lease_queries.release_values(now, wake_at),
            work=recheck,
        )
        try:
            # shielded: a worker stopping now must not leave the run half-ended
            await self._commit(write, shielded=True)
        except (_LeaseLost, DatabaseUnavailable):
            return
        self._host.kick()

    async def _hand_back(self) -> None:
        """The worker is stopping: make the run claimable again at once."""
        self._ending = True
        now = self._host.clock.time()
        write = Write(
            self.run_id, self.claimed.epoch, run_update=lease_queries.release_values(now, now)
        )
        try:
            await asyncio.shield(self._host.batcher.submit(write))
        except Exception as exc:  # the lease will expire and another worker recovers it
            log.warning("could not hand back run %s: %s", self.run_id, exc)
