"""The demo's stage: a seeded workspace and the real bot serving it over HTTP.

:func:`staged` migrates a SQLite database, imports the example accounts, product areas
and backlog (``feedback/examples/``), starts the Slack simulator with the demo's
workspace (``workspace.toml``), and serves the real app (``bot.server``: FastAPI,
Bolt, the listeners, the workflows' worker) under uvicorn on a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import update

from agents import Embedder, get_embedder
from bot.server import Running, create_server
from bot.simulator import SlackSimulator
from bot.simulator.seed import load_seed
from feedback import imports, users
from feedback._util import utcnow
from feedback.database import Database
from feedback.migrate import upgrade
from feedback.schema import requests
from feedback.settings import Settings

__all__ = ["DIGEST_CHANNEL", "PRODUCT_TEAM", "Stage", "fresh_database", "staged"]

EXAMPLES = Path(str(importlib.resources.files("feedback") / "examples"))
WORKSPACE = Path(str(importlib.resources.files("bot.demo") / "workspace.toml"))
PRODUCT_TEAM = ("priya.raman@ourco.example",)
DIGEST_CHANNEL = "C0DIGEST01"
BACKLOG_AGE = timedelta(days=60)


@dataclass(frozen=True)
class Stage:
    """The running demo: the simulator, the app's URL and a client for it, the bot."""

    sim: SlackSimulator
    http: httpx.AsyncClient
    running: Running
    settings: Settings
    secret: str
    url: str


def fresh_database(folder: Path) -> str:
    """A new SQLite database file ``demo.db`` in ``folder`` (an old one is removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("demo.db*"):
        leftover.unlink()
    return f"sqlite+aiosqlite:///{folder / 'demo.db'}"


async def seed_domain(database_url: str, embedder: Embedder) -> None:
    """The example accounts, areas and backlog; the product team."""
    await upgrade(database_url)
    async with Database(database_url) as db:
        await imports.import_accounts(db, EXAMPLES / "accounts.csv")
        await imports.import_areas(db, EXAMPLES / "areas.csv")
        await imports.import_requests(db, EXAMPLES / "requests.csv", embedder)
        async with db.transaction() as conn:
            # an existing backlog: asked for and shipped weeks ago, not this week
            long_ago = utcnow() - BACKLOG_AGE
            await conn.execute(update(requests).values(created_at=long_ago, updated_at=long_ago))
            await conn.execute(
                update(requests)
                .where(requests.c.shipped_at.is_not(None))
                .values(shipped_at=long_ago)
            )
            for email in PRODUCT_TEAM:
                await users.set_product_team(conn, email, member=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def staged(database_url: str, *, reminder: float = 3.0) -> AsyncIterator[Stage]:
    """Seed, start the simulator and serve the app; stop everything on exit.

    Args:
        database_url: An empty database (see :func:`fresh_database`).
        reminder: Seconds before a new request's creator is reminded of it.
    """
    embedder = get_embedder("local")
    await embedder.embed(["warm up"])  # the model loads once, for the imports and the bot
    await seed_domain(database_url, embedder)
    secret = secrets.token_hex(16)
    async with SlackSimulator(seed=load_seed(WORKSPACE)) as sim:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=database_url,
            slack_api_url=sim.api_url,
            slack_bot_token=sim.token,  # type: ignore[arg-type]
            slack_signing_secret=secret,  # type: ignore[arg-type]
            slack_client_id="",
            openai_api_key="",  # type: ignore[arg-type]  # the offline fallbacks
            embedder="local",
            digest_channel=DIGEST_CHANNEL,
            request_reminder_delay=timedelta(seconds=reminder),
        )
        app = create_server(
            settings,
            embedder=embedder,
            worker=True,
            schedule=False,  # the demo starts the reports itself, as the schedule would
            concurrency=8,
            engine_options={"idle_window": 0.2, "poll_interval": 0.1},
        )
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(60):
                while not server.started:
                    if serving.done():  # start-up failed: its exception says why
                        await serving
                        raise RuntimeError("the app stopped during start-up")
                    await asyncio.sleep(0.02)
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                yield Stage(sim, http, app.state.running, settings, secret, url)
        finally:
            server.should_exit = True
            await serving
