"""``RunHandle``: a reference to one run, to await its result or read its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._context import current_run_or_none

if TYPE_CHECKING:
    from ._context import RunContext
    from ._records import RunStatus


class ResultSource(Protocol):
    """The part of the engine a handle needs."""

    async def _wait_result(self, run_id: str, timeout: float | None) -> Any: ...

    async def _run_status(self, run_id: str) -> RunStatus: ...


class RunHandle:
    """A handle on a run, returned by ``Engine.start`` and ``start_child``."""

    def __init__(
        self, run_id: str, *, engine: ResultSource | None = None, run: RunContext | None = None
    ) -> None:
        self.run_id = run_id
        self._engine = engine
        self._parent = run

    def __repr__(self) -> str:
        return f"RunHandle(run_id={self.run_id!r})"

    def _source(self) -> ResultSource:
        if self._engine is not None:
            return self._engine
        assert self._parent is not None
        source: ResultSource = self._parent.results
        return source

    async def result(self, timeout: float | None = None) -> Any:
        """Wait for the run to finish and return its result.

        Inside a workflow, the wait is durable: the parent is unloaded meanwhile.

        Args:
            timeout: Give up after this many seconds (``TimeoutError``); not durable.

        Raises:
            RunCancelled: The run was cancelled.
            Exception: The workflow's own error, re-created from the stored record
                (``StoredError`` if its type cannot be imported here).
        """
        run = current_run_or_none()
        if run is not None and timeout is None:
            return await run.child_result(self.run_id)
        return await self._source()._wait_result(self.run_id, timeout)

    async def status(self) -> RunStatus:
        """The run's current status."""
        return await self._source()._run_status(self.run_id)
