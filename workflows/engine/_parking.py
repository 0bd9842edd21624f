"""Parking: durable calls that wait stay in memory for a while, then the run unloads.

A call parks until its probe finds something (a payload, a child's result) or its
deadline passes. While every call in flight is parked, the run is idle; after the
idle window the worker unloads it (unless a deadline is nearer than that window).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._journal import Journal
    from ._run_state import ExecutorHost, RunState


class Parking:
    """Counts a run's work in flight and parks its waiting calls."""

    def __init__(self, state: RunState, host: ExecutorHost) -> None:
        self._state = state
        self._host = host
        self._journal: Journal | None = None
        self._wakeup = asyncio.Event()
        self._idle_timer: asyncio.TimerHandle | None = None

    def attach(self, journal: Journal) -> None:
        self._journal = journal

    def wake(self) -> None:
        """Something a parked call may wait for happened: probes look again."""
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()

    def busy(self, delta: int) -> None:
        """Count work in flight; when the last piece ends, the run may now be idle."""
        state = self._state
        state.inflight += delta
        if delta < 0 and state.inflight == 0 and state.parked:
            self._changed()

    def close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def wait_for(
        self,
        position: int,
        deadline: float | None,
        probe: Callable[[], Awaitable[tuple[Any] | None]],
        *,
        poll: bool,
    ) -> tuple[Any] | None:
        """Stay parked until ``probe`` finds something (its result) or ``deadline`` (None).

        The first probe runs before the call counts as parked. Later probes run on
        every wake-up and, with ``poll``, every poll interval; they do not count as
        activity, so a polling run still unloads after the idle window. A probe cut
        short by the unload may still commit what it took (checkpointed with it): the
        unload then sees that checkpoint and makes the run due at once.
        """
        state, clock = self._state, self._host.clock
        assert self._journal is not None
        self._journal.check_cancel()
        event = self._wakeup
        if poll:  # from its first look on, what a probe takes must not be stranded
            state.probing.add(position)
        self.busy(1)  # not parked yet: an unload now would not know this call's deadline
        try:
            found = await probe()
        except BaseException:
            state.probing.discard(position)
            raise
        finally:
            self.busy(-1)
        if found is not None:
            state.probing.discard(position)
            return found
        state.parked[position] = deadline
        self._changed()
        try:
            while True:
                remaining = math.inf if deadline is None else deadline - clock.time()
                if remaining <= 0:
                    return None
                timeout = min(remaining, self._host.poll_interval) if poll else remaining
                await clock.wait(event, None if timeout == math.inf else timeout)
                self._journal.check_cancel()
                event = self._wakeup
                found = await probe()
                if found is not None:
                    return found
        finally:
            del state.parked[position]
            state.probing.discard(position)
            self._changed()

    async def until(self, position: int, deadline: float) -> None:
        """Park until ``deadline``."""

        async def never() -> None:
            return None

        await self.wait_for(position, deadline, never, poll=False)

    async def cancelled_again(self) -> None:
        """Replay of a call the workflow cancelled: wait until the workflow cancels it
        again. The run stays busy meanwhile: what cancels it may be a plain asyncio
        timer (``asyncio.wait_for``), which an unload would lose."""
        self.busy(1)
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            self.busy(-1)

    def _changed(self) -> None:
        state = self._state
        parked = state.is_parked
        self._host.parked_changed(state.run_id, parked)
        if not parked:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            return
        if state.suspect and self._journal is not None:
            self._journal.clear_suspicion(write=True)  # it reached a wait: not the killer
        if self._idle_timer is not None:
            return
        deadlines = [d for d in state.parked.values() if d is not None]
        if deadlines and min(deadlines) - self._host.clock.time() <= self._host.idle_window:
            return  # wakes soon: stay in memory
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(self._host.idle_window, self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle_timer = None
        self._host.unload_when_idle(self._state.run_id)
