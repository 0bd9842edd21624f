"""An in-process worker: claims due runs, executes them, renews their leases.

Every worker sweeps continuously: the claim query takes runs whose timers are due and
runs whose owners' leases expired (dead workers), so recovery needs no restart and no
control plane. Parked runs (waiting in memory for a short while) do not count
against ``concurrency``; past ``max_parked`` the oldest are unloaded at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ._errors import WorkflowNotRegistered
from ._executor import Outcome, RunExecutor
from ._history import History
from ._run import RunCore
from ._store import Write
from ._store import history as history_queries
from ._store import leases as lease_queries
from ._store.leases import Claimed

if TYPE_CHECKING:
    from ._engine import Engine

log = logging.getLogger(__name__)


class Worker:
    """Runs workflows for an :class:`Engine`; use ``async with engine.worker():``."""

    def __init__(
        self, engine: Engine, *, concurrency: int, max_parked: int, worker_id: str | None
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.engine = engine
        self.db = engine._db
        self.batcher = engine._batcher
        self.clock = engine._clock
        self.idle_window = engine.options.idle_window
        self.poll_interval = engine.options.poll_interval
        self.concurrency = concurrency
        self.max_parked = max_parked
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._executors: dict[str, RunExecutor] = {}
        self._parked: dict[str, RunCore] = {}
        self._kick = asyncio.Event()
        self._saturated = False  # the last claim filled every free slot: more may be due
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reserved = 0  # slots held for runs being started or loaded here

    def __repr__(self) -> str:
        running = len(self._executors)
        return f"Worker(id={self.id!r}, concurrency={self.concurrency}, running={running})"

    @property
    def free(self) -> int:
        """Slots for more runs: running runs that are not parked count."""
        busy = len(self._executors) - len(self._parked) + self._reserved
        return self.concurrency - busy

    async def __aenter__(self) -> Worker:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._spawn(self._claim_loop(), f"claim:{self.id}")
        self._spawn(self._heartbeat_loop(), f"heartbeat:{self.id}")
        self.engine._attach(self)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.engine._detach(self)
        assert self._group is not None
        for task in list(self._tasks):
            task.cancel()
        await self._group.__aexit__(None, None, None)
        self._group = None

    # -- called by the engine and executors ------------------------------------------

    def kick(self) -> None:
        """Look for due runs now (a run was started, woken, or a slot freed)."""
        self._kick.set()

    def _slot_freed(self) -> None:
        if self._saturated:
            self.kick()

    def poke(self, run_id: str) -> bool:
        """Tell a loaded run to look again at what it waits for."""
        executor = self._executors.get(run_id)
        if executor is None:
            return False
        executor.poke()
        return True

    def cancel(self, run_id: str) -> None:
        executor = self._executors.get(run_id)
        if executor is not None:
            executor.request_cancel()

    def reserve(self) -> bool:
        """Hold a slot for a run about to be started here (see :meth:`adopt`)."""
        if self.free <= 0:
            return False
        self._reserved += 1
        return True

    def release_reservation(self) -> None:
        self._reserved -= 1

    def adopt(self, claimed: Claimed, *, reserved: bool = False) -> None:
        """Run a run this worker already owns (claimed, or started here with its lease)."""
        run_id = claimed.run_id
        self.engine._local.add(run_id)
        task = self._spawn(self._execute(claimed, reserved=reserved), f"run:{run_id}")
        task.add_done_callback(lambda _task: self.engine._local.discard(run_id))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        assert self._group is not None, "the worker is not running"
        task = self._group.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def parked_changed(self, executor: RunCore, parked: bool) -> None:
        run_id = executor.run_id
        if not parked:
            self._parked.pop(run_id, None)
            return
        if run_id not in self._parked:
            self._parked[run_id] = executor
            self._slot_freed()
        while len(self._parked) > self.max_parked:
            oldest = next(iter(self._parked))
            self._parked.pop(oldest).unload()

    def finished(self, run_id: str, outcome: Outcome) -> None:
        self.engine._finished(run_id, outcome)

    # -- loops ------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            try:
                await self._claim_once()
            except Exception:  # keep sweeping: a bad moment must not stop the worker
                log.exception("claiming runs failed; trying again")
                await asyncio.sleep(self.poll_interval)

    async def _claim_once(self) -> None:
        """Claim what is due into free slots, then wait for a kick or the next due time."""
        self._kick.clear()
        free = self.free
        claimed: list[Claimed] = []
        if free > 0:
            now = self.clock.time()  # one value for every attempt: retries find their claim
            attempts = 0

            async def claim(conn: AsyncConnection) -> list[Claimed]:
                nonlocal attempts
                attempts += 1
                return await lease_queries.claim(
                    conn,
                    worker=self.id,
                    limit=free,
                    now=now,
                    ttl=self.engine.options.lease_ttl,
                    max_recoveries=self.engine.options.max_recoveries,
                    repeat=attempts > 1,
                    known=set(self.engine._local),
                )

            claimed = await self.db.run_write(claim, budget=None)
            for item in claimed:
                self.adopt(item)
        self._saturated = len(claimed) >= free
        if claimed and len(claimed) == free:
            await asyncio.sleep(0)  # more may be due: claim again at once
            return
        timeout = self.poll_interval
        if free > 0:
            due = await self.db.run_read(lease_queries.next_wake, budget=None)
            if due is not None:
                timeout = max(0.0, min(timeout, due - self.clock.time()))
        await self.clock.wait(self._kick, timeout)

    async def _heartbeat_loop(self) -> None:
        ttl = self.engine.options.lease_ttl
        never = asyncio.Event()
        while True:
            await self.clock.wait(never, ttl / 3)
            held = {
                (run_id, e.claimed.epoch)
                for run_id, e in self._executors.items()
                if not e.releasing  # its final write may land before this renewal
            }
            if not held:
                continue

            async def renew(
                conn: AsyncConnection, held: set[tuple[str, int]] = held
            ) -> dict[str, bool]:
                return await lease_queries.renew(
                    conn, worker=self.id, held=held, now=self.clock.time(), ttl=ttl
                )

            try:
                outcome = await self.batcher.write(Write("", work=renew), urgent=True)
            except Exception as exc:  # keep beating: leases are renewed next time
                log.warning("could not renew leases: %s", exc)
                continue
            live: dict[str, bool] = outcome.value
            for run_id, _epoch in held:
                executor = self._executors.get(run_id)
                if executor is None or executor.claimed.epoch != _epoch or executor.releasing:
                    continue  # gone, or released meanwhile (maybe in the renewal's batch)
                if run_id not in live:
                    log.warning("lost the lease on run %s; another worker owns it", run_id)
                    executor.lose()
                elif live[run_id]:
                    executor.request_cancel()

    async def _execute(self, claimed: Claimed, *, reserved: bool = False) -> None:
        run_id = claimed.run_id
        if not reserved:
            self._reserved += 1
        try:
            executor = await self._prepare(claimed)
        except Exception:
            log.exception("could not load run %s", run_id, extra={"run_id": run_id})
            executor = None
        finally:
            self._reserved -= 1
        if executor is None:
            self._slot_freed()
            return
        self._executors[run_id] = executor
        try:
            await executor.execute()
        except Exception:  # one run's trouble must not take the worker down
            log.exception("run %s stopped on an engine error", run_id, extra={"run_id": run_id})
        finally:
            self._executors.pop(run_id, None)
            self._parked.pop(run_id, None)
            self._slot_freed()

    async def _prepare(self, claimed: Claimed) -> RunExecutor | None:
        """The executor for a claimed run, or None when this worker cannot run it."""
        try:
            definition = self.engine.registry.get(claimed.workflow)
        except WorkflowNotRegistered as exc:
            log.error("%s; handing run %s back", exc, claimed.run_id)
            await self._hand_back(claimed, delay=max(5.0, self.poll_interval * 10))
            return None
        fresh = claimed.fresh
        history = History(claimed.run_id) if fresh else await self._load_history(claimed.run_id)
        return RunExecutor(self, claimed, definition, history)

    async def _load_history(self, run_id: str) -> History:
        async def load(conn: AsyncConnection) -> History:
            return History.from_rows(run_id, await history_queries.replay_rows(conn, run_id))

        return await self.db.run_read(load)

    async def _hand_back(self, claimed: Claimed, *, delay: float) -> None:
        now = self.clock.time()
        write = Write(
            claimed.run_id, claimed.epoch, run_update=lease_queries.release_values(now, now + delay)
        )
        await self.batcher.write(write)
