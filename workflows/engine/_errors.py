"""Errors of the durable engine.

::

    EngineError                     base of every error the engine raises
    ├── FatalError                  raise in a step: fail it at once, never retry
    ├── RetryableError              raise in a step: retry, optionally after ``retry_after``
    ├── StepRetriesExhausted        a step failed on every allowed attempt (``.cause``)
    ├── NonDeterminismError         replay met a different step than the history recorded
    ├── BranchError                 a concurrent branch made more than one durable call
    ├── RunCancelled                the run was cancelled (from ``RunHandle.result()``)
    ├── RunCrashLooped              the run crashed its worker too often; ``retry`` it
    ├── WorkflowTimedOut            the run passed its ``workflow(timeout=)`` deadline
    ├── HookNotFound                no live run waits on that token
    ├── HookConflict                the token is held by another live run (``.holder``)
    ├── HookTimeout                 ``hook.wait(timeout=)`` passed its deadline
    ├── SerializationError          a value cannot be stored as JSON (names where)
    ├── StoredError                 a stored error whose type cannot be imported here
    ├── RunNotFound                 no run has that id
    ├── InvalidRunState             the operation does not apply to the run's status
    ├── WorkflowNotRegistered       no ``@workflow`` of that name is imported
    ├── DefinitionError             a decorator was misused (at import time)
    ├── OutsideWorkflowError        a workflow-only call was made outside a workflow
    └── DatabaseUnavailable         the database kept failing past the retry budget

Internal control-flow signals that unwind a workflow coroutine derive from
``BaseException`` (see :class:`_Signal`), so ``except Exception`` in user code cannot
swallow them.
"""

from __future__ import annotations

from datetime import timedelta


class EngineError(Exception):
    """Base class of every error raised by :mod:`workflows.engine`."""


class FatalError(EngineError):
    """Raise inside a step to fail it immediately, without further attempts."""


class RetryableError(EngineError):
    """Raise inside a step to ask for another attempt.

    Args:
        message: What went wrong.
        retry_after: Wait this long before the next attempt (seconds or ``timedelta``)
            instead of the policy's back-off.
    """

    def __init__(self, message: str = "", retry_after: float | timedelta | None = None) -> None:
        super().__init__(message)
        if isinstance(retry_after, timedelta):
            retry_after = retry_after.total_seconds()
        self.retry_after: float | None = retry_after


class StepRetriesExhausted(EngineError):
    """A step failed on every allowed attempt; ``cause`` is the last error."""

    def __init__(self, step: str, attempts: int, cause: BaseException | None = None) -> None:
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else "unknown error"
        super().__init__(f"step {step!r} failed after {attempts} attempt(s); last error: {detail}")
        self.step = step
        self.attempts = attempts
        self.cause = cause
        self.__cause__ = cause


class NonDeterminismError(EngineError):
    """Replay found a different step at a position than the run's history holds."""

    def __init__(
        self, run_id: str, position: int, recorded: str, called: str, detail: str = ""
    ) -> None:
        now_calls = f"{called!r} {detail}" if detail else repr(called)
        super().__init__(
            f"run {run_id!r} is not deterministic at position {position}: the history recorded "
            f"{recorded!r} but the workflow now calls {now_calls}. Workflow code must make "
            "the same calls with the same arguments in the same order on replay; move "
            "non-deterministic logic (time, randomness, I/O) into steps, or finish old runs "
            "before changing the order of steps."
        )
        self.run_id = run_id
        self.position = position
        self.recorded = recorded
        self.called = called


class BranchError(EngineError):
    """A concurrent branch (``asyncio.gather``) made more than one durable call."""


class RunCancelled(EngineError):
    """The run was cancelled; its next step never started."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} was cancelled; `retry` it to continue")
        self.run_id = run_id


class RunCrashLooped(EngineError):
    """The run's worker died too many times in a row while running it."""

    def __init__(self, run_id: str, recoveries: int) -> None:
        super().__init__(
            f"run {run_id!r} was recovered from {recoveries} dead workers in a row without "
            "progress, so it was stopped; find what kills the worker (see its last step), "
            "then `retry` it"
        )
        self.run_id = run_id
        self.recoveries = recoveries


class WorkflowTimedOut(EngineError):
    """The run passed the deadline set by ``workflow(timeout=)``."""


class HookNotFound(EngineError):
    """No live run holds the hook token."""

    def __init__(self, token: str) -> None:
        super().__init__(
            f"no live run waits on hook token {token!r}: it was never created, or its run "
            "has finished"
        )
        self.token = token


class HookConflict(EngineError):
    """The hook token is already held by another live run."""

    def __init__(self, token: str, holder: str) -> None:
        super().__init__(
            f"hook token {token!r} is already held by live run {holder!r}; tokens are unique "
            "among live runs"
        )
        self.token = token
        self.holder = holder


class HookTimeout(EngineError):
    """``Hook.wait(timeout=)`` reached its deadline without a payload."""


class SerializationError(EngineError, TypeError):
    """A value cannot be stored: only JSON, tz-aware datetimes, bytes, dataclasses and
    pydantic models can."""


class StoredError(EngineError):
    """An error recorded by the engine whose original type cannot be re-created here."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


class RunNotFound(EngineError):
    """No run has the given id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


class InvalidRunState(EngineError):
    """The operation does not apply to the run in its current status."""


class WorkflowNotRegistered(EngineError):
    """No workflow of that name has been imported into the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no workflow named {name!r} is registered; import the module that defines it "
            "(for the CLI worker: --import MODULE)"
        )
        self.name = name


class DefinitionError(EngineError, TypeError):
    """``@workflow`` or ``@step`` was applied wrongly (raised at import time)."""


class OutsideWorkflowError(EngineError, RuntimeError):
    """A call that needs a running workflow was made outside of one."""


class DatabaseUnavailable(EngineError):
    """The database kept failing past the engine's retry budget."""


class _Signal(BaseException):
    """Base of internal signals that unwind a workflow coroutine."""


class _LeaseLost(_Signal):
    """Another worker took the run over; stop without writing anything."""


class _CancelSignal(_Signal):
    """The run was cancelled; unwind and record the cancellation."""
