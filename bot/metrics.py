"""``GET /metrics``: the bot in Prometheus's text format.

Two sources make one page:

- what the processes counted as they worked (:mod:`workflows.metrics`: Slack calls and
  errors by method, step latency histograms), summed over the server and its worker
  child in multiprocess mode (:mod:`bot.multiprocess`), or this process's own
  registry otherwise (``--worker inline``, tests);
- gauges read from the database at scrape time, so that they hold for every process
  and host sharing it, and survive restarts: runs by workflow and status, timers
  ahead and due, feedback by match tier, questions waiting on people.

============================================  ==============================================
``feedback_bot_runs{workflow,status}``        runs (engine)
``feedback_bot_timers{state}``                waiting runs' timers, ``ahead`` or ``due``
``feedback_bot_feedback{tier,status}``        feedback items by match tier and status
``feedback_bot_waiting_on_people{kind}``      unanswered questions: ``match``, ``account``
``feedback_bot_database_up``                  1 when the database answered this scrape
``feedback_bot_slack_api_calls_total``        Slack Web API calls by method
``feedback_bot_slack_api_errors_total``       failed calls by method and error
``feedback_bot_step_duration_seconds``        step attempts by workflow, step and outcome
============================================  ==============================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from bot import multiprocess
from feedback import stats
from feedback.database import Database
from workflows.engine import Engine, RunCounts

__all__ = ["CONTENT_TYPE", "exposition"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def exposition(engine: Engine, db: Database) -> bytes:
    """The whole page: the processes' counters and histograms, then the gauges."""
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_Families(await _database_gauges(engine, db)))
    return generate_latest(_counted()) + generate_latest(gauges)


def _counted() -> CollectorRegistry:
    if not multiprocess.enabled():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


async def _database_gauges(engine: Engine, db: Database) -> list[Metric]:
    up = GaugeMetricFamily(
        "feedback_bot_database_up", "1 when the database answered this scrape, else 0."
    )
    try:
        counts = await engine.count_runs()
        async with db.read() as conn:
            tiers = await stats.feedback_by_tier(conn)
            waiting = await stats.waiting_on_people(conn)
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("metrics: the database did not answer (%s)", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [up, *_run_gauges(counts), _tiers(tiers), _waiting(waiting)]


def _run_gauges(counts: RunCounts) -> Iterable[Metric]:
    runs = GaugeMetricFamily(
        "feedback_bot_runs", "Workflow runs by workflow and status.", labels=["workflow", "status"]
    )
    for (workflow, status), n in sorted(counts.runs.items()):
        runs.add_metric([workflow, str(status)], n)
    timers = GaugeMetricFamily(
        "feedback_bot_timers",
        "Timers of waiting runs (sleeps, wait timeouts, retry back-offs): ahead, or due "
        "and not yet taken by a worker.",
        labels=["state"],
    )
    timers.add_metric(["ahead"], counts.timers_ahead)
    timers.add_metric(["due"], counts.timers_due)
    return runs, timers


def _tiers(tiers: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "feedback_bot_feedback",
        "Feedback items by match tier (link, ask, new; none: not matched yet) and status.",
        labels=["tier", "status"],
    )
    for (tier, status), n in sorted(tiers.items()):
        family.add_metric([tier, status], n)
    return family


def _waiting(waiting: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "feedback_bot_waiting_on_people",
        "Questions put to a person and not answered yet (match: which request; "
        "account: which customer).",
        labels=["kind"],
    )
    for kind in sorted(waiting.keys() | {"match", "account"}):
        family.add_metric([kind], waiting.get(kind, 0))
    return family


class _Families(Collector):
    """Metric families computed before the scrape (the queries are async)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
