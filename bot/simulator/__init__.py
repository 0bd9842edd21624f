"""The Slack simulator: a local Slack Web API with state, a journal and faults on demand.

The offline demo and the end-to-end tests run the bot against it through slack_sdk's
``AsyncWebClient(token=sim.token, base_url=sim.api_url)``. Start it in-process with
``async with SlackSimulator(seed=demo_seed()) as sim`` or as a process with
``feedback-bot simulator``. Seed files are described in :mod:`bot.simulator.seed`.
"""

from bot.simulator.errors import SeedError, SimulatorError, SlackError
from bot.simulator.journal import Call
from bot.simulator.methods import METHODS
from bot.simulator.seed import (
    Seed,
    SeedChannel,
    SeedMessage,
    SeedReply,
    SeedUser,
    demo_seed,
    load_seed,
    parse_seed,
)
from bot.simulator.simulator import SlackSimulator
from bot.simulator.state import Workspace

__all__ = [
    "METHODS",
    "Call",
    "Seed",
    "SeedChannel",
    "SeedError",
    "SeedMessage",
    "SeedReply",
    "SeedUser",
    "SimulatorError",
    "SlackError",
    "SlackSimulator",
    "Workspace",
    "demo_seed",
    "load_seed",
    "parse_seed",
]
