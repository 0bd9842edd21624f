"""Durable calls that wait: sleeps, hooks and child runs."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import _faults, _replay
from ._errors import HookConflict, HookTimeout, RunCancelled, RunNotFound
from ._replay import EventType
from ._serialization import dumps, encode_error, loads
from ._steps import replay
from ._store import hooks as hook_queries
from ._store import runs as run_queries
from ._store.runs import encode_args, new_run_row

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ._definitions import WorkflowDef
    from ._journal import Journal
    from ._parking import Parking
    from ._run_state import ExecutorHost, RunState

log = logging.getLogger(__name__)


class Waits:
    """``sleep``, hooks and children of the ``RunContext`` protocol."""

    def __init__(
        self, state: RunState, journal: Journal, parking: Parking, host: ExecutorHost
    ) -> None:
        self._state = state
        self._journal = journal
        self._parking = parking
        self._host = host

    async def _call(
        self,
        name: str,
        digest: str | None,
        live: Callable[[int, _replay.Checkpoint | None], Awaitable[Any]],
        *,
        gives_back: bool = False,
    ) -> Any:
        """Replay the call at the next position, or run it live; a live call that the
        workflow cancels is recorded as cancelled."""
        position, recorded = self._journal.next(name, digest)
        if recorded is not None and recorded.cancelled:
            await self._parking.cancelled_again()
        try:
            return await live(position, recorded)
        except asyncio.CancelledError:
            # a sleep's checkpoint is written when it starts: it may still be cancelled
            if recorded is None or recorded.type == EventType.SLEEP_SCHEDULED:
                self._journal.cancelled(position, name, gives_back=gives_back)
            raise

    async def sleep(self, seconds: float) -> None:
        async def live(position: int, recorded: _replay.Checkpoint | None) -> None:
            journal = self._journal
            if recorded is not None:
                deadline = recorded.wake_at or 0.0
            else:
                journal.check_cancel()
                deadline = journal.now() + max(0.0, seconds)
                row = journal.event(
                    position,
                    EventType.SLEEP_SCHEDULED,
                    _replay.SLEEP,
                    wake_at=deadline,
                )
                await journal.append(row)
            if deadline > journal.now():
                await self._parking.until(position, deadline)
            journal.record_in_background(
                journal.event(position, EventType.SLEEP_FIRED, _replay.SLEEP, suffix=".fired")
            )

        # not digested: the deadline is stored, and a duration computed from the clock
        # (``sleep(until - time.time())``) differs on every replay
        await self._call(_replay.SLEEP, None, live)

    async def create_hook(self, token: str | None) -> str:
        async def live(position: int, recorded: _replay.Checkpoint | None) -> str:
            if recorded is not None:
                self._state.has_hooks = True
                return str(replay(recorded))
            journal = self._journal
            journal.check_cancel()
            chosen = token if token is not None else secrets.token_urlsafe(24)
            now = journal.now()

            async def register(conn: AsyncConnection) -> str | None:
                holder = await hook_queries.register(conn, chosen, journal.run_id, position, now)
                failed = holder is not None
                data = (
                    json.dumps(encode_error(HookConflict(chosen, holder)))
                    if holder
                    else dumps(chosen, "hook token")
                )
                row = journal.event(
                    position,
                    EventType.HOOK_CREATED,
                    _replay.CREATE_HOOK,
                    at=now,
                    failed=failed,
                    data=data,
                    args_digest=digest,
                )
                await run_queries.append_event(conn, row)
                return holder

            outcome = await journal.commit(journal.write(work=register))
            if outcome.value is not None:
                raise HookConflict(chosen, outcome.value)
            self._state.has_hooks = True
            return chosen

        digest = _replay.args_digest(token)
        result: str = await self._call(_replay.CREATE_HOOK, digest, live)
        return result

    async def wait_hook(self, token: str, timeout: float | None) -> Any:
        async def live(position: int, recorded: _replay.Checkpoint | None) -> Any:
            if recorded is not None:
                return replay(recorded)
            journal = self._journal
            deadline = journal.history.deadline(position)
            if deadline is None and timeout is not None:
                deadline = journal.now() + timeout
                await self._start_wait(token, position, deadline)
            state = self._state
            state.tokens.add(token)
            try:
                taken = await self._parking.wait_for(
                    position,
                    deadline,
                    lambda: self._take_payload(token, position, deadline),
                    poll=True,
                )
            finally:
                state.tokens.discard(token)
            if taken is None:
                return await self._hook_timed_out(token, position)
            return loads(taken[0])

        digest = _replay.args_digest(token)
        return await self._call(_replay.WAIT_HOOK, digest, live, gives_back=True)

    async def _start_wait(self, token: str, position: int, deadline: float) -> None:
        journal = self._journal
        row = journal.event(
            position, EventType.HOOK_WAITING, _replay.WAIT_HOOK, suffix=".wait", wake_at=deadline
        )

        async def start(conn: AsyncConnection) -> None:
            await hook_queries.start_wait(conn, token, journal.run_id, position, deadline)

        await journal.commit(journal.write(events=[row], work=start))

    async def _take_payload(
        self, token: str, position: int, deadline: float | None
    ) -> tuple[str] | None:
        journal = self._journal
        now = journal.now()

        async def take(conn: AsyncConnection) -> tuple[str | None] | None:
            got = await hook_queries.take_payload(
                conn, token, journal.run_id, position, now, deadline
            )
            if got is None:
                return None
            row = journal.event(
                position,
                EventType.HOOK_CONSUMED,
                _replay.WAIT_HOOK,
                at=now,
                attempt=got[0],
                data=got[1],
                args_digest=_replay.args_digest(token),
            )
            await run_queries.append_event(conn, row)
            return (got[1],)

        outcome = await journal.commit(journal.write(work=take), probe=True)
        if outcome.value is not None:
            _faults.hit("after_hook_consumed")
        return outcome.value  # type: ignore[no-any-return]

    async def _hook_timed_out(self, token: str, position: int) -> Any:
        journal = self._journal
        error = HookTimeout(f"no payload reached hook {token!r} before its deadline")
        row = journal.event(
            position,
            EventType.HOOK_TIMED_OUT,
            _replay.WAIT_HOOK,
            failed=True,
            data=json.dumps(encode_error(error)),
            args_digest=_replay.args_digest(token),
        )

        async def end(conn: AsyncConnection) -> None:
            await hook_queries.end_wait(conn, journal.run_id, position)

        await journal.commit(journal.write(events=[row], work=end))
        raise error

    async def start_child(
        self,
        definition: WorkflowDef,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        run_id: str | None,
    ) -> str:
        name = _replay.start_child_name(definition.name)

        async def live(position: int, recorded: _replay.Checkpoint | None) -> str:
            if recorded is not None:
                return str(loads(recorded.data))
            journal = self._journal
            journal.check_cancel()
            parent = journal.run_id
            child_id = run_id or f"{parent}:{position}"
            now = journal.now()
            row = new_run_row(
                child_id, definition, encode_args(definition, args, kwargs), now, parent=parent
            )
            started = journal.event(
                position,
                EventType.CHILD_STARTED,
                name,
                at=now,
                data=dumps(child_id, "child run id"),
                args_digest=digest,
            )

            async def create(conn: AsyncConnection) -> None:
                await run_queries.create_child(conn, row, now)
                await run_queries.append_event(conn, started)

            await journal.commit(journal.write(work=create, wake=(child_id,)))
            _faults.hit("after_child_started")
            self._host.claim_soon()
            return child_id

        digest = _replay.args_digest(definition.name, args, kwargs, run_id)
        result: str = await self._call(name, digest, live)
        return result

    async def child_result(self, run_id: str) -> Any:
        async def live(position: int, recorded: _replay.Checkpoint | None) -> Any:
            if recorded is not None:
                return replay(recorded)
            state = self._state
            state.children.add(run_id)

            async def probe() -> tuple[Any] | None:
                row = await self._host.db.run_read(lambda conn: run_queries.fetch(conn, run_id))
                if row is None:
                    raise RunNotFound(run_id)
                if row.status not in run_queries.TERMINAL:
                    return None
                return (await self._child_finished(position, row),)

            try:
                found = await self._parking.wait_for(position, None, probe, poll=True)
            finally:
                state.children.discard(run_id)
            assert found is not None  # no deadline: only a finished child ends the wait
            return replay(found[0])

        return await self._call(_replay.CHILD_RESULT, _replay.args_digest(run_id), live)

    async def _child_finished(self, position: int, row: Any) -> _replay.Checkpoint:
        failed = row.status != "completed"
        if row.status == "cancelled":
            data = json.dumps(encode_error(RunCancelled(row.run_id)))
        else:
            data = row.error if failed else row.result
        journal = self._journal
        event = journal.event(
            position, EventType.CHILD_FINISHED, _replay.CHILD_RESULT, failed=failed, data=data
        )
        await journal.append(event, probe=True)
        return _replay.Checkpoint(position, event["type"], _replay.CHILD_RESULT, data, failed)
