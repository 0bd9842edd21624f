"""Durable calls that run code: steps (with durable retries) and recorded values."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid as _uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import _faults, _history
from ._errors import (
    FatalError,
    SerializationError,
    StepRetriesExhausted,
)
from ._history import EventType
from ._retry import decide
from ._run import RunCore
from ._runtime import bind, unbind
from ._serialization import dumps, encode_error, loads
from ._store import Write

if TYPE_CHECKING:
    from ._definitions import StepDef

log = logging.getLogger(__name__)


class StepCalls(RunCore):
    """``run_step``, ``now`` and ``uuid`` of the ``RunContext`` protocol."""

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
            if self._background:  # now()/uuid() values the step may use: stored first
                await asyncio.wait(list(self._background))
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
        self._busy(1)
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
            self._busy(-1)

    async def _step_succeeded(
        self, definition: StepDef, position: int, attempt: int, started: float, value: Any
    ) -> Any:
        try:
            data = dumps(value, f"result of step {definition.name!r}")
        except SerializationError as exc:
            await self._step_failed(definition, position, attempt, started, exc)  # raises
            raise
        row = self._event(
            position,
            EventType.STEP_COMPLETED,
            definition.name,
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
            row = self._event(
                position,
                EventType.STEP_FAILED,
                definition.name,
                at=now,
                failed=True,
                attempt=attempt,
                started_at=started,
                data=json.dumps(encode_error(final)),
            )
            await self._commit(Write(self.run_id, self.claimed.epoch, events=[row]))
            raise final
        next_at = now + verdict.delay
        row = self._event(
            position,
            EventType.STEP_FAILED,
            definition.name,
            suffix=f".a{attempt}",
            at=now,
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
            self._event(
                position,
                EventType.VALUE_RECORDED,
                name,
                data=data,
            )
        )
        return value
