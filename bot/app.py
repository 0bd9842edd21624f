"""The Bolt app: one ``AsyncApp`` with every listener, persisting before it acknowledges.

``process_before_response=True`` holds Slack's HTTP response until the listener has
written what it must (a run started, a decision committed): if that write fails,
Slack sees an error and retries instead of the work being lost in a detached task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Bot
from bot.installs import BOT_SCOPES, InstalledWorkspaces, oauth_stores
from bot.listeners import register

__all__ = ["build_app", "listener_client"]


def listener_client(
    token: str | None, base_url: str, session: object | None = None
) -> AsyncWebClient:
    """The Web API client listeners use: it retries a dropped connection once, and never
    sleeps on a 429 inside Slack's three seconds (the workflows' client does that)."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,  # type: ignore[arg-type]  # an aiohttp.ClientSession
        timeout=2,  # Slack waits three seconds for the whole answer
        retry_handlers=[AsyncConnectionErrorRetryHandler()],
    )


def build_app(
    bot: Bot, client: AsyncWebClient, *, workspaces: InstalledWorkspaces | None = None
) -> AsyncApp:
    """The app: for one workspace (its bot token is the client's), or, with
    ``workspaces``, for every workspace that installs it through OAuth.

    Everything is passed explicitly, so stray ``SLACK_*`` variables cannot change
    its mode behind the settings' back.
    """
    settings = bot.settings
    oauth: dict[str, object] = {}
    if workspaces is not None:
        installations, states = oauth_stores(bot.db, settings.slack_client_id)
        oauth = {
            "installation_store": installations,
            "oauth_settings": AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=list(BOT_SCOPES),
                installation_store=installations,
                state_store=states,
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
            ),
        }
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        # bot.guard verified the signature on the exact bytes before Bolt sees a request
        # (Socket Mode needs none): checking it twice costs every acknowledgement
        request_verification_enabled=False,
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
        **oauth,  # type: ignore[arg-type]
    )
    if workspaces is not None:
        app.middleware(_remembering(workspaces))
        app.enable_token_revocation_listeners()
    register(app, bot)
    return app


def _remembering(workspaces: InstalledWorkspaces) -> Callable[..., Awaitable[BoltResponse]]:
    """A middleware noting which workspace each request's channel and person are in."""

    async def remember(
        context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        await workspaces.knows(context.team_id)  # a new install: read them again
        await workspaces.remember(context.team_id, context.channel_id, context.user_id)
        return await next()

    return remember
