"""Named fault points for crash tests: no-ops unless a test arms them.

A test process arms a point with :func:`arm` (``"after_step_committed:charge"``,
optionally ``"@N"`` for the N-th hit); reaching it kills the process with SIGKILL,
as a power cut or OOM kill would, so that crash tests can stop a worker at an exact
place and check what survives.
"""

from __future__ import annotations

import os
import signal

_armed: dict[tuple[str, str | None], int] = {}


def arm(spec: str) -> None:
    """Arm ``point[:name][@n]``: kill this process on the n-th hit (default first)."""
    where, _, count = spec.partition("@")
    point, _, name = where.partition(":")
    _armed[(point, name or None)] = int(count or 1)


def disarm() -> None:
    _armed.clear()


def hit(point: str, name: str | None = None) -> None:
    """Kill the process here if this point (for this name) is armed and due."""
    if not _armed:
        return
    for key in ((point, name), (point, None)):
        if key in _armed:
            _armed[key] -= 1
            if _armed[key] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)
