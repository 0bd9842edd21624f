"""``Engine``: the entry point that starts, wakes, cancels, retries and reads runs.

The engine only orchestrates: statements live in ``_store``, execution in the
workers it hands runs to (through ``EngineServices`` one way and ``Runner``'s public
methods the other).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid as _uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from ._clock import Clock, SystemClock
from ._definitions import Registry, default_registry, definition_of
from ._errors import HookNotFound, RunNotFound
from ._handle import RunHandle
from ._listener import Listener
from ._options import EngineOptions
from ._records import (
    EventRecord,
    HookRecord,
    RunCounts,
    RunRecord,
    RunStatus,
    at,
    steps_from_events,
)
from ._replay import EventType, event_row
from ._run_state import Outcome
from ._serialization import decode_error, dumps, loads
from ._store import Batcher, Database, Write
from ._store import hooks as hook_queries
from ._store import runs as run_queries
from ._store.leases import Claimed
from ._store.runs import encode_args, new_run_row
from ._worker import EngineServices, Runner, Worker

log = logging.getLogger(__name__)

__all__ = ["Engine", "EngineOptions"]


_T = TypeVar("_T")


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
        self._clock: Clock = clock or SystemClock()
        self._db = Database(
            database_url,
            pool_size=self.options.pool_size,
            sqlite_synchronous=self.options.sqlite_synchronous,
        )
        self._batcher = Batcher(self._db)
        self._runners: list[Runner] = []
        self._waiters: dict[str, asyncio.Future[Outcome | None]] = {}
        self._listener: Listener | None = None
        self._services = EngineServices(
            db=self._db,
            batcher=self._batcher,
            clock=self._clock,
            options=self.options,
            registry=self.registry,
            results=self,
            finished=self._finished,
            attached=self._attached,
        )

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
        return Worker(
            self._services, concurrency=concurrency, max_parked=max_parked, worker_id=worker_id
        )

    @property
    def busy(self) -> bool:
        """Whether a worker of this engine is loading or executing a run now."""
        return any(runner.loaded for runner in self._runners)

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
        runner = next((r for r in self._runners if r.reserve()), None)
        if runner is not None:  # hand it straight to a local worker: no claim round trip
            row.update(
                status="running",
                owner=runner.id,
                lease_epoch=1,
                wake_at=None,
                lease_expires_at=now + self.options.lease_ttl,
                started_at=now,
            )
        created = event_row(run_id, "created", EventType.RUN_CREATED, now)
        write = Write(run_id, new_run=row, events=[created], wake=() if runner else (run_id,))
        try:
            outcome = await self._batcher.write(write)
        except BaseException:
            if runner is not None:
                runner.release_reservation()
            raise
        if runner is None:
            if outcome.applied:
                self._claim_soon()
        elif not outcome.applied:
            runner.release_reservation()
        else:
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
            runner.adopt(claimed, reserved=True)
        return RunHandle(run_id, engine=self)

    def handle(self, run_id: str) -> RunHandle:
        """A handle on an existing run."""
        return RunHandle(run_id, engine=self)

    async def resume_hook(
        self, token: str, payload: Any = None, *, idempotency_key: str | None = None
    ) -> str:
        """Deliver ``payload`` to the run holding hook ``token``; returns that run's id.

        Payloads delivered before the run waits are buffered, in order.

        Args:
            idempotency_key: Names the delivery: delivering again under the same key
                (a retried request, a second click) adds nothing and returns the run's
                id. Default: every call is a new delivery.

        Raises:
            HookNotFound: No live run holds the token, or its wait on it has timed out.
            SerializationError: The payload cannot be stored.
        """
        data = dumps(payload, f"payload for hook {token!r}")
        now = self._clock.time()
        key = _delivery_key(token, idempotency_key)

        async def deliver(conn: AsyncConnection) -> str | None:
            return await run_queries.deliver(conn, token, data, now, key)

        run_id = await self._db.run_write(deliver)
        if run_id is None:
            raise HookNotFound(token)
        self._wake(run_id)
        return run_id

    async def transaction(self, work: Callable[[Transaction], Awaitable[_T]]) -> _T:
        """Run your own statements and hook deliveries in one write transaction.

        For tables that live in the engine's database: a decision recorded in your
        table and the delivery that wakes the waiting run commit together, or not at
        all. Runs are woken after the commit. ``work`` may run again after a lost
        commit acknowledgement, so it must be safe to repeat (a compare-and-set is).

        Example::

            async def decide(tx: Transaction) -> bool:
                won = await approvals.decide(tx.conn, approval_id, choice)
                if won:
                    await tx.resume_hook(token, {"choice": choice}, idempotency_key=approval_id)
                return won

            won = await engine.transaction(decide)
        """

        async def attempt(conn: AsyncConnection) -> tuple[_T, list[str]]:
            tx = Transaction(conn, self._clock.time())
            return await work(tx), tx.woken

        result, woken = await self._db.run_write(attempt)
        for run_id in woken:
            self._wake(run_id)
        return result

    async def cancel(self, run_id: str) -> RunStatus:
        """Cancel a run: its next step never starts, and ``result()`` raises ``RunCancelled``.

        A finished run is left as it is. Returns the status after the call (a running
        run stays ``running`` until its worker stops it, within a step).

        Raises:
            RunNotFound: No run has that id.
        """
        now = self._clock.time()
        status = RunStatus(
            await self._db.run_write(lambda conn: run_queries.cancel(conn, run_id, now))
        )
        for runner in self._runners:
            runner.cancel(run_id)
        if status.finished:
            self._finished(run_id)
        return status

    async def retry(self, run_id: str) -> RunHandle:
        """Continue a failed, cancelled or crashed run from its last completed step.

        Steps that failed for good run again (with fresh attempts); completed steps
        are not repeated; a wait whose timeout failed the run waits again, with a
        fresh deadline.

        Raises:
            RunNotFound: No run has that id.
            InvalidRunState: The run is not failed, cancelled or crashed.
        """
        now = self._clock.time()
        suffix = _uuid.uuid4().hex[:8]
        await self._db.run_write(lambda conn: run_queries.retry(conn, run_id, now, suffix))
        self._claim_soon()
        return RunHandle(run_id, engine=self)

    # -- reading runs -------------------------------------------------------------------

    async def get_run(self, run_id: str) -> RunRecord:
        """A run with its steps in order, its children and its event history.

        Raises:
            RunNotFound: No run has that id.
        """
        found = await self._db.run_read(lambda conn: run_queries.read_with_history(conn, run_id))
        if found is None:
            raise RunNotFound(run_id)
        row, rows, children = found
        history = tuple(
            EventRecord(r.id, r.type, at(r.at), r.position, r.name, r.attempt, r.data) for r in rows
        )
        return RunRecord.from_row(
            row, steps=steps_from_events(rows), events=history, children=tuple(children)
        )

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

    async def count_runs(self) -> RunCounts:
        """Runs per workflow and status, and the timers ahead and due (one read)."""
        now = self._clock.time()

        async def read(conn: AsyncConnection) -> tuple[Sequence[Any], int, int]:
            return await run_queries.counts(conn, now)

        by_status, ahead, due = await self._db.run_read(read)
        runs = {(workflow, RunStatus(status)): n for workflow, status, n in by_status}
        return RunCounts(runs=runs, timers_ahead=ahead, timers_due=due)

    async def list_hooks(self, limit: int = 100) -> list[HookRecord]:
        """Live hooks, oldest first, with the count of payloads waiting in each."""
        rows = await self._db.run_read(lambda conn: hook_queries.list_hooks(conn, limit))
        return [
            HookRecord(r.token, r.run_id, r.workflow, at(r.created_at), r.buffered) for r in rows
        ]

    # -- for RunHandle (the ResultSource protocol) ----------------------------------------

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
            if not self._runs_here(run_id):  # else its executor hands us the outcome
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

    # -- the workers' side of the contract -------------------------------------------------

    def _attached(self, runner: Runner, attached: bool) -> None:
        if attached:
            self._runners.append(runner)
        else:
            self._runners.remove(runner)

    def _finished(self, run_id: str, outcome: Outcome | None = None) -> None:
        """A run ended (``outcome`` when it ended here; None: look it up)."""
        waiter = self._waiters.pop(run_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    # -- wake-ups ----------------------------------------------------------------------------

    def _runs_here(self, run_id: str) -> bool:
        return any(runner.holds(run_id) for runner in self._runners)

    def _claim_soon(self) -> None:
        for runner in self._runners:
            runner.claim_soon()

    def _wake(self, run_id: str) -> None:
        if not any(runner.wake(run_id) for runner in self._runners):
            self._claim_soon()

    def _notified(self, channel: str, payload: str) -> None:
        for run_id in payload.split(","):
            if channel == "wf_done":
                if not self._runs_here(run_id):  # a local executor hands over the outcome
                    self._finished(run_id)
            elif channel == "wf_cancel":
                for runner in self._runners:
                    runner.cancel(run_id)
            else:
                self._wake(run_id)


class Transaction:
    """One of the engine's write transactions, lent to :meth:`Engine.transaction`.

    Attributes:
        conn: The connection, inside the transaction: use it for your own tables.
    """

    def __init__(self, conn: AsyncConnection, now: float) -> None:
        self.conn = conn
        self._now = now
        self.woken: list[str] = []

    async def resume_hook(
        self, token: str, payload: Any = None, *, idempotency_key: str | None = None
    ) -> str:
        """Like :meth:`Engine.resume_hook`, committed with the rest of the transaction.

        Raises:
            HookNotFound: No live run holds the token (nothing was written: catch it
                and the transaction goes on).
        """
        data = dumps(payload, f"payload for hook {token!r}")
        run_id = await run_queries.deliver(
            self.conn, token, data, self._now, _delivery_key(token, idempotency_key)
        )
        if run_id is None:
            raise HookNotFound(token)
        self.woken.append(run_id)
        return run_id


def _delivery_key(token: str, idempotency_key: str | None) -> str:
    """The history key of a delivery: a retry under one idempotency key adds nothing."""
    if idempotency_key is None:
        return f"hook-{_uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{token}\0{idempotency_key}".encode()).hexdigest()[:32]
    return f"hook-{digest}"


def _outcome_value(outcome: Outcome) -> Any:
    """The run's result, or its error raised."""
    if outcome.status == "completed":
        return loads(outcome.result)
    raise decode_error(json.loads(outcome.error or "{}"))
