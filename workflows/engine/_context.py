"""The seam between the workflow API and the executor.

The API functions (``sleep``, ``now``, ``create_hook``...) find the run they belong to
in a ``ContextVar`` and delegate to it through the narrow :class:`RunContext`
protocol; they never import the executor. The variable holds ``None`` inside a step's
body, so that durable calls cannot nest in steps.
"""

from __future__ import annotations

import uuid as _uuid
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import OutsideWorkflowError

if TYPE_CHECKING:
    from ._definitions import StepDef, WorkflowDef


class RunContext(Protocol):
    """What workflow code can ask of the run executing it."""

    @property
    def run_id(self) -> str: ...

    async def run_step(
        self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any: ...

    async def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...

    def uuid(self) -> _uuid.UUID: ...

    async def create_hook(self, token: str | None) -> str: ...

    async def wait_hook(self, token: str, timeout: float | None) -> Any: ...

    async def start_child(
        self,
        definition: WorkflowDef,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        run_id: str | None,
    ) -> str: ...

    async def child_result(self, run_id: str) -> Any: ...

    @property
    def results(self) -> Any:
        """Where a ``RunHandle`` inside the workflow reads results with a timeout."""
        ...


_current: ContextVar[RunContext | None] = ContextVar("workflows_engine_current_run", default=None)


def current_run_or_none() -> RunContext | None:
    """The run whose workflow code is executing, or ``None`` (outside, or inside a step)."""
    return _current.get()


def current_run(call: str) -> RunContext:
    """The current run, or an error explaining that ``call`` needs one."""
    run = _current.get()
    if run is None:
        raise OutsideWorkflowError(
            f"{call} can only be called from workflow code (not outside a workflow, nor "
            "inside a step's body)"
        )
    return run


def bind(run: RunContext | None) -> Any:
    """Make ``run`` current for the calling task; returns a token for :func:`unbind`."""
    return _current.set(run)


def unbind(token: Any) -> None:
    _current.reset(token)
