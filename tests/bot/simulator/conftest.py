"""Fixtures: a small workspace, pure or served, and the real slack_sdk client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator, Workspace

START = 1_733_000_000.0
"""The fake clock's time: timestamps start at ``1733000000.000000``."""


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def populate(target: Workspace | SlackSimulator) -> None:
    """Internal Alice, external Carol (Acme) and channels of every visibility."""
    target.add_user("U0ALICE", "alice", email="alice@ourco.example", real_name="Alice Adams")
    target.add_user("U0BOB", "bob", email="bob@ourco.example")
    target.add_user("U0CAROL", "carol", email="carol@acme.example", team_id="T0ACME")
    target.add_channel("C0GENERAL", "general", members=["U0ALICE", "U0BOB"])
    target.add_channel("C0ACME", "acme-shared", members=["U0ALICE", "U0CAROL"], is_ext_shared=True)
    target.add_channel("C0RANDOM", "random", bot_is_member=False, members=["U0ALICE"])
    target.add_channel("G0SECRET", "secret", is_private=True, bot_is_member=False)
    target.add_channel("G0TEAM", "team-private", is_private=True, members=["U0ALICE"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ws(clock: FakeClock) -> Workspace:
    workspace = Workspace(clock=clock)
    populate(workspace)
    return workspace


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        populate(simulator)
        yield simulator


@pytest.fixture
def client(sim: SlackSimulator) -> AsyncWebClient:
    return AsyncWebClient(token=sim.token, base_url=sim.api_url)
