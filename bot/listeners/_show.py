"""Showing things to people from a listener: a Slack error there is logged, not raised.

What a listener must do (start a run, record a decision) is done before it shows
anything; if Slack then refuses to open a modal or publish a tab (an expired
trigger, a rate limit), raising would only turn Slack's acknowledgement into an
error, and Slack's retry would show it again. The work stands; the log says why the
person saw nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from workflows.engine import FatalError, RetryableError

__all__ = ["show"]

logger = logging.getLogger("bot.listeners")


async def show(what: str, call: Awaitable[Any]) -> bool:
    """Await ``call`` (a Web API call, a ``respond``); ``False`` if Slack refused it."""
    try:
        await call
    except SlackApiError as exc:
        logger.warning("could not show %s: %s", what, exc.response.get("error", "error"))
        return False
    except (SlackClientError, FatalError, RetryableError, OSError) as exc:
        logger.warning("could not show %s: %s", what, type(exc).__name__)
        return False
    return True
