"""The ``feedback-bot simulator`` sub-command: serve the Slack simulator until stopped.

Point the bot's ``AsyncWebClient`` at the printed API URL and token. Ctrl-C or
SIGTERM stops it (exit status 0); an unreadable seed or a taken port exits with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.simulator.errors import SeedError
from bot.simulator.seed import Seed, demo_seed, load_seed
from bot.simulator.simulator import SlackSimulator

DEFAULT_PORT = 3939
"""The port ``feedback-bot simulator`` listens on unless told otherwise."""


def add_simulator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``simulator`` on the ``feedback-bot`` sub-command parser."""
    parser = sub.add_parser(
        "simulator",
        help="serve a simulated Slack Web API (offline demo, end-to-end tests)",
        description=__doc__,
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one"
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seed", type=Path, metavar="FILE", help="TOML seed (default: the bundled demo workspace)"
    )
    seeds.add_argument("--empty", action="store_true", help="start with only the bot")
    parser.add_argument("--token", default="xoxb-simulator", help="the bot token to accept")
    parser.add_argument("--quiet", action="store_true", help="do not log each call")

    async def handler(args: argparse.Namespace) -> int:
        return await serve(args)

    parser.set_defaults(handler=handler)


async def serve(args: argparse.Namespace) -> int:
    """Run the simulator with the parsed options until SIGINT or SIGTERM."""
    try:
        seed = _seed(args)
    except SeedError as exc:
        print(f"feedback-bot simulator: error: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    simulator = SlackSimulator(seed=seed, host=args.host, port=args.port, token=args.token)
    try:
        with _logging_calls(quiet=args.quiet):
            async with simulator as sim:
                _print_banner(sim)
                with _stopping_on_signals(stop):
                    await stop.wait()
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(f"feedback-bot simulator: error: cannot listen on {where}: {exc}", file=sys.stderr)
        return 2
    return 0


def _seed(args: argparse.Namespace) -> Seed | None:
    if args.empty:
        return None
    return demo_seed() if args.seed is None else load_seed(args.seed)


def _print_banner(sim: SlackSimulator) -> None:
    ws = sim.workspace
    print(
        f"Slack simulator: {ws.team_name} ({ws.team_id}), "
        f"{len(ws.users)} users, {len(ws.channels)} channels\n"
        f"  api url: {sim.api_url}\n"
        f"  token:   {sim.token}\n"
        f"  control: {sim.url}/_sim/journal, /_sim/state; POST /_sim/messages, "
        "/_sim/reactions, /_sim/faults\n"
        "Ctrl-C stops it.",
        flush=True,
    )


@contextlib.contextmanager
def _logging_calls(*, quiet: bool) -> Iterator[None]:
    """Log each call on stderr while serving (the CLI is the edge; the library adds no handler)."""
    logger = logging.getLogger("bot.simulator")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextlib.contextmanager
def _stopping_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT/SIGTERM where the loop supports it (not on Windows)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
