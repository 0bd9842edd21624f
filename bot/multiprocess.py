"""prometheus_client's multiprocess mode for ``feedback-bot serve`` and its worker child.

``serve`` runs the workflows in a child process; what the child counts (steps, Slack
calls) must reach the server's ``GET /metrics``. In multiprocess mode each process
writes its counters and histograms to files in ``PROMETHEUS_MULTIPROC_DIR`` and the
server sums them at scrape time (a restarted child's counts are kept: counters never
go backwards). prometheus_client decides the mode when it is first imported, so
:func:`multiprocess_dir` runs before anything imports it, and the child inherits
the variable.

This module imports nothing of prometheus_client itself.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ENV", "enabled", "multiprocess_dir"]

ENV = "PROMETHEUS_MULTIPROC_DIR"


def enabled() -> bool:
    """Whether this process records into a multiprocess directory."""
    return bool(os.environ.get(ENV))


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """Set ``PROMETHEUS_MULTIPROC_DIR`` for this process and its children while inside.

    A directory given by the operator is used, emptied of the previous run's files
    first (as prometheus_client asks); otherwise a temporary one is made and removed
    on the way out.

    Raises:
        RuntimeError: prometheus_client was imported already, in single-process mode.
    """
    if "prometheus_client" in sys.modules and not enabled():
        raise RuntimeError(
            f"{ENV} must be set before prometheus_client is imported (a bug: "
            "call multiprocess_dir() first)"
        )
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="feedback-bot-metrics-"))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
