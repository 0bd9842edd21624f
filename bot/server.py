"""The HTTP side: FastAPI with Slack's one Request URL, health and readiness.

::

    POST /slack/events   events, interactivity, shortcuts and commands (Bolt routes them)
    GET  /healthz        the process is up
    GET  /readyz         the database answers (the matching model loads before serving)
    GET  /metrics        Prometheus's text format (see bot.metrics)

The lifespan opens everything once: the database, the workflows' collaborators, the
engine with an in-process worker, the schedules, the Bolt app. Slack's requests take
turns (:mod:`bot.turns`), and each is checked by :mod:`bot.guard` on its exact bytes
before Bolt sees it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

# importing them registers the product's workflows with the engine
import workflows.batches
import workflows.intake
import workflows.reports
import workflows.upkeep  # noqa: F401
from agents import Embedder
from bot import guard
from bot.app import build_app, listener_client
from bot.context import Bot
from bot.events_path import Answer, SlackEventsPath
from bot.installs import InstalledWorkspaces
from bot.metrics import CONTENT_TYPE, exposition
from bot.pressure import Pressure
from bot.turns import Turns
from feedback.errors import ConfigurationError
from feedback.migrate import ensure_current
from feedback.settings import Settings
from workflows.deps import open_deps, use_deps
from workflows.engine import Engine
from workflows.metrics import recording_steps
from workflows.schedule import Schedules
from workflows.slack import Slack

__all__ = ["Running", "create_server", "running"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Running:
    """The bot while it runs: its collaborators and its Bolt app."""

    bot: Bot
    app: AsyncApp


def require(settings: Settings, *, socket: bool = False) -> None:
    """Stop start-up with one line naming the first missing setting."""
    token = settings.slack_bot_token.get_secret_value()
    if settings.slack_client_id and not settings.slack_client_secret.get_secret_value():
        raise ConfigurationError(
            "SLACK_CLIENT_SECRET: not set, but SLACK_CLIENT_ID is (multi-workspace mode "
            "needs both, from Basic Information > App Credentials)"
        )
    missing = [
        ("SLACK_BOT_TOKEN", "oauth" if settings.multi_workspace else token, "xoxb-..."),
        (
            "SLACK_SIGNING_SECRET",
            "socket" if socket else settings.slack_signing_secret.get_secret_value(),
            "Basic Information > App Credentials",
        ),
        (
            "SLACK_APP_TOKEN",
            settings.slack_app_token.get_secret_value() if socket else "-",
            "xapp-...",
        ),
    ]
    for name, value, hint in missing:
        if not value:
            raise ConfigurationError(f"{name}: not set (the app's {hint}); see .env.example")


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    worker: bool = True,
    concurrency: int = 32,
    schedule: bool = True,
    socket: bool = False,
    engine_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Running]:
    """Open the bot: collaborators, engine (and worker and schedules), the Bolt app."""
    require(settings, socket=socket)
    await ensure_current(settings.database_url)
    async with (
        open_deps(settings, embedder=embedder) as deps,
        Engine(settings.database_url, **(engine_options or {})) as engine,
        aiohttp.ClientSession() as session,
    ):
        if settings.embedder == "local":  # load the model now, not at the first message
            await deps.embedder.embed(["ready"])
        workspaces = None
        if settings.multi_workspace:  # before any run: every Slack call finds its token
            workspaces = InstalledWorkspaces(deps.db, settings.slack_client_id)
            deps.slack.workspaces = workspaces
        token = settings.slack_bot_token.get_secret_value() or None
        client = listener_client(None if workspaces else token, settings.slack_api_url, session)
        bot = Bot(engine=engine, deps=deps, slack=Slack(client, workspaces=workspaces))
        app = build_app(bot, client, workspaces=workspaces)
        with use_deps(deps):
            async with contextlib.AsyncExitStack() as stack:
                if worker:
                    stack.enter_context(recording_steps())
                    await stack.enter_async_context(engine.worker(concurrency=concurrency))
                if schedule:
                    await stack.enter_async_context(Schedules.from_settings(settings, engine))
                yield Running(bot=bot, app=app)


def create_server(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    worker: bool = True,
    concurrency: int = 32,
    schedule: bool = True,
    engine_options: Mapping[str, Any] | None = None,
    pressure: Pressure | None = None,
) -> FastAPI:
    """The ASGI app ``feedback-bot serve`` runs under uvicorn (tests drive it in process).

    Args:
        pressure: Counts the Slack requests in flight, so that a worker elsewhere can
            hold back during a burst (``feedback-bot serve``'s worker child).
    """
    live = _Live()
    secret = settings.slack_signing_secret.get_secret_value()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with running(
            settings,
            embedder=embedder,
            worker=worker,
            concurrency=concurrency,
            schedule=schedule,
            engine_options=engine_options,
        ) as bot:
            live.running, live.handler = bot, AsyncSlackRequestHandler(bot.app)
            live.turns = Turns()  # of this event loop
            server.state.running = bot  # for whoever embeds the server (tests, the demo)
            logger.info("serving Slack requests")
            try:
                yield
            finally:
                live.running = live.handler = server.state.running = None

    server = FastAPI(title="Feedback Bot", lifespan=lifespan, docs_url=None, redoc_url=None)

    async def answer(body: bytes, headers: Mapping[str, str], query: str) -> Answer:
        if pressure is not None:  # a request waiting for its turn is in flight too
            pressure.enter()
        try:
            await live.turns.take()
            return await acknowledge(body, headers, query)
        finally:
            if pressure is not None:
                pressure.exit()

    async def acknowledge(body: bytes, headers: Mapping[str, str], query: str) -> Answer:
        verdict = guard.check(body, headers, signing_secret=secret, now=time.time())
        if verdict is not None:
            logger.warning("refused a Slack request: %s", verdict.reason)
            return _json(verdict.status, {"error": verdict.reason})
        if live.running is None:
            return _json(503, {"error": "starting"})
        if b"app_rate_limited" in body and _kind(body, headers.get("content-type", "")) == (
            "app_rate_limited"
        ):
            logger.warning("Slack is rate-limiting this app's events for a minute")
            return Answer(200)
        request = AsyncBoltRequest(body=body.decode(), query=query, headers=dict(headers))
        response = await live.running.app.async_dispatch(request)
        return Answer(
            response.status,
            response.body.encode() if isinstance(response.body, str) else response.body,
            response.first_headers_without_set_cookie(),
        )

    # Slack's requests are answered before FastAPI routes anything (bot.events_path)
    server.add_middleware(SlackEventsPath, answer=answer)

    @server.get("/slack/install")
    @server.get("/slack/oauth_redirect")
    async def slack_install(request: Request) -> Response:
        """Slack's install flow (multi-workspace mode; 404 with a single bot token)."""
        if live.handler is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        return await live.handler.handle(request)

    @server.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @server.get("/metrics")
    async def metrics() -> Response:
        if live.running is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        bot = live.running.bot
        return Response(await exposition(bot.engine, bot.db), media_type=CONTENT_TYPE)

    @server.get("/readyz")
    async def readyz() -> Response:
        if live.running is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with live.running.bot.db.read() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            logger.warning("not ready: the database does not answer", exc_info=True)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ready", "embedder": settings.embedder})

    return server


@dataclass
class _Live:
    running: Running | None = None
    handler: AsyncSlackRequestHandler | None = None
    turns: Turns = field(default_factory=Turns)


def _json(status: int, content: dict[str, str]) -> Answer:
    return Answer(status, json.dumps(content).encode(), {"content-type": "application/json"})


def _kind(body: bytes, content_type: str) -> str | None:
    """An Events API body's ``type`` (the guard has checked it is a JSON object)."""
    if not content_type.startswith("application/json"):
        return None
    kind = json.loads(body).get("type")
    return kind if isinstance(kind, str) else None
