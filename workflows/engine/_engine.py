"""``Engine``: the entry point that starts, wakes, cancels, retries and reads runs."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid as _uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ._clock import Clock, SystemClock
from ._definitions import Registry, default_registry, definition_of
from ._errors import HookNotFound, InvalidRunState, RunCancelled, RunNotFound
from ._executor import Outcome, encode_args, new_run_row
from ._handle import RunHandle
from ._history import EventType, event_row
from ._listener import Listener
from ._records import EventRecord, HookRecord, RunRecord, RunStatus, at, steps_from_events
from ._serialization import decode_error, dumps, encode_error, loads
from ._store import Batcher, Database, Write
from ._store import hooks as hook_queries
from ._store import runs as run_queries
from ._store.dialect import notify
from ._store.leases import Claimed
from ._store.schema import events
from ._store.schema import runs as runs_table
from ._worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineOptions:
    """Tuning knobs of an :class:`Engine` (all durations in seconds).

    Attributes:
        lease_ttl: How long a worker's claim on a run lasts without a heartbeat; a dead
            worker's runs are taken over within this plus one sweep.
        idle_window: How long a run may wait in memory before it is unloaded.
        poll_interval: Longest pause between sweeps (and between checks when
            notifications are unavailable, as on SQLite across processes).
        max_recoveries: Takeovers from dead workers in a row before a run is
            stopped as ``crashed``.
        pool_size: Database connections (PostgreSQL).
        connect_timeout: How long opening the engine retries an unreachable database.
        sqlite_synchronous: SQLite's ``synchronous`` pragma (FULL survives power loss;
            NORMAL survives process crashes and is faster).
    """

    lease_ttl: float = 15.0
    idle_window: float = 1.0
    poll_interval: float = 1.0
    max_recoveries: int = 10
    pool_size: int = 10
    connect_timeout: float = 60.0
    sqlite_synchronous: str = "FULL"


class Engine:
    """A durable workflow engine on one database.

    Use as an async context manager; it creates its tables on entry::

        async with Engine("sqlite+aiosqlite:///var/runs.db") as engine:
            async with engine.worker(concurrency=4):
                handle = await engine.start(process_feedback, entry_id, run_id=event_id)
                print(await handle.result())

    Args:
        database_url: ``sqlite+aiosqlite:///path.db`` or ``postgresql+asyncpg://...``.
        registry: Where workflows are looked up by name (default: every ``@workflow``).
        clock: A time source (tests pass the fake clock of ``workflows.engine.testing``).
        **options: Fields of :class:`EngineOptions`.
    """

    def __init__(
        self,
        database_url: str,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.options = EngineOptions(**options)
        self.registry = registry or default_registry
        self._url = database_url
        self._clock: Clock = clock or SystemClock()
        self._db = Database(
            database_url,
            pool_size=self.options.pool_size,
            sqlite_synchronous=self.options.sqlite_synchronous,
        )
        self._batcher = Batcher(self._db)
        self._workers: list[Worker] = []
        self._waiters: dict[str, asyncio.Future[Outcome | None]] = {}
        self._local: set[str] = set()  # runs executing in this process's workers
        self._listener: Listener | None = None

    def __repr__(self) -> str:
        return f"Engine({self._db.url.render_as_string(hide_password=True)!r})"

    async def __aenter__(self) -> Engine:
        await self._db.create_tables(budget=self.options.connect_timeout)
        self._batcher.start()
        if self._db.dialect == "postgresql":
            self._listener = Listener(self._db.url, self._notified)
            self._listener.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await self._batcher.stop()
        await self._db.dispose()

    def worker(
        self, concurrency: int = 10, *, max_parked: int = 256, worker_id: str | None = None
    ) -> Worker:
        """An in-process worker, to use as ``async with engine.worker(...)``.

        Args:
            concurrency: Runs executing at once (runs parked in memory do not count).
            max_parked: Runs kept in memory while waiting; past it they unload at once.
            worker_id: Names the worker in leases (default: host, pid and a random part).
        """
        return Worker(self, concurrency=concurrency, max_parked=max_parked, worker_id=worker_id)

    # -- starting and steering runs -------------------------------------------------------

    async def start(
        self,
        workflow_fn_or_name: Callable[..., Awaitable[Any]] | str,
        *args: Any,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> RunHandle:
        """Start a run, or find the one already started under ``run_id``.

        Args:
            workflow_fn_or_name: A ``@workflow`` function or its registered name.
            run_id: An idempotency key: starting twice (even from two processes) gives
                one run. Default: a random id.

        Raises:
            SerializationError: An argument cannot be stored.
            WorkflowNotRegistered: No workflow has that name.
        """
        definition = definition_of(workflow_fn_or_name, self.registry)
        run_id = run_id or _uuid.uuid4().hex
        now = self._clock.time()
        row = new_run_row(run_id, definition, encode_args(definition, args, kwargs), now)
        worker = next((w for w in self._workers if w.reserve()), None)
        if worker is not None:  # hand it straight to a local worker: no claim round trip
            row.update(
                status="running",
                owner=worker.id,
                lease_epoch=1,
                wake_at=None,
                lease_expires_at=now + self.options.lease_ttl,
                started_at=now,
            )
        created = event_row(run_id, "created", EventType.RUN_CREATED, now)
        write = Write(run_id, new_run=row, events=[created], wake=() if worker else (run_id,))
        try:
            outcome = await self._batcher.write(write)
        except BaseException:
            if worker is not None:
                worker.release_reservation()
            raise
        if worker is not None and not outcome.applied:
            worker.release_reservation()
        if outcome.applied and worker is not None:
            claimed = Claimed(
                run_id=run_id,
                workflow=definition.name,
                args=row["args"],
                epoch=1,
                parent_run_id=None,
                created_at=now,
                deadline=row["deadline"],
                fresh=True,
                cancel_requested=False,
            )
            worker.adopt(claimed, reserved=True)
        elif outcome.applied:
            self._kick_workers()
        return RunHandle(run_id, engine=self)

    def handle(self, run_id: str) -> RunHandle:
        """A handle on an existing run."""
        return RunHandle(run_id, engine=self)

    async def resume_hook(self, token: str, payload: Any = None) -> str:
        """Deliver ``payload`` to the run holding hook ``token``; returns that run's id.

        Payloads delivered before the run waits are buffered, in order.

        Raises:
            HookNotFound: No live run holds the token.
            SerializationError: The payload cannot be stored.
        """
        data = dumps(payload, f"payload for hook {token!r}")
        now = self._clock.time()
        delivery = _uuid.uuid4().hex

        async def deliver(conn: AsyncConnection) -> str | None:
            holder = await hook_queries.holder_of(conn, token)
            row = None if holder is None else await run_queries.fetch_for_update(conn, holder)
            if row is None or row.status in run_queries.TERMINAL:
                return None
            received = event_row(
                row.run_id,
                f"hook-{delivery}",  # a retry after a lost acknowledgement adds nothing
                EventType.HOOK_RECEIVED,
                now,
                data=json.dumps({"token": token}),
            )
            if await run_queries.append_event(conn, received):
                await hook_queries.add_payload(conn, token, row.run_id, data, now)
            await run_queries.wake(conn, row.run_id, now)
            return str(row.run_id)

        run_id = await self._db.run_write(deliver)
        if run_id is None:
            raise HookNotFound(token)
        self._wake_local(run_id)
        return run_id

    async def cancel(self, run_id: str) -> RunStatus:
        """Cancel a run: its next step never starts, and ``result()`` raises ``RunCancelled``.

        A finished run is left as it is. Returns the status after the call (a running
        run stays ``running`` until its worker stops it, within a step).

        Raises:
            RunNotFound: No run has that id.
        """
        now = self._clock.time()
        status = await self._db.run_write(lambda conn: self._cancel_in(conn, run_id, now))
        for worker in self._workers:
            worker.cancel(run_id)
        if status.finished:
            self._finished(run_id)
        return status

    async def _cancel_in(self, conn: AsyncConnection, run_id: str, now: float) -> RunStatus:
        row = await run_queries.fetch_for_update(conn, run_id)
        if row is None:
            raise RunNotFound(run_id)
        status = RunStatus(row.status)
        if status.finished:
            return status
        if status == RunStatus.RUNNING:
            await conn.execute(
                update(runs_table)
                .where(runs_table.c.run_id == run_id)
                .values(cancel_requested=True, updated_at=now)
            )
            await run_queries.append_event(
                conn,
                event_row(
                    run_id, f"cancel-{_uuid.uuid4().hex[:12]}", EventType.RUN_CANCEL_REQUESTED, now
                ),
            )
            await notify(conn, "wf_cancel", run_id)
            return status
        error = json.dumps(encode_error(RunCancelled(run_id)))
        await conn.execute(
            update(runs_table)
            .where(runs_table.c.run_id == run_id)
            .values(**run_queries.finish_values("cancelled", now, error=error))
        )
        await run_queries.append_event(
            conn,
            event_row(run_id, "finished", EventType.RUN_CANCELLED, now, failed=True, data=error),
        )
        await run_queries.after_finish(conn, run_id, row.parent_run_id, now)
        await notify(conn, "wf_done", run_id)
        return RunStatus.CANCELLED

    async def retry(self, run_id: str) -> RunHandle:
        """Continue a failed, cancelled or crashed run from its last completed step.

        Steps that failed for good run again (with fresh attempts); completed steps
        are not repeated.

        Raises:
            RunNotFound: No run has that id.
            InvalidRunState: The run is not failed, cancelled or crashed.
        """
        now = self._clock.time()
        await self._db.run_write(lambda conn: self._retry_in(conn, run_id, now))
        self._kick_workers()
        return RunHandle(run_id, engine=self)

    async def _retry_in(self, conn: AsyncConnection, run_id: str, now: float) -> None:
        row = await run_queries.fetch_for_update(conn, run_id)
        if row is None:
            raise RunNotFound(run_id)
        if row.status not in ("failed", "cancelled", "crashed"):
            raise InvalidRunState(
                f"run {run_id!r} is {row.status}; only failed, cancelled or crashed runs "
                "can be retried"
            )
        failed_positions = select(events.c.position).where(
            events.c.run_id == run_id,
            events.c.checkpoint.is_(True),
            events.c.failed.is_(True),
            events.c.type == EventType.STEP_FAILED.value,
        )
        superseded = (
            (events.c.run_id == run_id)
            & (
                events.c.position.in_(failed_positions.scalar_subquery())
                | (events.c.key == "finished")
            )
            & events.c.key.not_like("%~%")
        )
        await conn.execute(
            update(events)
            .where(superseded)
            .values(key=events.c.key + "~" + _uuid.uuid4().hex[:8], checkpoint=False)
        )
        await conn.execute(
            update(runs_table)
            .where(runs_table.c.run_id == run_id)
            .values(
                status="pending",
                wake_at=now,
                updated_at=now,
                completed_at=None,
                result=None,
                error=None,
                cancel_requested=False,
                recoveries=0,
                owner=None,
                lease_expires_at=None,
                # a run retried after its deadline gets its time limit afresh
                deadline=None if row.deadline is None else now + row.deadline - row.created_at,
            )
        )
        await hook_queries.restore(conn, run_id, now)  # its tokens were freed when it ended
        await run_queries.append_event(
            conn, event_row(run_id, f"retried-{_uuid.uuid4().hex[:12]}", EventType.RUN_RETRIED, now)
        )
        await notify(conn, "wf_wake", run_id)

    # -- reading runs -------------------------------------------------------------------

    async def get_run(self, run_id: str) -> RunRecord:
        """A run with its steps in order, its children and its event history.

        Raises:
            RunNotFound: No run has that id.
        """

        async def read(conn: AsyncConnection) -> RunRecord:
            row = await run_queries.fetch(conn, run_id)
            if row is None:
                raise RunNotFound(run_id)
            rows = list(
                (
                    await conn.execute(
                        select(events).where(events.c.run_id == run_id).order_by(events.c.id)
                    )
                ).all()
            )
            children = await run_queries.list_runs(
                conn, status=None, workflow=None, parent=run_id, limit=10_000
            )
            history = tuple(
                EventRecord(r.id, r.type, at(r.at), r.position, r.name, r.attempt, r.data)
                for r in rows
            )
            return RunRecord.from_row(
                row,
                steps=steps_from_events(rows),
                events=history,
                children=tuple(sorted(c.run_id for c in children)),
            )

        return await self._db.run_read(read)

    async def list_runs(
        self,
        *,
        status: RunStatus | str | Sequence[RunStatus | str] | None = None,
        workflow: str | None = None,
        parent: str | None = None,
        limit: int = 100,
    ) -> list[RunRecord]:
        """Runs, newest first, without steps or events (use :meth:`get_run` for those)."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        rows = await self._db.run_read(
            lambda conn: run_queries.list_runs(
                conn,
                status=[str(RunStatus(s)) for s in statuses],
                workflow=workflow,
                parent=parent,
                limit=limit,
            )
        )
        return [RunRecord.from_row(row) for row in rows]

    async def list_hooks(self, limit: int = 100) -> list[HookRecord]:
        """Live hooks, oldest first, with the count of payloads waiting in each."""
        rows = await self._db.run_read(lambda conn: hook_queries.list_hooks(conn, limit))
        return [
            HookRecord(r.token, r.run_id, r.workflow, at(r.created_at), r.buffered) for r in rows
        ]

    # -- for RunHandle --------------------------------------------------------------------

    async def _run_status(self, run_id: str) -> RunStatus:
        row = await self._db.run_read(lambda conn: run_queries.fetch(conn, run_id))
        if row is None:
            raise RunNotFound(run_id)
        return RunStatus(row.status)

    async def _wait_result(self, run_id: str, timeout: float | None) -> Any:
        loop = asyncio.get_running_loop()
        give_up = None if timeout is None else loop.time() + timeout
        while True:
            waiter = self._waiters.get(run_id)
            if waiter is None:
                waiter = self._waiters[run_id] = loop.create_future()
            if run_id not in self._local:  # else its executor here hands us the outcome
                row = await self._db.run_read(lambda conn: run_queries.fetch(conn, run_id))
                if row is None or row.status in run_queries.TERMINAL:
                    self._drop_waiter(run_id, waiter)
                if row is None:
                    raise RunNotFound(run_id)
                if row.status in run_queries.TERMINAL:
                    return _outcome_value(Outcome(row.status, row.result, row.error))
            wait = self.options.poll_interval
            if give_up is not None:
                wait = min(wait, give_up - loop.time())
                if wait <= 0:
                    self._drop_waiter(run_id, waiter)
                    raise TimeoutError(f"run {run_id!r} is still unfinished after {timeout}s")
            try:
                async with asyncio.timeout(wait):
                    outcome = await asyncio.shield(waiter)
            except TimeoutError:
                continue
            if outcome is not None:
                return _outcome_value(outcome)

    def _drop_waiter(self, run_id: str, waiter: asyncio.Future[Outcome | None]) -> None:
        """Forget a waiter nobody else awaits (no entry outlives its callers)."""
        if self._waiters.get(run_id) is waiter:
            del self._waiters[run_id]
            if not waiter.done():
                waiter.set_result(None)  # any other caller looks again

    # -- wake-ups ----------------------------------------------------------------------------

    def _attach(self, worker: Worker) -> None:
        self._workers.append(worker)

    def _detach(self, worker: Worker) -> None:
        self._workers.remove(worker)

    def _finished(self, run_id: str, outcome: Outcome | None = None) -> None:
        """A run ended (``outcome`` when it ended here; None: look it up)."""
        self._local.discard(run_id)
        waiter = self._waiters.pop(run_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def _kick_workers(self) -> None:
        for worker in self._workers:
            worker.kick()

    def _wake_local(self, run_id: str) -> None:
        if not any(worker.poke(run_id) for worker in self._workers):
            self._kick_workers()

    def _notified(self, channel: str, payload: str) -> None:
        for run_id in payload.split(","):
            if channel == "wf_done":
                if run_id not in self._local:  # a local executor hands over the outcome
                    self._finished(run_id)
            elif channel == "wf_cancel":
                for worker in self._workers:
                    worker.cancel(run_id)
            else:
                self._wake_local(run_id)


def _outcome_value(outcome: Outcome) -> Any:
    """The run's result, or its error raised."""
    if outcome.status == "completed":
        return loads(outcome.result)
    raise decode_error(json.loads(outcome.error or "{}"))
