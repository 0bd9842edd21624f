"""Drives one run on a worker.

While a run is hot its coroutine stays in memory and each durable call costs one
checkpoint write (group-committed with other runs' writes). Calls already recorded
return their stored outcome without running: that is replay, done once when a run
is loaded. When every call in flight is parked on a timer, hook or child for longer
than the idle window, the coroutine is cancelled and the run handed back with the
time it is next due: a waiting run holds no task, memory or connection.

The executor composes the parts of a run: its state (``RunState``), its journal
(positions and fenced writes), its parking, and the durable calls (``Steps``,
``Waits``); it implements the ``RunContext`` protocol by delegating to them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid as _uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _faults
from ._context import bind, unbind
from ._errors import (
    DatabaseUnavailable,
    EngineError,
    RunCancelled,
    WorkflowTimedOut,
    _CancelSignal,
    _LeaseLost,
)
from ._journal import Journal
from ._parking import Parking
from ._replay import EventType, History, event_row
from ._run_state import SUSPECT_AFTER, ExecutorHost, Outcome, RunState
from ._serialization import dumps, encode_error, loads
from ._steps import Steps
from ._store import Write
from ._store import leases as lease_queries
from ._store import runs as run_queries
from ._waits import Waits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ._definitions import StepDef, WorkflowDef
    from ._store.leases import Claimed

log = logging.getLogger(__name__)

_END_EVENTS = {"completed": EventType.RUN_COMPLETED, "failed": EventType.RUN_FAILED}


class RunExecutor:
    """Runs one claimed run's workflow code; implements the ``RunContext`` protocol."""

    def __init__(
        self, host: ExecutorHost, claimed: Claimed, definition: WorkflowDef, history: History
    ) -> None:
        self._host = host
        self.state = RunState(
            claimed,
            definition,
            cancel=claimed.cancel_requested,
            suspect=claimed.recoveries >= SUSPECT_AFTER,
            has_hooks=any(c.type == EventType.HOOK_CREATED for c in history.checkpoints.values()),
        )
        self._parking = Parking(self.state, host)
        self._journal = Journal(self.state, history, host, self._parking.busy)
        self._parking.attach(self._journal)
        self._steps = Steps(self._journal, self._parking)
        self._waits = Waits(self.state, self._journal, self._parking, host)
        # what an unload hands back, kept before the cancelled calls unwind
        self._unload_deadlines: list[float | None] = []
        self._unload_waits: tuple[list[str], list[str], list[int]] = ([], [], [])

    def __repr__(self) -> str:
        return f"RunExecutor(run_id={self.run_id!r}, epoch={self.state.epoch})"

    # -- the RunContext protocol ----------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def results(self) -> Any:
        return self._host.results

    async def run_step(
        self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return await self._steps.run(definition, args, kwargs)

    def now(self) -> datetime:
        return self._steps.now()

    def uuid(self) -> _uuid.UUID:
        return self._steps.uuid()

    async def sleep(self, seconds: float) -> None:
        await self._waits.sleep(seconds)

    async def create_hook(self, token: str | None) -> str:
        return await self._waits.create_hook(token)

    async def wait_hook(self, token: str, timeout: float | None) -> Any:
        return await self._waits.wait_hook(token, timeout)

    async def start_child(
        self,
        definition: WorkflowDef,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        run_id: str | None,
    ) -> str:
        return await self._waits.start_child(definition, args, kwargs, run_id)

    async def child_result(self, run_id: str) -> Any:
        return await self._waits.child_result(run_id)

    # -- signals from the worker -------------------------------------------------------

    def wake(self) -> None:
        """Something this run may wait for happened: parked calls look again."""
        self._parking.wake()

    def request_cancel(self) -> None:
        self.state.cancel = True
        self._parking.wake()

    def abandon(self) -> None:
        """Another worker owns the run now: stop at once, writing nothing."""
        self.state.lost = True
        if self.state.task is not None:
            self.state.task.cancel()

    def stop(self) -> None:
        """The worker is stopping: hand the run back (or end it, if cancelled)."""
        self.state.stopping = True
        if self.state.task is not None:
            self.state.task.cancel()

    def unload(self) -> None:
        """Unload now if parked (idle window over, or the worker holds too many)."""
        state = self.state
        if state.is_parked and not state.unloading and state.task is not None:
            state.unloading = True
            # the cancelled calls unwind before _unload runs: keep what they wait for
            self._unload_deadlines = list(state.parked.values())
            self._unload_waits = (
                sorted(state.tokens),
                sorted(state.children),
                sorted(state.probing),
            )
            state.task.cancel()

    # -- lifecycle ----------------------------------------------------------------------

    async def execute(self) -> None:
        """Run the workflow until it finishes, unloads, or loses its lease."""
        self.state.task = asyncio.current_task()
        token = bind(self)
        try:
            await self._drive()
        finally:
            unbind(token)
            self._parking.close()

    async def _drive(self) -> None:
        state = self.state
        try:
            result = await self._call_workflow()
        except asyncio.CancelledError:
            if state.lost:
                return
            if state.unloading:
                await self._unload()
                return
            if state.cancel:  # cancelled, then the worker stopped: end it as cancelled
                await self._finish("cancelled", error=RunCancelled(self.run_id))
            else:
                await self._hand_back()
            raise
        except (_LeaseLost, DatabaseUnavailable) as exc:
            log.info(
                "run %s stopped on this worker: %s",
                self.run_id,
                type(exc).__name__,
                extra={"run_id": self.run_id},
            )
        except _CancelSignal:
            await self._finish("cancelled", error=RunCancelled(self.run_id))
        except Exception as exc:
            await self._finish("failed", error=exc)
        except BaseExceptionGroup as group:  # a TaskGroup's branch was stopped by us
            if group.subgroup((_LeaseLost, DatabaseUnavailable)) is not None:
                log.info("run %s stopped on this worker", self.run_id)
            elif group.subgroup(_CancelSignal) is not None:
                await self._finish("cancelled", error=RunCancelled(self.run_id))
            else:
                raise
        else:
            await self._finish("completed", result=result)

    async def _call_workflow(self) -> Any:
        claimed = self.state.claimed
        payload = loads(claimed.args)
        call = self.state.definition.fn(*payload["args"], **payload["kwargs"])
        if claimed.deadline is None:
            return await call
        try:
            async with asyncio.timeout(claimed.deadline - self._host.clock.time()) as scope:
                self.state.deadline_scope = scope
                return await call
        except TimeoutError:
            if scope.expired():
                raise WorkflowTimedOut(
                    f"run {self.run_id!r} passed its deadline of {self.state.definition.timeout}s"
                ) from None
            raise

    def _finish_write(
        self, status: str, now: float, result: Any, error: BaseException | None
    ) -> tuple[Write, Outcome]:
        """The write that ends the run; raises when the result cannot be stored."""
        definition, claimed = self.state.definition, self.state.claimed
        result_text = None
        if error is None:
            result_text = dumps(result, f"result of workflow {definition.name!r}")
        error_text = None if error is None else json.dumps(encode_error(error))
        parent = claimed.parent_run_id
        cancel_children = isinstance(error, WorkflowTimedOut)

        async def work(conn: AsyncConnection) -> None:
            await run_queries.after_finish(conn, self.run_id, parent, now)
            if cancel_children:
                await run_queries.cancel_children(conn, self.run_id, now)

        needs_work = self.state.has_hooks or parent is not None or cancel_children
        event = event_row(
            self.run_id,
            "finished",
            _END_EVENTS.get(status, EventType.RUN_CANCELLED),
            now,
            failed=error is not None,
            data=error_text or result_text,
        )
        write = self._journal.write(
            events=[event],
            run_update=run_queries.finish_values(status, now, result=result_text, error=error_text),
            work=work if needs_work else None,
            done=(self.run_id,),
        )
        return write, Outcome(status, result_text, error_text)

    async def _finish(
        self, status: str, *, result: Any = None, error: BaseException | None = None
    ) -> None:
        """End the run. Whatever goes wrong on the way (a result that cannot be stored,
        a write the database refuses) fails the run rather than leaving it running."""
        self.state.ending = True
        now = self._host.clock.time()
        try:
            write, outcome = self._finish_write(status, now, result, error)
        except Exception as exc:  # e.g. SerializationError naming the workflow
            write, outcome = self._finish_write("failed", now, None, exc)
        try:
            # shielded: a worker stopping now must not leave the run half-ended
            await self._journal.commit(write, shielded=True)
        except (_LeaseLost, DatabaseUnavailable):
            return
        except Exception as exc:
            log.exception("could not record the end of run %s", self.run_id)
            failure = EngineError(
                f"run {self.run_id!r} ended {status} but that could not be stored "
                f"({type(exc).__name__}: {exc}); it was marked failed instead"
            )
            write, outcome = self._finish_write("failed", now, None, failure)
            try:
                await self._journal.commit(write, shielded=True)
            except Exception:
                log.exception("could not fail run %s; its lease will lapse", self.run_id)
                return
        _faults.hit("after_run_finished")
        self._host.finished(self.run_id, outcome)

    async def _unload(self) -> None:
        """Hand the run back until its nearest deadline (or an outside event)."""
        deadlines = [d for d in self._unload_deadlines if d is not None]
        if self.state.claimed.deadline is not None:
            deadlines.append(self.state.claimed.deadline)
        wake_at = min(deadlines) if deadlines else None
        tokens, children, positions = self._unload_waits
        now = self._host.clock.time()

        async def recheck(conn: AsyncConnection) -> None:
            await run_queries.recheck_after_unload(
                conn, self.run_id, tokens=tokens, children=children, positions=positions, now=now
            )

        write = self._journal.write(
            run_update=lease_queries.release_values(now, wake_at), work=recheck
        )
        try:
            # shielded: a worker stopping now must not leave the run half-ended
            await self._journal.commit(write, shielded=True)
        except (_LeaseLost, DatabaseUnavailable):
            return
        self._host.claim_soon()

    async def _hand_back(self) -> None:
        """The worker is stopping: make the run claimable again at once."""
        self.state.ending = True
        now = self._host.clock.time()
        write = self._journal.write(run_update=lease_queries.release_values(now, now))
        try:
            await asyncio.shield(self._host.batcher.submit(write))
        except Exception as exc:  # the lease will expire and another worker recovers it
            log.warning("could not hand back run %s: %s", self.run_id, exc)
