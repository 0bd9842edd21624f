"""Run the product's workflows: the engine's worker with the product's collaborators.

``feedback-bot worker`` runs :func:`run_worker` until SIGTERM or Ctrl-C. Several
workers (processes or hosts) may share one database: runs are claimed with leases,
and each worker's matching index follows what the others file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

# importing them registers the product's workflows with the engine
import workflows.batches
import workflows.intake
import workflows.reports
import workflows.upkeep  # noqa: F401
from agents import Embedder
from bot.installs import InstalledWorkspaces
from bot.pressure import follow, told
from feedback.errors import ConfigurationError
from feedback.migrate import ensure_current
from feedback.settings import Settings
from workflows.deps import open_deps, use_deps
from workflows.engine import Engine
from workflows.schedule import Schedules

__all__ = ["run_worker"]

logger = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 32,
    stop: asyncio.Event | None = None,
    embedder: Embedder | None = None,
    schedule: bool = False,
    control_fd: int | None = None,
) -> None:
    """Work on the product's runs until ``stop`` is set (or SIGTERM/SIGINT arrives).

    Args:
        settings: The settings (database, Slack, matching, LLM).
        concurrency: Runs executing at once in this process.
        stop: Ends the worker when set; by default SIGTERM and SIGINT set it.
        embedder: Override the configured embedder.
        schedule: Also start the insights and digest schedules here; any number of
            workers may, each tick starts one run (see ``workflows.schedule``).
        control_fd: A pipe from ``feedback-bot serve``, which holds this worker back
            during bursts of requests (see :mod:`bot.pressure`); it stops at its end.

    Raises:
        ConfigurationError: The domain tables are missing or out of date
            (run ``feedback-bot db upgrade``).
    """
    if not settings.slack_bot_token.get_secret_value() and not settings.multi_workspace:
        raise ConfigurationError(
            "SLACK_BOT_TOKEN: not set; use the app's Bot User OAuth Token (xoxb-...)"
        )
    await ensure_current(settings.database_url)
    stop = stop or _stop_on_signals()
    async with (
        open_deps(settings, embedder=embedder) as deps,
        Engine(settings.database_url) as engine,
    ):
        if settings.multi_workspace:  # each Slack call uses the token that reaches it
            deps.slack.workspaces = InstalledWorkspaces(deps.db, settings.slack_client_id)
        with use_deps(deps):
            worker = engine.worker(concurrency=concurrency)
            if control_fd is not None:
                told(control_fd, worker)
            async with (
                worker,
                Schedules.from_settings(settings, engine) if schedule else contextlib.nullcontext(),
                asyncio.TaskGroup() as tasks,
            ):
                if control_fd is not None:
                    following = tasks.create_task(follow(control_fd, worker, stop))
                logger.info("worker ready (concurrency %d)", concurrency)
                print("worker ready", flush=True)
                await stop.wait()
                if control_fd is not None:
                    following.cancel()
    logger.info("worker stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    return stop
