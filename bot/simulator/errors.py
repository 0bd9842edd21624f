"""Errors of the Slack simulator.

::

    SimulatorError            base of everything the simulator raises
    ├── SlackError            a Slack Web API error code (``channel_not_found``, …); the
    │                         server answers it as ``{"ok": false, "error": …}``
    └── SeedError             a seed file that cannot be read; names the file and entry
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class SimulatorError(Exception):
    """Base class of the simulator's errors."""


class SlackError(SimulatorError):
    """A refusal Slack itself would give, by its error code.

    Raised by the workspace state and the method handlers; the HTTP server turns it
    into an ``ok: false`` answer, and the Python API (``SlackSimulator.post_message``
    and friends) lets it propagate.

    Args:
        error: Slack's error code, e.g. ``"channel_not_found"``.
        messages: Explanations, sent as ``response_metadata.messages`` (Slack prefixes
            them with ``[ERROR]`` and a JSON pointer for Block Kit problems).
        extra: More top-level fields of the answer (e.g. ``errors`` for
            ``invalid_blocks``, as Slack sends them).
    """

    def __init__(
        self,
        error: str,
        messages: Sequence[str] = (),
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        detail = "; ".join(messages)
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error
        self.messages = tuple(messages)
        self.extra = dict(extra or {})

    def to_body(self) -> dict[str, Any]:
        """The JSON answer Slack gives for this error."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body


class SeedError(SimulatorError):
    """A seed file is unreadable or inconsistent; the message names where and why."""
