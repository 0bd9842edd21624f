"""The Bolt listeners, one module per kind of thing Slack sends.

Each listener persists first and returns: it starts a workflow under a natural-key
run id, or records a decision, and answers well within Slack's three seconds.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.context import Bot
from bot.listeners.actions import register as register_actions
from bot.listeners.commands import register as register_commands
from bot.listeners.events import register as register_events
from bot.listeners.shortcuts import register as register_shortcuts

__all__ = ["register"]


def register(app: AsyncApp, bot: Bot) -> None:
    """Register every listener of the app (the catch-alls last: Bolt runs the first match)."""
    register_events(app, bot)
    register_commands(app, bot)
    register_shortcuts(app, bot)
    register_actions(app, bot)
