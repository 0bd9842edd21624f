"""Durable calls that run code: steps (with durable retries) and recorded values.

Each attempt of a step is one INFO record on the ``workflows.engine.steps`` logger,
once its outcome is stored: the message reads well, and its fields (``extra``) are
what log shippers and metrics read: ``run_id``, ``workflow``, ``step``, ``attempt``,
``duration_ms`` (the step's own code), ``outcome`` (``completed``, ``retrying`` or
``failed``) and, on failure, ``error`` (the exception's class, never its message).
Nothing is formatted unless a handler will see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid as _uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import _faults, _replay
from ._context import bind, unbind
from ._errors import SerializationError
from ._replay import EventType
from ._retry import after_failure
from ._serialization import decode_error, dumps, encode_error, loads

if TYPE_CHECKING:
    from ._definitions import StepDef
    from ._journal import Journal
    from ._parking import Parking

steps_log = logging.getLogger("workflows.engine.steps")


def replay(checkpoint: _replay.Checkpoint) -> Any:
    """The recorded outcome: its value, or its error raised."""
    if checkpoint.failed:
        raise decode_error(json.loads(checkpoint.data or "{}"))
    return loads(checkpoint.data)


class Steps:
    """``run_step``, ``now`` and ``uuid`` of the ``RunContext`` protocol."""

    def __init__(self, journal: Journal, parking: Parking) -> None:
        self._journal = journal
        self._parking = parking

    async def run(self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        journal = self._journal
        digest = _replay.args_digest(args, kwargs)
        position, recorded = journal.next(definition.name, digest)
        if recorded is not None:
            if recorded.cancelled:
                await self._parking.cancelled_again()
            return replay(recorded)
        try:
            return await self._attempts(definition, position, digest, args, kwargs)
        except asyncio.CancelledError:
            journal.cancelled(position, definition.name)
            raise

    async def _attempts(
        self,
        definition: StepDef,
        position: int,
        digest: str | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        journal = self._journal
        attempt, next_at = journal.history.retry_state(position)
        while True:
            if next_at is not None and next_at > journal.now():
                await self._parking.until(position, next_at)
            await journal.settle()  # now()/uuid() values the step may use: stored first
            journal.check_cancel()
            attempt += 1
            started = journal.now()
            clock = time.perf_counter()
            error, value = await self._attempt(definition, args, kwargs)
            elapsed = time.perf_counter() - clock
            if error is None:
                try:
                    data = dumps(value, f"result of step {definition.name!r}")
                except SerializationError as exc:
                    error = exc
                else:
                    row = journal.event(
                        position,
                        EventType.STEP_COMPLETED,
                        definition.name,
                        attempt=attempt,
                        started_at=started,
                        data=data,
                        args_digest=digest,
                    )
                    await journal.append(row)
                    _faults.hit("after_step_committed", definition.name)
                    if steps_log.isEnabledFor(logging.INFO):
                        _log_attempt(journal, definition.name, attempt, elapsed)
                    return loads(data)
            next_at = await self._failed(
                definition, position, digest, attempt, (started, elapsed), error
            )

    async def _attempt(
        self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[BaseException | None, Any]:
        self._parking.busy(1)
        token = bind(None)  # no durable calls inside a step's body
        try:
            _faults.hit("before_step", definition.name)
            async with asyncio.timeout(definition.timeout):
                value = await definition.fn(*args, **kwargs)
            _faults.hit("after_step", definition.name)
            return None, value
        except Exception as exc:
            return exc, None
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we were cancelled
            return exc, None  # the body raised it of itself: a failed attempt
        finally:
            unbind(token)
            self._parking.busy(-1)

    async def _failed(
        self,
        definition: StepDef,
        position: int,
        digest: str | None,
        attempt: int,
        timing: tuple[float, float],
        error: BaseException,
    ) -> float:
        """Record a failed attempt; raise if it was the last, else return the next time.

        Args:
            timing: When the attempt started (the clock's time) and how long it took.
        """
        journal, now = self._journal, self._journal.now()
        started, elapsed = timing
        verdict = after_failure(definition.policy, definition.name, attempt, error, now)
        if verdict.error is not None:
            row = journal.event(
                position,
                EventType.STEP_FAILED,
                definition.name,
                at=now,
                failed=True,
                attempt=attempt,
                started_at=started,
                data=json.dumps(encode_error(verdict.error)),
                args_digest=digest,
            )
            await journal.append(row)
            if steps_log.isEnabledFor(logging.INFO):
                _log_attempt(journal, definition.name, attempt, elapsed, error=error)
            raise verdict.error
        assert verdict.next_at is not None
        row = journal.event(
            position,
            EventType.STEP_FAILED,
            definition.name,
            suffix=f".a{attempt}",
            at=now,
            attempt=attempt,
            started_at=started,
            wake_at=verdict.next_at,
            data=json.dumps(encode_error(error)),
        )
        await journal.append(row)
        _faults.hit("after_attempt_failed", definition.name)
        if steps_log.isEnabledFor(logging.INFO):
            delay = verdict.next_at - now
            _log_attempt(journal, definition.name, attempt, elapsed, error=error, retry_in=delay)
        return verdict.next_at

    def now(self) -> datetime:
        recorded = self._value(
            _replay.NOW, lambda: datetime.fromtimestamp(self._journal.now(), UTC)
        )
        assert isinstance(recorded, datetime)
        return recorded

    def uuid(self) -> _uuid.UUID:
        return _uuid.UUID(self._value(_replay.UUID, lambda: str(_uuid.uuid4())))

    def _value(self, name: str, make: Callable[[], Any]) -> Any:
        position, recorded = self._journal.next(name)
        if recorded is not None:
            return loads(recorded.data)
        value = make()
        row = self._journal.event(position, EventType.VALUE_RECORDED, name, data=dumps(value, name))
        self._journal.record_in_background(row)
        return value


def _log_attempt(
    journal: Journal,
    step: str,
    attempt: int,
    elapsed: float,
    *,
    error: BaseException | None = None,
    retry_in: float | None = None,
) -> None:
    """The one line of a step's attempt (see the module's docstring)."""
    ms = round(elapsed * 1000, 2)
    fields: dict[str, Any] = {
        "run_id": journal.run_id,
        "workflow": journal.workflow,
        "step": step,
        "attempt": attempt,
        "duration_ms": ms,
    }
    if error is None:
        fields["outcome"] = "completed"
        _emit(_COMPLETED, (journal.run_id, step, attempt, ms), fields)
        return
    fields["error"] = kind = type(error).__name__
    if retry_in is None:
        fields["outcome"] = "failed"
        _emit(_FAILED, (journal.run_id, step, attempt, ms, kind), fields)
    else:
        fields["outcome"] = "retrying"
        _emit(_RETRYING, (journal.run_id, step, attempt, ms, kind, retry_in), fields)


_COMPLETED = "run %s: step %s attempt %d completed in %.1f ms"
_FAILED = "run %s: step %s attempt %d failed in %.1f ms (%s); no attempt left"
_RETRYING = "run %s: step %s attempt %d failed in %.1f ms (%s); next attempt in %.2f s"


def _emit(message: str, args: tuple[Any, ...], fields: dict[str, Any]) -> None:
    """``steps_log.info(message, *args, extra=fields)`` without looking up the caller's
    frame, a third of a record's cost on the hot path; the record names this module."""
    record = steps_log.makeRecord(
        steps_log.name, logging.INFO, __file__, 0, message, args, None, extra=fields
    )
    steps_log.handle(record)
