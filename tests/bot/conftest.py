"""Fixtures for the Slack app: the real HTTP app serving, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agents import Embedder
from tests.bot.app_harness import App, running_app


@pytest.fixture
async def slack_app(db_url: str, local_embedder: Embedder) -> AsyncIterator[App]:
    async with running_app(db_url, local_embedder) as app:
        yield app
