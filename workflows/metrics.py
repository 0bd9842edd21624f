"""What the bot's processes count as they work: Slack calls, and steps with their latency.

Counters and histograms of ``prometheus_client``, recorded where the work happens:

- ``feedback_bot_slack_api_calls_total{method}`` and
  ``feedback_bot_slack_api_errors_total{method,error}``, by
  :func:`workflows.slack.map_slack_errors`, which every Web API call goes through;
- ``feedback_bot_step_duration_seconds{workflow,step,outcome}``, from the engine's one
  record per step attempt (logger ``workflows.engine.steps``), while
  :func:`recording_steps` is on.

``bot.metrics`` serves them at ``GET /metrics`` with the gauges read from the database.
Under ``feedback-bot serve`` the worker is a child process: both processes record
into ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode), which
``serve`` sets before either imports this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

__all__ = [
    "SLACK_CALLS",
    "SLACK_ERRORS",
    "STEP_SECONDS",
    "StepLatency",
    "recording_steps",
]

SLACK_CALLS = Counter("feedback_bot_slack_api_calls", "Slack Web API calls, by method.", ["method"])
SLACK_ERRORS = Counter(
    "feedback_bot_slack_api_errors",
    "Slack Web API calls that failed after the client's own retries, by method and "
    "Slack's error code (or the network error's class).",
    ["method", "error"],
)
STEP_SECONDS = Histogram(
    "feedback_bot_step_duration_seconds",
    "How long each attempt of a workflow step ran (its own code, not the checkpoint).",
    ["workflow", "step", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

STEPS_LOGGER = "workflows.engine.steps"


class StepLatency(logging.Handler):
    """Observes each step attempt the engine reports into :data:`STEP_SECONDS`."""

    def emit(self, record: logging.LogRecord) -> None:
        duration = getattr(record, "duration_ms", None)
        if duration is None:
            return
        STEP_SECONDS.labels(
            getattr(record, "workflow", "?"),
            getattr(record, "step", "?"),
            getattr(record, "outcome", "?"),
        ).observe(duration / 1000)


@contextmanager
def recording_steps() -> Iterator[None]:
    """Observe step latencies in this process while inside.

    The engine's step records are created only when its logger is enabled for INFO:
    this enables it (whatever ``LOG_LEVEL`` says; the log handlers keep their own
    level, so nothing more is written) and restores it on the way out.
    """
    logger = logging.getLogger(STEPS_LOGGER)
    handler, level = StepLatency(logging.INFO), logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
