"""Durable calls that wait: sleeps, hooks and child runs."""

from __future__ import annotations

import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from . import _faults, _history
from ._errors import (
    HookConflict,
    HookTimeout,
    RunCancelled,
    RunNotFound,
)
from ._history import EventType, event_row
from ._run import RunCore, encode_args, new_run_row
from ._serialization import dumps, encode_error, loads
from ._store import Write
from ._store import hooks as hook_queries
from ._store import runs as run_queries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ._definitions import WorkflowDef

log = logging.getLogger(__name__)


class WaitCalls(RunCore):
    """``sleep``, hooks and children of the ``RunContext`` protocol."""

    async def sleep(self, seconds: float) -> None:
        position, recorded = self._next(_history.SLEEP)
        if recorded is not None:
            deadline = recorded.wake_at or 0.0
        else:
            self._check_cancel()
            deadline = self._now() + max(0.0, seconds)
            row = self._event(
                position,
                EventType.SLEEP_SCHEDULED,
                _history.SLEEP,
                wake_at=deadline,
            )
            await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
        if deadline > self._now():
            await self._until(position, deadline)
        self._record_in_background(
            self._event(
                position,
                EventType.SLEEP_FIRED,
                _history.SLEEP,
                suffix=".fired",
            )
        )

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
                self._event(
                    position,
                    EventType.HOOK_CREATED,
                    _history.CREATE_HOOK,
                    at=now,
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
            row = self._event(
                position,
                EventType.HOOK_WAITING,
                _history.WAIT_HOOK,
                suffix=".wait",
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
                self._event(
                    position,
                    EventType.HOOK_CONSUMED,
                    _history.WAIT_HOOK,
                    at=now,
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
        row = self._event(
            position,
            EventType.HOOK_TIMED_OUT,
            _history.WAIT_HOOK,
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
                self._event(
                    position,
                    EventType.CHILD_STARTED,
                    name,
                    at=now,
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
        event = self._event(
            position,
            EventType.CHILD_FINISHED,
            _history.CHILD_RESULT,
            failed=failed,
            data=data,
        )
        await self._commit(Write(self.run_id, self.claimed.epoch, events=[event]), probe=True)
        return _history.Checkpoint(position, event["type"], _history.CHILD_RESULT, data, failed)
