"""Events: a feedback reaction, a mention, the Home tab; anything else is acknowledged.

Slack redelivers an event it thinks was not received (``X-Slack-Retry-Num``) with
the same ``event_id``: the run ids come from the event itself (the reaction's
message, reactor and ``event_ts``; the mention's message), so a redelivery starts
nothing new, while a retry after a real failure (nothing was started) is processed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Bot
from bot.home import publish_home
from bot.listeners._show import show
from bot.text import field, plain
from workflows.intake import (
    Reaction,
    Submission,
    ingest_message,
    ingest_reaction,
    message_run_id,
    reaction_run_id,
)

__all__ = ["mention_text", "register"]

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<[@!][^<>]*>")  # people, and @here, @channel, user groups
THREAD_WORDS = 4
"""A mention in a thread with fewer words than this ("file this") files the thread."""


def mention_text(text: object) -> str:
    """The words of a mention without the mentions themselves (as plain text)."""
    if not isinstance(text, str):
        return ""
    return " ".join(plain(MENTION.sub(" ", text)).split())


def register(app: AsyncApp, bot: Bot) -> None:
    """Register the event listeners."""
    emojis = bot.settings.feedback_emojis

    @app.event("reaction_added")
    async def reaction_added(event: dict[str, Any]) -> None:
        name = (field(event, "reaction") or "").split("::")[0]  # skin tone: "name::skin-tone-2"
        channel, ts = field(event, "item", "channel"), field(event, "item", "ts")
        user, event_ts = field(event, "user"), field(event, "event_ts")
        if name not in emojis or field(event, "item", "type") != "message":
            return
        if not (channel and ts and user and event_ts):
            logger.warning("ignored a reaction_added event without its message or reactor")
            return
        reaction = Reaction(channel=channel, ts=ts, user=user, event_ts=event_ts)
        handle = await bot.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
        logger.debug("reaction received", extra={"run_id": handle.run_id})

    @app.event("app_mention")
    async def app_mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        words = mention_text(event.get("text"))
        channel, user, ts = field(event, "channel"), field(event, "user"), field(event, "ts")
        thread_ts = field(event, "thread_ts")
        if not (channel and user and ts):
            logger.warning("ignored an app_mention event without its channel, author or ts")
            return
        if thread_ts and len(words.split()) < THREAD_WORDS:
            submission = Submission(
                source="mention", user=user, key=ts, channel=channel, ts=thread_ts
            )
        elif words:
            submission = Submission(
                source="mention", user=user, key=f"{channel}:{ts}", channel=channel, text=words
            )
        else:
            hint = client.chat_postEphemeral(
                channel=channel,
                user=user,
                text="Mention me with what the customer needs, or in a thread to file it.",
            )
            await show("a hint", hint)
            return
        handle = await bot.engine.start(
            ingest_message, submission, run_id=message_run_id(submission)
        )
        logger.debug("mention received", extra={"run_id": handle.run_id})

    @app.event("app_home_opened")
    async def app_home_opened(event: dict[str, Any]) -> None:
        user = field(event, "user")
        if event.get("tab") != "home" or user is None:
            return
        await show("the Home tab", publish_home(bot.db, bot.slack, user, emoji=bot.emoji))

    @app.event(re.compile(".*"))
    async def anything_else(event: dict[str, Any]) -> None:
        logger.debug("ignored event %s", event.get("type"))
