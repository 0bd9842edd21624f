"""``feedback-bot demo``: the real bot, end to end, with no Slack, no key, no server.

The demo serves the real app (HTTP, Bolt, listeners, workflows on SQLite, the local
embedding model) against the Slack simulator seeded with a small workspace, plays a
scenario through signed Slack requests (:mod:`bot.demo.scenario`) and prints what
happened in Slack. ``--interactive`` keeps it running for a person to play the Slack
side from the terminal (:mod:`bot.demo.interactive`).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.demo.people import AppRefused
from bot.demo.scenario import DemoFailed, play
from bot.demo.stage import fresh_database, staged
from bot.demo.transcript import Transcript

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


async def run_demo(
    database_url: str | None = None,
    *,
    interactive: bool = False,
    folder: Path = Path("var"),
    out: TextIO = sys.stdout,
) -> int:
    """Run the demo; returns the exit status (0, or 1 with the reason on stderr).

    Args:
        database_url: An empty database (default: a fresh ``var/demo.db``).
        interactive: Play the Slack side from the terminal instead of the scenario.
        folder: Where the default database goes.
        out: Where the transcript goes.
    """
    started = time.monotonic()
    url = database_url or fresh_database(folder)
    out.write("Feedback Bot demo: the real app and workflows, a simulated Slack workspace\n")
    out.write(f"database: {url}\n")
    out.flush()
    try:
        async with staged(url) as stage:
            transcript = Transcript(stage.sim, out)
            if interactive:
                from bot.demo.interactive import repl

                return await repl(stage, transcript)
            outcome = await play(stage, transcript)
    except (DemoFailed, AppRefused) as exc:
        print(f"\nfeedback-bot demo: failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the demo's edge: the reason, not a traceback
        logger.debug("the demo failed", exc_info=True)
        print(f"\nfeedback-bot demo: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    python = _shown(Path(sys.executable))
    out.write(
        f"\nDone in {took:.0f} s: {outcome.feedback} feedback items filed, "
        f"{len(outcome.checks)} checks passed, "
        f"{sum(transcript.reads.values())} reads from Slack not shown.\n"
        "Where to look next: every run, its steps and their results:\n"
        f"  {python} -m workflows runs list --database-url {url}\n"
        f"  {python} -m workflows runs show {outcome.first_run} --database-url {url}\n"
    )
    return 0


def _shown(path: Path) -> str:
    """A path as short as it can be said from here (``.venv/bin/python``)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
