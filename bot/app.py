"""The Bolt app: one ``AsyncApp`` with every listener, persisting before it acknowledges.

``process_before_response=True`` holds Slack's HTTP response until the listener has
written what it must (a run started, a decision committed): if that write fails,
Slack sees an error and retries instead of the work being lost in a detached task.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Bot
from bot.listeners import register

__all__ = ["build_app", "listener_client"]


def listener_client(token: str, base_url: str, session: object | None = None) -> AsyncWebClient:
    """The Web API client listeners use: it retries a dropped connection once, and never
    sleeps on a 429 inside Slack's three seconds (the workflows' client does that)."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,  # type: ignore[arg-type]  # an aiohttp.ClientSession
        retry_handlers=[AsyncConnectionErrorRetryHandler()],
    )


def build_app(bot: Bot, client: AsyncWebClient) -> AsyncApp:
    """The app for one workspace (its bot token is the client's).

    Everything is passed explicitly, so stray ``SLACK_*`` variables cannot change
    its mode behind the settings' back.
    """
    app = AsyncApp(
        client=client,
        signing_secret=bot.settings.slack_signing_secret.get_secret_value(),
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
    )
    register(app, bot)
    return app
