"""``feedback-bot serve``: the Slack app under uvicorn (or over Socket Mode) until SIGTERM.

Start-up checks the settings and the schema first, so a missing setting stops it with
one line naming it instead of a traceback from inside the server. SIGTERM (or Ctrl-C)
stops accepting requests, lets those in flight finish, then stops the worker: a step
in flight finishes or is left to another worker by its lease; nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.server import create_server, require, running
from feedback.migrate import ensure_current
from feedback.settings import Settings

__all__ = ["serve"]

logger = logging.getLogger(__name__)


async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    socket: bool = False,
    concurrency: int = 32,
    schedule: bool = True,
) -> int:
    """Serve until stopped; returns the exit status.

    Raises:
        ConfigurationError: A required setting is missing, or the schema is not current.
    """
    require(settings, socket=socket)
    await ensure_current(settings.database_url)
    if socket:
        return await _socket_mode(settings, concurrency=concurrency, schedule=schedule)
    server = create_server(settings, concurrency=concurrency, schedule=schedule)
    config = uvicorn.Config(
        server,
        host=host,
        port=port,
        log_config=None,  # the process's logging, as configured by the CLI
        lifespan="on",
        timeout_graceful_shutdown=20,
    )
    await _Server(config).serve()
    return 0


class _Server(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGTERM/SIGINT and then exiting 0.

    (Stock uvicorn re-raises the signal after its graceful shutdown, so the process
    would end "killed by SIGTERM" although nothing was lost.)
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, self._stop, signum)
        try:
            yield
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.remove_signal_handler(signum)

    def _stop(self, signum: int) -> None:
        if self.should_exit and signum == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: don't wait for requests in flight
        self.should_exit = True
        logger.info("stopping: finishing requests in flight")


async def _socket_mode(settings: Settings, *, concurrency: int, schedule: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with running(
        settings, worker=True, concurrency=concurrency, schedule=schedule, socket=True
    ) as bot:
        handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        logger.info("connected to Slack over Socket Mode")
        print("feedback-bot: connected over Socket Mode; Ctrl-C stops", flush=True)
        try:
            await stop.wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
    return 0
