"""``@workflow`` and ``@step``: validated when the decorator runs, recorded as frozen
definitions in a :class:`Registry`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar, overload

from ._context import current_run_or_none
from ._errors import DefinitionError, WorkflowNotRegistered
from ._retry import RetryPolicy

P = ParamSpec("P")
R = TypeVar("R")
AsyncFn = Callable[P, Awaitable[R]]


def _seconds(value: float | timedelta | None, what: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise DefinitionError(f"{what} must be positive, got {value!r}")
    return seconds


def _check_async(fn: Any, decorator: str) -> None:
    if not inspect.iscoroutinefunction(fn):
        raise DefinitionError(
            f"@{decorator} needs an `async def` function, got {fn!r}; "
            "make it `async def` (blocking work can go through asyncio.to_thread inside a step)"
        )


@dataclass(frozen=True)
class StepDef:
    """A step's name, retry policy and per-attempt timeout (seconds)."""

    name: str
    fn: Callable[..., Awaitable[Any]] = field(repr=False)
    policy: RetryPolicy
    timeout: float | None


@dataclass(frozen=True)
class WorkflowDef:
    """A workflow's registered name, function and run deadline (seconds)."""

    name: str
    fn: Callable[..., Awaitable[Any]] = field(repr=False)
    timeout: float | None

    @property
    def origin(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"


class Registry:
    """Workflows by name, so that a worker can run a run it finds in the database."""

    def __init__(self) -> None:
        self._by_name: dict[str, WorkflowDef] = {}

    def add(self, definition: WorkflowDef) -> None:
        """Register a workflow; a different function under a taken name is an error."""
        existing = self._by_name.get(definition.name)
        if existing is not None and existing.origin != definition.origin:
            raise DefinitionError(
                f"workflow name {definition.name!r} is taken by {existing.origin}; "
                f"give {definition.origin} another name with @workflow('...')"
            )
        self._by_name[definition.name] = definition

    def get(self, name: str) -> WorkflowDef:
        """Return the workflow named ``name``.

        Raises:
            WorkflowNotRegistered: No imported module defines it.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise WorkflowNotRegistered(name) from None

    def names(self) -> list[str]:
        return sorted(self._by_name)


default_registry = Registry()


def definition_of(fn_or_name: Callable[..., Any] | str, registry: Registry) -> WorkflowDef:
    """Resolve a workflow function or name to its definition."""
    if isinstance(fn_or_name, str):
        return registry.get(fn_or_name)
    definition = getattr(fn_or_name, "__workflow__", None)
    if not isinstance(definition, WorkflowDef):
        raise DefinitionError(f"{fn_or_name!r} is not decorated with @workflow")
    registry.add(definition)
    return definition


@overload
def workflow(name: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...
@overload
def workflow(
    name: str | None = None, *, timeout: float | timedelta | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


def workflow(name: Any = None, *, timeout: float | timedelta | None = None) -> Any:
    """Declare an ``async def`` as a durable workflow.

    Args:
        name: The name stored with each run (default: the function's qualified name).
            Renaming strands runs started under the old name.
        timeout: Fail runs still unfinished this long after they were started.

    Raises:
        DefinitionError: The function is not ``async def``, or the name is taken.
    """
    if callable(name):
        return workflow()(name)
    deadline = _seconds(timeout, "workflow timeout")

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        _check_async(fn, "workflow")
        definition = WorkflowDef(name or fn.__qualname__, fn, deadline)
        default_registry.add(definition)
        fn.__workflow__ = definition  # type: ignore[attr-defined]
        return fn

    return decorate


@overload
def step(name: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...
@overload
def step(
    name: str | None = None,
    *,
    max_attempts: int = 3,
    backoff: float = 1.0,
    max_backoff: float = 300.0,
    timeout: float | timedelta | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


def step(
    name: Any = None,
    *,
    max_attempts: int = 3,
    backoff: float = 1.0,
    max_backoff: float = 300.0,
    timeout: float | timedelta | None = None,
) -> Any:
    """Declare an ``async def`` as a checkpointed, retried step.

    Inside a workflow, a call runs at most until it succeeds once for the run (its
    result is stored and replayed); outside a workflow it just runs the function.

    Args:
        name: Recorded in the history and checked on replay (default: qualified name).
        max_attempts: Attempts in all, the first included.
        backoff: Seconds before the second attempt; doubles each time, with jitter.
        max_backoff: Upper bound of the delay between attempts, in seconds.
        timeout: Per-attempt limit; an attempt that exceeds it fails with TimeoutError.

    Raises:
        DefinitionError: The function is not ``async def`` or an option is invalid.
    """
    if callable(name):
        return step()(name)
    policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, max_backoff=max_backoff)
    limit = _seconds(timeout, "step timeout")

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        _check_async(fn, "step")
        definition = StepDef(name or fn.__qualname__, fn, policy, limit)

        @functools.wraps(fn)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            run = current_run_or_none()
            if run is None:
                return await fn(*args, **kwargs)
            result: R = await run.run_step(definition, args, kwargs)
            return result

        call.__step__ = definition  # type: ignore[attr-defined]
        return call

    return decorate
