"""An in-process worker: claims due runs, executes them, renews their leases.

Every worker sweeps continuously: the claim query takes runs whose timers are due and
runs whose owners' leases expired (dead workers), so recovery needs no restart and no
control plane. A worker records the process behind it; a worker on the same host that
finds that process gone takes its runs over at once instead of waiting for the lease.
Parked runs (waiting in memory for a short while) do not count against
``concurrency``; past ``max_parked`` the oldest are unloaded at once.

``Worker`` is what users hold (``async with engine.worker():``); ``Runner`` does the
work, and is what the engine talks to, through the methods below its first line.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from . import _process
from ._errors import WorkflowNotRegistered
from ._executor import RunExecutor
from ._replay import History
from ._run_state import SUSPECT_AFTER, Outcome
from ._store import Write
from ._store import events as event_queries
from ._store import leases as lease_queries
from ._store import workers as worker_queries
from ._store.leases import Claimed

if TYPE_CHECKING:
    from ._clock import Clock
    from ._definitions import Registry
    from ._options import EngineOptions
    from ._store import Batcher, Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineServices:
    """What a worker uses of its engine: the contract between the two."""

    db: Database
    batcher: Batcher
    clock: Clock
    options: EngineOptions
    registry: Registry
    #: where a ``RunHandle`` inside a workflow reads results with a timeout
    results: Any
    #: a run ended on this worker, with its outcome
    finished: Callable[[str, Outcome], None]
    #: this worker joins (True) or leaves (False) the engine
    attached: Callable[[Runner, bool], None]


class Runner:
    """Claims, executes and renews the runs of one worker."""

    def __init__(
        self, services: EngineServices, *, concurrency: int, max_parked: int, worker_id: str
    ) -> None:
        self._services = services
        self.db = services.db
        self.batcher = services.batcher
        self.clock = services.clock
        self.idle_window = services.options.idle_window
        self.poll_interval = services.options.poll_interval
        self.concurrency = concurrency
        self.max_parked = max_parked
        self.id = worker_id
        self._process = _process.current()
        self._adopted: set[str] = set()  # runs this worker is loading or executing
        self._executors: dict[str, RunExecutor] = {}
        self._parked: dict[str, RunExecutor] = {}
        self._suspect: str | None = None  # the one recovered run not yet shown harmless
        self._claim_now = asyncio.Event()
        self._claim_now.set()  # claim at start: runs may be due already
        self._due: float | None = None  # when the next run is due, as last read
        self._saturated = False  # the last claim filled every free slot: more may be due
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reserved = 0  # slots held for runs being started or loaded here
        self.paused = False  # claims nothing new while set (runs in hand go on)
        self._context = contextvars.Context()  # the worker's, from start()

    @property
    def results(self) -> Any:
        return self._services.results

    @property
    def loaded(self) -> frozenset[str]:
        """The runs this worker holds in memory now."""
        return frozenset(self._executors)

    @property
    def parked(self) -> frozenset[str]:
        return frozenset(self._parked)

    def holds(self, run_id: str) -> bool:
        """Whether the run is being loaded or executed here (its outcome is handed over
        in-process when it ends)."""
        return run_id in self._adopted

    @property
    def free(self) -> int:
        """Slots for more runs: running runs that are not parked count."""
        busy = len(self._executors) - len(self._parked) + self._reserved
        return self.concurrency - busy

    async def start(self) -> None:
        await self.db.run_write(
            lambda conn: worker_queries.register(conn, self.id, self._process, self.clock.time())
        )
        await self._take_over_dead_peers()
        self._context = contextvars.copy_context()
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._spawn(self._claim_loop(), f"claim:{self.id}")
        self._spawn(self._heartbeat_loop(), f"heartbeat:{self.id}")
        self._services.attached(self, True)

    async def stop(self) -> None:
        self._services.attached(self, False)
        for executor in list(self._executors.values()):
            executor.stop()
        for task in list(self._tasks):
            task.cancel()
        assert self._group is not None
        await self._group.__aexit__(None, None, None)
        self._group = None
        try:
            await self.db.run_write(lambda conn: worker_queries.unregister(conn, self.id))
        except Exception as exc:  # a stale row is forgotten later; never fail a stop
            log.warning("could not unregister worker %s: %s", self.id, exc)

    # -- called by the engine ------------------------------------------------------------

    def claim_soon(self) -> None:
        """Look for due runs now (a run was started, woken, or a slot freed)."""
        self._claim_now.set()

    def wake(self, run_id: str) -> bool:
        """Tell a loaded run to look again at what it waits for; False if not here."""
        executor = self._executors.get(run_id)
        if executor is None:
            return False
        executor.wake()
        return True

    def cancel(self, run_id: str) -> None:
        executor = self._executors.get(run_id)
        if executor is not None:
            executor.request_cancel()

    def reserve(self) -> bool:
        """Hold a slot for a run about to be started here (see :meth:`adopt`)."""
        if self.paused or self.free <= 0:
            return False
        self._reserved += 1
        return True

    def release_reservation(self) -> None:
        self._reserved -= 1

    def adopt(self, claimed: Claimed, *, reserved: bool = False) -> None:
        """Run a run this worker already owns (claimed, or started here with its lease)."""
        if not reserved:
            self._reserved += 1
        self._adopted.add(claimed.run_id)
        task = self._spawn(self._execute(claimed), f"run:{claimed.run_id}")
        task.add_done_callback(lambda _task: self._adopted.discard(claimed.run_id))

    # -- called by executors (the ExecutorHost protocol) --------------------------------

    def parked_changed(self, run_id: str, parked: bool) -> None:
        if not parked:
            self._parked.pop(run_id, None)
            return
        executor = self._executors.get(run_id)
        if executor is None:
            return
        if run_id not in self._parked:
            self._parked[run_id] = executor
            self._slot_freed()
        while len(self._parked) > self.max_parked:
            oldest = next(iter(self._parked))
            self._parked.pop(oldest).unload()

    def unload_when_idle(self, run_id: str) -> None:
        executor = self._executors.get(run_id)
        if executor is not None:
            executor.unload()

    def suspect_cleared(self, run_id: str) -> None:
        if self._suspect == run_id:
            self._suspect = None
            self.claim_soon()

    def finished(self, run_id: str, outcome: Outcome) -> None:
        self._services.finished(run_id, outcome)

    # -- loops ------------------------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        assert self._group is not None, "the worker is not running"
        # in a copy of the worker's context, not the caller's: a run started from a
        # request handler sees what the worker was started with (contextvars)
        task = self._group.create_task(coro, name=name, context=self._context.copy())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _slot_freed(self) -> None:
        if self._saturated:
            self.claim_soon()

    async def _claim_loop(self) -> None:
        while True:
            try:
                await self._claim_once()
            except Exception:  # keep sweeping: a bad moment must not stop the worker
                log.exception("claiming runs failed; trying again")
                await asyncio.sleep(self.poll_interval)

    async def _claim_once(self) -> None:
        """Claim what is due into free slots, then wait for a kick or the next due time.

        An idle worker only reads when the next run is due; it claims (a write) when
        told that something happened, or when that time has come.
        """
        kicked = self._claim_now.is_set()
        self._claim_now.clear()
        free = 0 if self.paused else self.free
        claimed: list[Claimed] = []
        due_now = self._due is not None and self._due <= self.clock.time()
        if free > 0 and (kicked or due_now):
            claimed = await self._claim(free)
            for item in claimed:
                self.adopt(item)
        self._saturated = len(claimed) >= free
        if claimed and len(claimed) == free:
            await asyncio.sleep(0)  # more may be due: claim again at once
            return
        timeout = self.poll_interval
        if not self.paused and self.free > 0:
            self._due = await self.db.run_read(lease_queries.next_wake, budget=None)
            if self._due is not None:
                wait = self._due - self.clock.time()
                if wait > 0 or claimed:
                    timeout = max(0.0, min(timeout, wait))
                # else: due, yet nothing to claim (our own lapsed lease until renewed,
                # a suspect while ours runs): look again in a poll interval, or when
                # told (the suspect cleared)
        await self.clock.wait(self._claim_now, timeout)

    async def _claim(self, free: int) -> list[Claimed]:
        now = self.clock.time()  # one value for every attempt: retries find their claim
        options = self._services.options
        suspects = 0 if self._suspect is not None else 1
        attempts = 0

        async def claim(conn: AsyncConnection) -> list[Claimed]:
            nonlocal attempts
            attempts += 1
            return await lease_queries.claim(
                conn,
                worker=self.id,
                limit=free,
                now=now,
                ttl=options.lease_ttl,
                max_recoveries=options.max_recoveries,
                suspects=suspects,
                repeat=attempts > 1,
                known=set(self._executors),
            )

        claimed = await self.db.run_write(claim, budget=None)
        for item in claimed:
            if item.recoveries >= SUSPECT_AFTER:
                self._suspect = item.run_id
        return claimed

    async def _heartbeat_loop(self) -> None:
        options = self._services.options
        never = asyncio.Event()
        beats = 0
        while True:
            await self.clock.wait(never, options.heartbeat)
            beats += 1
            try:
                await self._renew(options.lease_ttl)
                await self._take_over_dead_peers(seen=beats % 64 == 0)
            except Exception as exc:  # keep beating: leases are renewed next time
                log.warning("heartbeat failed: %s", exc)

    async def _renew(self, ttl: float) -> None:
        held = {
            (run_id, e.state.epoch)
            for run_id, e in self._executors.items()
            if not e.state.releasing  # its final write may land before this renewal
        }
        if not held:
            return

        async def renew(conn: AsyncConnection) -> dict[str, bool]:
            return await lease_queries.renew(
                conn, worker=self.id, held=held, now=self.clock.time(), ttl=ttl
            )

        outcome = await self.batcher.write(Write("", work=renew), urgent=True)
        live: dict[str, bool] = outcome.value
        for run_id, epoch in held:
            executor = self._executors.get(run_id)
            if executor is None or executor.state.epoch != epoch or executor.state.releasing:
                continue  # gone, or released meanwhile (maybe in the renewal's batch)
            if run_id not in live:
                log.warning("lost the lease on run %s; another worker owns it", run_id)
                executor.abandon()
            elif live[run_id]:
                executor.request_cancel()

    async def _take_over_dead_peers(self, *, seen: bool = False) -> None:
        """Expire the leases of workers on this host whose processes are gone (a read,
        and a write only when there is something to write)."""
        here, now = self._process, self.clock.time()
        ttl = self._services.options.lease_ttl
        peers = await self.db.run_read(lambda conn: worker_queries.on_host(conn, here.host))
        dead = [
            worker_id
            for worker_id, process in peers.items()
            if worker_id != self.id and _process.is_gone(process, here)
        ]
        if seen:
            await self.db.run_write(
                lambda conn: worker_queries.seen(conn, self.id, now, forget_before=now - 100 * ttl)
            )
        if not dead:
            return
        taken = await self.db.run_write(lambda conn: worker_queries.take_over(conn, dead, now))
        if taken:
            log.info("took over %d runs of dead workers on this host", taken)
            self.claim_soon()

    async def _execute(self, claimed: Claimed) -> None:
        run_id = claimed.run_id
        try:
            executor = await self._prepare(claimed)
        except Exception:
            log.exception("could not load run %s", run_id, extra={"run_id": run_id})
            executor = None
        finally:
            self._reserved -= 1
        if executor is None:
            self.suspect_cleared(run_id)
            self._slot_freed()
            return
        self._executors[run_id] = executor
        try:
            await executor.execute()
        except (Exception, BaseExceptionGroup):  # one run's trouble must not stop the worker
            log.exception("run %s stopped on an engine error", run_id, extra={"run_id": run_id})
        finally:
            if self._executors.get(run_id) is executor:
                del self._executors[run_id]
                self._parked.pop(run_id, None)
            self.suspect_cleared(run_id)
            self._slot_freed()

    async def _prepare(self, claimed: Claimed) -> RunExecutor | None:
        """The executor for a claimed run, or None when this worker cannot run it."""
        try:
            definition = self._services.registry.get(claimed.workflow)
        except WorkflowNotRegistered as exc:
            log.error("%s; handing run %s back", exc, claimed.run_id)
            await self._hand_back(claimed, delay=max(5.0, self.poll_interval * 10))
            return None
        if claimed.fresh:
            history = History(claimed.run_id)
        else:
            rows = await self.db.run_read(
                lambda conn: event_queries.replay_rows(conn, claimed.run_id)
            )
            history = History.from_rows(claimed.run_id, rows)
        return RunExecutor(self, claimed, definition, history)

    async def _hand_back(self, claimed: Claimed, *, delay: float) -> None:
        now = self.clock.time()
        write = Write(
            claimed.run_id, claimed.epoch, run_update=lease_queries.release_values(now, now + delay)
        )
        await self.batcher.write(write)


class Worker:
    """Runs workflows for an :class:`Engine`; use ``async with engine.worker():``.

    Attributes:
        id: Names the worker in leases.
        concurrency: Runs executing at once (runs parked in memory do not count).
    """

    def __init__(
        self,
        services: EngineServices,
        *,
        concurrency: int,
        max_parked: int,
        worker_id: str | None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.id = worker_id or f"{_process.current().host}:{os.getpid()}:{os.urandom(3).hex()}"
        self.concurrency = concurrency
        self._runner = Runner(
            services, concurrency=concurrency, max_parked=max_parked, worker_id=self.id
        )

    def __repr__(self) -> str:
        running = len(self._runner.loaded)
        return f"Worker(id={self.id!r}, concurrency={self.concurrency}, running={running})"

    @property
    def loaded(self) -> frozenset[str]:
        """The ids of the runs this worker holds in memory now."""
        return self._runner.loaded

    @property
    def parked(self) -> frozenset[str]:
        """The ids of the loaded runs whose calls all wait (for time, a hook, a child)."""
        return self._runner.parked

    @property
    def paused(self) -> bool:
        """Whether the worker holds back from claiming runs (see :meth:`pause`)."""
        return self._runner.paused

    def pause(self) -> None:
        """Claim no more runs until :meth:`resume`: the runs in hand go on, new and due
        runs wait in the database (or go to other workers). A server gives its
        acknowledgements priority this way during a burst."""
        self._runner.paused = True

    def resume(self) -> None:
        """Claim again, at once."""
        self._runner.paused = False
        self._runner.claim_soon()

    async def __aenter__(self) -> Worker:
        await self._runner.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._runner.stop()
