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
import math
import secrets
import uuid as _uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import _faults, _history
from ._errors import (
    DatabaseUnavailable,
    FatalError,
    HookConflict,
    HookTimeout,
    RunCancelled,
    RunNotFound,
    SerializationError,
    StepRetriesExhausted,
    WorkflowTimedOut,
    _CancelSignal,
    _LeaseLost,
)
from ._history import EventType, History, event_row
from ._retry import decide
from ._runtime import bind, unbind
from ._serialization import decode_error, dumps, encode_error, loads
from ._store import Write, WriteOutcome
from ._store import hooks as hook_queries
from ._store import leases as lease_queries
from ._store import runs as run_queries
from ._store.schema import runs as runs_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ._clock import Clock
    from ._definitions import StepDef, WorkflowDef
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

    def parked_changed(self, executor: RunExecutor, parked: bool) -> None: ...

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
    """A ``wf_runs`` row for a run that has not started yet."""
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
    }


def encode_args(definition: WorkflowDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return dumps(
        {"args": list(args), "kwargs": kwargs}, f"arguments of workflow {definition.name!r}"
    )


class RunExecutor:
    """Runs one claimed run's workflow code; implements the ``RunContext`` protocol."""

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
        self._unload_waits: tuple[list[str], list[str]] = ([], [])

    # -- identity and outside signals -------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.claimed.run_id

    @property
    def engine(self) -> Any:
        return self._host.engine

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
            self._unload_waits = (sorted(self._waits_on_tokens), sorted(self._waits_on_children))
            self._task.cancel()

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

        async def recheck(conn: AsyncConnection) -> None:
            # the row is locked by the fence: a delivery either committed before this
            # check (seen here) or waits for this commit and then sees 'waiting'
            if await hook_queries.has_unconsumed(conn, self.run_id, tokens) or await _any_finished(
                conn, children
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
        now = self._host.clock.time()
        write = Write(
            self.run_id, self.claimed.epoch, run_update=lease_queries.release_values(now, now)
        )
        try:
            await asyncio.shield(self._host.batcher.submit(write))
        except Exception as exc:  # the lease will expire and another worker recovers it
            log.warning("could not hand back run %s: %s", self.run_id, exc)

    # -- plumbing -----------------------------------------------------------------------

    def _next(self, name: str) -> tuple[int, _history.Checkpoint | None]:
        position = self._position
        self._position += 1
        return position, self._history.checkpoint(position, name)

    def _now(self) -> float:
        return self._host.clock.time()

    def _check_cancel(self) -> None:
        if self._cancel:
            raise _CancelSignal

    async def _commit(
        self, write: Write, *, probe: bool = False, shielded: bool = False
    ) -> WriteOutcome:
        """Write, fenced by our lease; ``shielded``: the write survives our cancellation."""
        if self._reset_recoveries:
            write.run_update = {**(write.run_update or {}), "recoveries": 0}
            self._reset_recoveries = False
        busy = 0 if probe else 1
        self._inflight += busy
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
        finally:
            self._inflight -= busy
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

        Probes run on every poke and, with ``poll``, every poll interval; they do not
        count as activity, so a polling run still unloads after the idle window. A
        probe cancelled by the unload is safe: what it takes is checkpointed with it.
        """
        self._parked[position] = deadline
        self._state_changed()
        try:
            while True:
                self._check_cancel()
                event = self._poke
                found = await probe()
                if found is not None:
                    return found
                remaining = math.inf if deadline is None else deadline - self._now()
                if remaining <= 0:
                    return None
                timeout = min(remaining, self._host.poll_interval) if poll else remaining
                await self._host.clock.wait(event, None if timeout == math.inf else timeout)
        finally:
            del self._parked[position]
            self._state_changed()

    async def _until(self, position: int, deadline: float) -> None:
        async def never() -> None:
            return None

        await self._wait_for(position, deadline, never, poll=False)

    def _replay(self, checkpoint: _history.Checkpoint) -> Any:
        if checkpoint.failed:
            raise decode_error(json.loads(checkpoint.data or "{}"))
        return loads(checkpoint.data)

    # -- durable calls (the RunContext protocol) -------------------------------------------

    async def run_step(
        self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        position, recorded = self._next(definition.name)
        if recorded is not None:
            return self._replay(recorded)
        attempt, next_at = self._history.retry_state(position)
        while True:
            if next_at is not None and next_at > self._now():
                await self._until(position, next_at)
            self._check_cancel()
            attempt += 1
            error, value, started = await self._attempt(definition, args, kwargs)
            if error is None:
                return await self._step_succeeded(definition, position, attempt, started, value)
            next_at = await self._step_failed(definition, position, attempt, started, error)

    async def _attempt(
        self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[BaseException | None, Any, float]:
        started = self._now()
        self._inflight += 1
        token = bind(None)
        try:
            _faults.hit("before_step", definition.name)
            async with asyncio.timeout(definition.timeout):
                value = await definition.fn(*args, **kwargs)
            _faults.hit("after_step", definition.name)
            return None, value, started
        except Exception as exc:
            return exc, None, started
        finally:
            unbind(token)
            self._inflight -= 1

    async def _step_succeeded(
        self, definition: StepDef, position: int, attempt: int, started: float, value: Any
    ) -> Any:
        try:
            data = dumps(value, f"result of step {definition.name!r}")
        except SerializationError as exc:
            await self._step_failed(definition, position, attempt, started, exc)  # raises
            raise
        row = event_row(
            self.run_id,
            f"p{position}",
            EventType.STEP_COMPLETED,
            self._now(),
            position=position,
            name=definition.name,
            checkpoint=True,
            attempt=attempt,
            started_at=started,
            data=data,
        )
        await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        _faults.hit("after_step_committed", definition.name)
        return loads(data)

    async def _step_failed(
        self, definition: StepDef, position: int, attempt: int, started: float, error: BaseException
    ) -> float:
        """Record a failed attempt; raise if it was the last, else return the next time."""
        now = self._now()
        verdict = decide(definition.policy, attempt, error)
        if isinstance(error, SerializationError):
            verdict = type(verdict)(give_up=True)
        if verdict.give_up:
            final: BaseException = error
            if not isinstance(error, FatalError | SerializationError):
                final = StepRetriesExhausted(definition.name, attempt, error)
            row = event_row(
                self.run_id,
                f"p{position}",
                EventType.STEP_FAILED,
                now,
                position=position,
                name=definition.name,
                checkpoint=True,
                failed=True,
                attempt=attempt,
                started_at=started,
                data=json.dumps(encode_error(final)),
            )
            await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
            raise final
        next_at = now + verdict.delay
        row = event_row(
            self.run_id,
            f"p{position}.a{attempt}",
            EventType.STEP_FAILED,
            now,
            position=position,
            name=definition.name,
            attempt=attempt,
            started_at=started,
            wake_at=next_at,
            data=json.dumps(encode_error(error)),
        )
        await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        _faults.hit("after_attempt_failed", definition.name)
        log.info(
            "step %s attempt %d failed, next in %.2fs: %r",
            definition.name,
            attempt,
            verdict.delay,
            error,
            extra={"run_id": self.run_id, "step": definition.name},
        )
        return next_at

    async def sleep(self, seconds: float) -> None:
        position, recorded = self._next(_history.SLEEP)
        if recorded is not None:
            deadline = recorded.wake_at or 0.0
        else:
            self._check_cancel()
            deadline = self._now() + max(0.0, seconds)
            row = event_row(
                self.run_id,
                f"p{position}",
                EventType.SLEEP_SCHEDULED,
                self._now(),
                position=position,
                name=_history.SLEEP,
                checkpoint=True,
                wake_at=deadline,
            )
            await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        if deadline > self._now():
            await self._until(position, deadline)
        self._record_in_background(
            event_row(
                self.run_id,
                f"p{position}.fired",
                EventType.SLEEP_FIRED,
                self._now(),
                position=position,
                name=_history.SLEEP,
            )
        )

    def now(self) -> datetime:
        return self._recorded_value(_history.NOW, lambda: datetime.fromtimestamp(self._now(), UTC))  # type: ignore[no-any-return]

    def uuid(self) -> _uuid.UUID:
        return _uuid.UUID(self._recorded_value(_history.UUID, lambda: str(_uuid.uuid4())))

    def _recorded_value(self, name: str, make: Any) -> Any:
        position, recorded = self._next(name)
        if recorded is not None:
            return loads(recorded.data)
        value = make()
        data = dumps(value, name)
        self._record_in_background(
            event_row(
                self.run_id,
                f"p{position}",
                EventType.VALUE_RECORDED,
                self._now(),
                position=position,
                name=name,
                checkpoint=True,
                data=data,
            )
        )
        return value

    async def create_hook(self, token: str | None) -> str:
        position, recorded = self._next(_history.CREATE_HOOK)
        if recorded is not None:
            self._has_hooks = True
            return str(self._replay(recorded))
        self._check_cancel()
        chosen = token if token is not None else secrets.token_urlsafe(24)
        now = self._now()

        async def register(conn: AsyncConnection) -> str | None:
            holder = await hook_queries.register(conn, chosen, self.run_id, position, now)
            failed = holder is not None
            data = (
                json.dumps(encode_error(HookConflict(chosen, holder)))
                if holder
                else dumps(chosen, "hook token")
            )
            await run_queries.append_event(
                conn,
                event_row(
                    self.run_id,
                    f"p{position}",
                    EventType.HOOK_CREATED,
                    now,
                    position=position,
                    name=_history.CREATE_HOOK,
                    checkpoint=True,
                    failed=failed,
                    data=data,
                ),
            )
            return holder

        outcome = await self._commit(Write(self.run_id, self.claimed.epoch, work=register))
        if outcome.value is not None:
            raise HookConflict(chosen, outcome.value)
        self._has_hooks = True
        return chosen

    async def wait_hook(self, token: str, timeout: float | None) -> Any:
        position, recorded = self._next(_history.WAIT_HOOK)
        if recorded is not None:
            return self._replay(recorded)
        deadline = self._history.deadline(position)
        if deadline is None and timeout is not None:
            deadline = self._now() + timeout
            row = event_row(
                self.run_id,
                f"p{position}.wait",
                EventType.HOOK_WAITING,
                self._now(),
                position=position,
                name=_history.WAIT_HOOK,
                wake_at=deadline,
            )
            await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        self._waits_on_tokens.add(token)
        try:
            taken = await self._wait_for(
                position, deadline, lambda: self._take_payload(token, position), poll=True
            )
        finally:
            self._waits_on_tokens.discard(token)
        if taken is None:
            return await self._hook_timed_out(token, position)
        return loads(taken[0])

    async def _take_payload(self, token: str, position: int) -> tuple[str] | None:
        now = self._now()

        async def take(conn: AsyncConnection) -> tuple[str | None] | None:
            got = await hook_queries.take_payload(conn, token, self.run_id, position, now)
            if got is None:
                return None
            await run_queries.append_event(
                conn,
                event_row(
                    self.run_id,
                    f"p{position}",
                    EventType.HOOK_CONSUMED,
                    now,
                    position=position,
                    name=_history.WAIT_HOOK,
                    checkpoint=True,
                    attempt=got[0],
                    data=got[1],
                ),
            )
            return (got[1],)

        outcome = await self._commit(Write(self.run_id, self.claimed.epoch, work=take), probe=True)
        if outcome.value is not None:
            _faults.hit("after_hook_consumed")
        return outcome.value  # type: ignore[no-any-return]

    async def _hook_timed_out(self, token: str, position: int) -> Any:
        error = HookTimeout(f"no payload reached hook {token!r} before its deadline")
        row = event_row(
            self.run_id,
            f"p{position}",
            EventType.HOOK_TIMED_OUT,
            self._now(),
            position=position,
            name=_history.WAIT_HOOK,
            checkpoint=True,
            failed=True,
            data=json.dumps(encode_error(error)),
        )
        await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        raise error

    async def start_child(
        self,
        definition: WorkflowDef,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        run_id: str | None,
    ) -> str:
        name = _history.start_child_name(definition.name)
        position, recorded = self._next(name)
        if recorded is not None:
            return str(loads(recorded.data))
        self._check_cancel()
        child_id = run_id or f"{self.run_id}:{position}"
        now = self._now()
        row = new_run_row(
            child_id, definition, encode_args(definition, args, kwargs), now, parent=self.run_id
        )

        async def create(conn: AsyncConnection) -> None:
            if await run_queries.insert_new(conn, [row]):
                await run_queries.append_event(
                    conn,
                    event_row(
                        child_id,
                        "created",
                        EventType.RUN_CREATED,
                        now,
                        data=json.dumps({"parent": self.run_id}),
                    ),
                )
            await run_queries.append_event(
                conn,
                event_row(
                    self.run_id,
                    f"p{position}",
                    EventType.CHILD_STARTED,
                    now,
                    position=position,
                    name=name,
                    checkpoint=True,
                    data=dumps(child_id, "child run id"),
                ),
            )

        await self._commit(Write(self.run_id, self.claimed.epoch, work=create, wake=(child_id,)))
        _faults.hit("after_child_started")
        self._host.kick()
        return child_id

    async def child_result(self, run_id: str) -> Any:
        position, recorded = self._next(_history.CHILD_RESULT)
        if recorded is not None:
            return self._replay(recorded)
        self._waits_on_children.add(run_id)

        async def probe() -> tuple[Any] | None:
            row = await self._host.db.run_read(lambda conn: run_queries.fetch(conn, run_id))
            if row is None:
                raise RunNotFound(run_id)
            if row.status not in run_queries.TERMINAL:
                return None
            return (await self._child_finished(position, row),)

        try:
            found = await self._wait_for(position, None, probe, poll=True)
        finally:
            self._waits_on_children.discard(run_id)
        assert found is not None  # no deadline: only a finished child ends the wait
        return self._replay(found[0])

    async def _child_finished(self, position: int, row: Any) -> _history.Checkpoint:
        failed = row.status != "completed"
        if row.status == "cancelled":
            data = json.dumps(encode_error(RunCancelled(row.run_id)))
        else:
            data = row.error if failed else row.result
        event = event_row(
            self.run_id,
            f"p{position}",
            EventType.CHILD_FINISHED,
            self._now(),
            position=position,
            name=_history.CHILD_RESULT,
            checkpoint=True,
            failed=failed,
            data=data,
        )
        await self._commit(Write(self.run_id, self.claimed.epoch, events=[event]), probe=True)
        return _history.Checkpoint(position, event["type"], _history.CHILD_RESULT, data, failed)


async def _any_finished(conn: AsyncConnection, run_ids: list[str]) -> bool:
    if not run_ids:
        return False
    from sqlalchemy import select

    table = runs_table
    stmt = (
        select(table.c.run_id)
        .where(table.c.run_id.in_(run_ids), table.c.status.in_(run_queries.TERMINAL))
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None
