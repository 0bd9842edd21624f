"""``/feedback``: file words, search requests, mark one shipped, or get help.

::

    /feedback <what the customer needs>     files it (answered privately)
    /feedback search <words>                requests ranked by meaning (privately)
    /feedback ship <request>                marks it shipped (product team only)
    /feedback help                          how to use the bot

Anything else (an empty command, a lone unknown word) answers with help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.context import Bot
from bot.modals import SearchHit, help_blocks, search_blocks
from bot.text import clean
from workflows.intake import Submission, ingest_message, message_run_id
from workflows.messages import escape
from workflows.requests import ship
from workflows.upkeep import rank_requests

__all__ = ["Command", "parse", "register"]

logger = logging.getLogger(__name__)

VERBS = ("help", "search", "ship")
MIN_SCORE = 0.3
"""Search hits closer than this are shown; farther ones are noise."""


@dataclass(frozen=True)
class Command:
    """What ``/feedback`` was asked: ``verb`` is ``file``, ``search``, ``ship`` or ``help``."""

    verb: str
    text: str = ""


def parse(text: str) -> Command:
    """Read the command's text (pure; control characters are dropped)."""
    words = clean(text).split()
    if not words:
        return Command("help")
    first = words[0].lower()
    rest = " ".join(words[1:])
    if first in VERBS:
        return Command(first, rest) if rest or first == "help" else Command("help")
    if len(words) == 1:  # a lone word is more likely a mistyped command than feedback
        return Command("help")
    return Command("file", " ".join(words))


def register(app: AsyncApp, bot: Bot) -> None:
    """Register ``/feedback``."""

    @app.command("/feedback")
    async def feedback(ack: AsyncAck, command: dict[str, Any]) -> None:
        typed = command.get("text")
        asked = parse(typed if isinstance(typed, str) else "")
        user = command["user_id"]
        if asked.verb == "file":
            submission = Submission(
                source="command",
                user=user,
                key=command["trigger_id"],
                channel=command.get("channel_id"),
                text=asked.text,
            )
            await bot.engine.start(ingest_message, submission, run_id=message_run_id(submission))
            clipped = asked.text if len(asked.text) <= 200 else asked.text[:199] + "…"
            await ack(text=f"Filing “{escape(clipped)}”. I'll DM you where it goes.")
        elif asked.verb == "search":
            found = await rank_requests(bot.deps, asked.text, 5)
            hits = [
                SearchHit(
                    title=h["title"],
                    slug=h["slug"],
                    status=h["status"],
                    score=h["score"],
                    customers=h["customers"],
                    arr=Decimal(h["arr"]),
                )
                for h in found
                if h["score"] >= MIN_SCORE
            ]
            text, blocks = search_blocks(asked.text, hits)
            await ack(text=text, blocks=blocks)
        elif asked.verb == "ship":
            answer = await ship(bot.engine, bot.db, request=asked.text, slack_user=user)
            logger.info("ship command: %s", answer.status)
            await ack(text=answer.text)
        else:
            text, blocks = help_blocks(bot.emoji)
            await ack(text=text, blocks=blocks)
