"""``feedback-bot serve``: the Slack app under uvicorn (or over Socket Mode) until SIGTERM.

Start-up checks the settings and the schema first, so a missing setting stops it with
one line naming it instead of a traceback from inside the server. SIGTERM (or Ctrl-C)
stops accepting requests, lets those in flight finish, then stops the worker: a step
in flight finishes or is left to another worker by its lease; nothing is lost.

The worker runs beside the server, in a child process at a lower CPU priority
(``--worker process``, the default): filing is CPU work (extraction, embeddings) and,
on the server's event loop, it would delay every acknowledgement behind the runs in
progress (``bench/slack_ingest.py`` measures both). The child is restarted if it dies,
and held back from claiming new runs during a burst of requests (:mod:`bot.pressure`).
``--worker inline`` keeps it on the server's loop (one process; fine for a trickle);
``--worker none`` leaves the filing to ``feedback-bot worker`` processes elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Literal, Self

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.pressure import HOLD, RELEASE, Pressure
from bot.server import create_server, require, running
from feedback.migrate import ensure_current
from feedback.settings import Settings

__all__ = ["WorkerChild", "WorkerMode", "serve"]

logger = logging.getLogger(__name__)

WorkerMode = Literal["process", "inline", "none"]


async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    socket: bool = False,
    concurrency: int = 32,
    schedule: bool = True,
    worker: WorkerMode = "process",
) -> int:
    """Serve until stopped; returns the exit status.

    Args:
        worker: ``process`` (a child process at lower priority), ``inline`` (on the
            server's event loop) or ``none`` (other processes file).

    Raises:
        ConfigurationError: A required setting is missing, or the schema is not current.
    """
    require(settings, socket=socket)
    await ensure_current(settings.database_url)
    if socket:
        return await _socket_mode(settings, concurrency=concurrency, schedule=schedule)
    if worker == "process":
        async with WorkerChild(settings, concurrency=concurrency, schedule=schedule) as child:
            pressure = Pressure(child.hold)
            try:
                return await _http(
                    settings, host, port, worker=False, schedule=False, pressure=pressure
                )
            finally:
                pressure.close()
    return await _http(
        settings, host, port, worker=worker == "inline", schedule=schedule, concurrency=concurrency
    )


async def _http(
    settings: Settings,
    host: str,
    port: int,
    *,
    worker: bool,
    schedule: bool,
    concurrency: int = 32,
    pressure: Pressure | None = None,
) -> int:
    server = create_server(
        settings, worker=worker, concurrency=concurrency, schedule=schedule, pressure=pressure
    )
    config = uvicorn.Config(
        server,
        host=host,
        port=port,
        log_config=None,  # the process's logging, as configured by the CLI
        # one line per request would double the cost of an acknowledgement (measured in
        # bench/slack_ingest.py); the workflows log what each event became
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=20,
    )
    await _Server(config).serve()
    return 0


class WorkerChild:
    """``feedback-bot worker`` as a child process at lower priority, restarted if it dies.

    The child reads the same settings from the environment (the database URL is passed
    there, never on its command line); on exit it gets SIGTERM and time to finish.
    """

    NICE = 10
    GRACE = 30.0

    def __init__(self, settings: Settings, *, concurrency: int, schedule: bool) -> None:
        self._env = dict(os.environ, DATABASE_URL=settings.database_url)
        self._args = ["-m", "bot", "worker", f"--concurrency={concurrency}"]
        if schedule:
            self._args.append("--schedule")
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._control: int | None = None  # the pipe's end to write to the child
        self._held = False

    async def __aenter__(self) -> Self:
        await self._start()
        self._watch = asyncio.create_task(self._watch_over())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        process = self._process
        if self._control is not None:  # the child stops at its end too
            os.close(self._control)
            self._control = None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.GRACE)
        except TimeoutError:
            logger.warning("the worker did not stop in %.0f s: killing it", self.GRACE)
            process.kill()
            await process.wait()

    def hold(self, held: bool) -> None:
        """Hold the worker back (a burst of requests) or let it go (see
        :mod:`bot.pressure`); a worker being restarted gets the latest word."""
        self._held = held
        logger.info("requests are queuing: holding the worker back" if held else "calm again")
        if self._control is None:
            return
        # a write to a full pipe is dropped (it would take hours of bursts while the
        # child does not read); a child that died is restarted and told again
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._control, HOLD if held else RELEASE)

    async def _start(self) -> None:
        if self._control is not None:
            os.close(self._control)
        read, self._control = os.pipe()
        os.set_blocking(self._control, False)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self._args,
                f"--control-fd={read}",
                env=self._env,
                preexec_fn=_lower_priority,
                pass_fds=(read,),
            )
        finally:
            os.close(read)
        logger.info("worker started (pid %d)", self._process.pid)
        if self._held:
            self.hold(True)

    async def _watch_over(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            assert self._process is not None
            status = await self._process.wait()
            if self._stopping.is_set():
                return
            logger.error("the worker exited with status %s: restarting in %.0f s", status, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            await self._start()


def _lower_priority() -> None:
    os.nice(WorkerChild.NICE)


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
