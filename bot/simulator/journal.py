"""The simulator's journal of calls and its faults on demand (pure bookkeeping, no I/O)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One Web API call the simulator answered (or one use of a ``response_url``).

    Attributes:
        method: The Web API method, e.g. ``"chat.postMessage"``; ``"response_url"`` for a
            POST to a URL minted by ``SlackSimulator.response_url``.
        args: The arguments from query string and body, with JSON-encoded ``blocks``,
            ``view``, ``metadata`` and ``attachments`` decoded; never the token.
        ok: The answer's ``ok``.
        error: The answer's ``error`` (``None`` when ok).
        status: The HTTP status answered (200 for Slack's ``ok: false`` refusals; 0 when
            no answer was sent: the client left, or the simulator stopped, during a delay).
        at: ``time.monotonic()`` when the request was read.
        team_id: The workspace the token (or the ``response_url``) belongs to; ``None``
            when none was recognised.
    """

    method: str
    args: dict[str, Any] = field(hash=False)
    ok: bool
    error: str | None
    status: int
    at: float
    team_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The call as a JSON object (for ``GET /_sim/journal``)."""
        return {
            "method": self.method,
            "args": self.args,
            "ok": self.ok,
            "error": self.error,
            "status": self.status,
            "at": self.at,
            "team_id": self.team_id,
        }


@dataclass(frozen=True)
class Fault:
    """A planned failure of one call.

    Attributes:
        status: HTTP status to answer (200 for an ``ok: false`` refusal).
        error: The ``error`` of the JSON body.
        retry_after: Seconds for the ``Retry-After`` header (always set on 429).
    """

    status: int
    error: str
    retry_after: int | None = None

    @classmethod
    def plan(cls, *, status: int | None, error: str | None, retry_after: int | None) -> Fault:
        """Fill in what the caller left out, as Slack would.

        429 (also implied by ``retry_after`` alone) means ``ratelimited`` with a
        ``Retry-After`` of 1 s unless given; 5xx means ``internal_error`` (503:
        ``service_unavailable``); an ``error`` alone is an HTTP 200 ``ok: false``.

        Raises:
            ValueError: Neither a status, an error nor a retry-after was given, or a
                status outside 200 and 400-599.
        """
        if status is None and error is None and retry_after is None:
            raise ValueError("fail() needs status=, error= or retry_after= to know what to fail")
        if status is None:
            status = 200 if retry_after is None else 429
        if status != 200 and not 400 <= status <= 599:
            raise ValueError(f"fail(status={status}): use 200 with error=, or 400-599")
        if status == 429 and retry_after is None:
            retry_after = 1
        if error is None:
            defaults = {429: "ratelimited", 503: "service_unavailable"}
            error = defaults.get(status, "internal_error" if status >= 500 else "invalid_request")
        return cls(status, error, retry_after)

    def body(self) -> dict[str, Any]:
        """The JSON body of the failed answer."""
        return {"ok": False, "error": self.error}

    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After``)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class FaultPlan:
    """Faults and delays queued per method, each used by one call, first in first out."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[Fault]] = {}
        self._delays: dict[str, deque[float]] = {}

    def add_fault(self, method: str, fault: Fault, times: int) -> None:
        """Fail the next ``times`` calls of ``method`` with ``fault``."""
        _check_times(times)
        self._faults.setdefault(method, deque()).extend([fault] * times)

    def add_delay(self, method: str, seconds: float, times: int) -> None:
        """Hold the answers to the next ``times`` calls of ``method`` for ``seconds``."""
        _check_times(times)
        if seconds < 0:
            raise ValueError(f"delay({method!r}, {seconds}): seconds must be >= 0")
        self._delays.setdefault(method, deque()).extend([seconds] * times)

    def take_fault(self, method: str) -> Fault | None:
        """The fault planned for this call of ``method``, if any (used up)."""
        queue = self._faults.get(method)
        return queue.popleft() if queue else None

    def take_delay(self, method: str) -> float:
        """The delay planned for this call of ``method`` (0 when none; used up)."""
        queue = self._delays.get(method)
        return queue.popleft() if queue else 0.0

    def pending(self) -> dict[str, int]:
        """How many faults and delays are still planned, per method."""
        counts = {method: len(queue) for method, queue in self._faults.items() if queue}
        for method, queue in self._delays.items():
            if queue:
                counts[method] = counts.get(method, 0) + len(queue)
        return counts

    def clear(self) -> None:
        """Forget every planned fault and delay."""
        self._faults.clear()
        self._delays.clear()


def _check_times(times: int) -> None:
    if times < 1:
        raise ValueError(f"times={times}: must be at least 1")
