"""Durable calls for workflow code: a few lines each, delegating to the current run."""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._context import current_run, current_run_or_none
from ._definitions import WorkflowDef
from ._errors import DefinitionError

if TYPE_CHECKING:
    from ._handle import RunHandle


def _seconds(duration: float | timedelta) -> float:
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


async def sleep(duration: float | timedelta) -> None:
    """Sleep durably: the wake-up time is stored, so a restart does not reset it.

    Long sleeps unload the run; it holds no task or connection until it wakes.
    Outside a workflow this is ``asyncio.sleep``.
    """
    run = current_run_or_none()
    if run is None:
        import asyncio

        await asyncio.sleep(_seconds(duration))
        return
    await run.sleep(_seconds(duration))


def now() -> datetime:
    """The current UTC time, recorded on first call so that replay sees the same value."""
    run = current_run_or_none()
    return datetime.now(UTC) if run is None else run.now()


def uuid() -> _uuid.UUID:
    """A random UUID, recorded on first call so that replay sees the same value."""
    run = current_run_or_none()
    return _uuid.uuid4() if run is None else run.uuid()


class Hook:
    """A token through which the outside world delivers payloads to a waiting run.

    Deliver with ``engine.resume_hook(hook.token, payload)``; payloads that arrive
    before :meth:`wait` are buffered and handed out in delivery order.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"Hook(token={self.token!r})"

    async def wait(self, timeout: float | timedelta | None = None) -> Any:
        """Wait for the next payload; the run is unloaded while it waits.

        Args:
            timeout: Give up after this long; the deadline is absolute and survives
                restarts.

        Returns:
            The delivered payload.

        Raises:
            HookTimeout: The deadline passed first.
        """
        seconds = None if timeout is None else _seconds(timeout)
        return await current_run("Hook.wait()").wait_hook(self.token, seconds)


async def create_hook(token: str | None = None) -> Hook:
    """Register a hook for the current run.

    Args:
        token: A natural key (e.g. ``f"approve:{entry_id}"``); by default an
            unguessable random token.

    Raises:
        HookConflict: Another live run holds ``token``.
    """
    return Hook(await current_run("create_hook()").create_hook(token))


async def start_child(
    workflow_fn: Callable[..., Awaitable[Any]], *args: Any, run_id: str | None = None, **kwargs: Any
) -> RunHandle:
    """Start a child run of the current run; exactly one child per position, even if
    the parent crashes right after starting it.

    Args:
        workflow_fn: A ``@workflow`` function.
        run_id: The child's id (default: derived from the parent's id and position).

    Returns:
        A handle; ``await handle.result()`` in the parent waits durably.
    """
    from ._handle import RunHandle

    definition = getattr(workflow_fn, "__workflow__", None)
    if not isinstance(definition, WorkflowDef):
        raise DefinitionError(f"start_child needs a @workflow function, got {workflow_fn!r}")
    run = current_run("start_child()")
    child_id = await run.start_child(definition, args, kwargs, run_id)
    return RunHandle(child_id, run=run)
