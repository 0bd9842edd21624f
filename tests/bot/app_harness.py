"""The real HTTP app in process, against the Slack simulator: what the app tests drive.

Requests are built and signed by :mod:`bot.simulator.slack_requests` and posted to
``/slack/events`` of the FastAPI app (lifespan and all) through httpx's ASGI
transport; assertions read the simulator's journal and the tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from agents import Embedder
from bot.server import Running, create_server
from bot.simulator import SlackSimulator
from bot.simulator.slack_requests import SIGNING_SECRET, SlackRequest
from feedback.migrate import upgrade
from feedback.settings import Settings
from tests.workflows.harness import TEAM, Product, seed_domain, seed_slack

__all__ = ["App", "app_settings", "build_server", "running_app", "serving"]


@dataclass
class App:
    """The served app, its product underneath, and an HTTP client to reach it."""

    http: httpx.AsyncClient
    product: Product
    server: FastAPI

    @property
    def sim(self) -> SlackSimulator:
        return self.product.sim

    async def send(self, request: SlackRequest) -> httpx.Response:
        """POST a signed Slack request to the Request URL, bytes as signed."""
        body, headers = request
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def make_product_team(self, slack_id: str) -> str:
        return await self.product.person(slack_id, product_team=True)


def app_settings(db_url: str, sim: SlackSimulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "slack_api_url": sim.api_url,
        "slack_bot_token": sim.token,
        "slack_signing_secret": SIGNING_SECRET,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@asynccontextmanager
async def serving(server: FastAPI) -> AsyncIterator[tuple[Running, httpx.AsyncClient]]:
    """Run the server's lifespan and give a client that reaches it in process."""
    async with server.router.lifespan_context(server):
        running: Running = server.state.running
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="https://bot.test") as http:
            yield running, http


def build_server(settings: Settings, embedder: Embedder, *, worker: bool = True) -> FastAPI:
    return create_server(
        settings,
        embedder=embedder,
        worker=worker,
        schedule=False,
        concurrency=8,
        engine_options={"idle_window": 0.2, "poll_interval": 0.2},
    )


@asynccontextmanager
async def running_app(db_url: str, embedder: Embedder, **overrides: Any) -> AsyncIterator[App]:
    """The app, migrated and seeded (people, channels, accounts, backlog), serving."""
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = app_settings(
            db_url,
            sim,
            **{"approval_reminder": timedelta(hours=1), "approval_timeout": timedelta(hours=2)}
            | overrides,
        )
        server = build_server(settings, embedder)
        async with serving(server) as (running, http):
            deps = running.bot.deps
            backlog, known = await seed_domain(deps)
            product = Product(running.bot.engine, deps, sim, backlog, known)
            yield App(http, product, server)
