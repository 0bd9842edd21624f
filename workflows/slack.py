"""Outbound Slack: the Web API calls the workflows make, with retries and mapped errors.

One :class:`Slack` wraps slack_sdk's ``AsyncWebClient`` (the base URL is the seam for
the Slack simulator). The client itself retries connection errors, 429 (after
``Retry-After``) and 5xx a few times; what still fails is mapped here, once:

- an error retrying cannot fix (``channel_not_found``, ``not_in_channel``,
  ``user_not_found``, a bad token, a missing scope, invalid blocks) raises
  :class:`SlackFatal`, a ``FatalError`` whose message says what to do;
- anything else (rate limits, Slack's own errors, the network) raises
  ``RetryableError``, so the step is tried again later with back-off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from workflows.engine import FatalError, RetryableError
from workflows.metrics import SLACK_CALLS, SLACK_ERRORS

__all__ = [
    "HINTS",
    "Slack",
    "SlackFatal",
    "SlackMessage",
    "SlackUser",
    "Workspaces",
    "map_slack_errors",
]

logger = logging.getLogger(__name__)

INVITE = "invite the bot to the channel with /invite @Feedback Bot"
HINTS: dict[str, str] = {
    "channel_not_found": f"the channel does not exist or is private: {INVITE}",
    "not_in_channel": f"the bot is not a member of the channel: {INVITE}",
    "user_not_found": "no such Slack user (deleted, or from another workspace)",
    "user_disabled": "the user's account is deactivated",
    "cannot_dm_bot": "bots cannot be sent direct messages",
    "users_not_found": "no Slack user has that e-mail address",
    "user_not_in_channel": "the user is not a member of the channel",
    "thread_not_found": "the thread is gone (deleted, or outside the retention window)",
    "message_not_found": "the message is gone (deleted, or outside the retention window)",
    "cant_update_message": "only messages the bot posted can be updated",
    "is_archived": "the channel is archived: unarchive it or pick another channel",
    "invalid_auth": "the bot token is wrong: check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent: set SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked: reinstall the app and update SLACK_BOT_TOKEN",
    "account_inactive": "the bot's token belongs to a deactivated app or user: reinstall",
    "missing_scope": "the app lacks a scope: add it in the app's settings and reinstall",
    "invalid_blocks": "the message's Block Kit is invalid (a bug: please report it)",
    "invalid_arguments": "the call's arguments are invalid (a bug: please report it)",
    "no_text": "the message has no text (a bug: please report it)",
    "msg_too_long": "the message is too long (a bug: please report it)",
    "unknown_method": "the Web API does not know this method: check SLACK_API_URL",
    "not_installed": "no workspace that installed the app reaches this channel or person: "
    "install the app there (/slack/install)",
}


class SlackFatal(FatalError):
    """A Slack error that retrying cannot fix.

    Attributes:
        method: The Web API method.
        error: Slack's error code (e.g. ``not_in_channel``).
    """

    def __init__(self, method: str, error: str) -> None:
        hint = HINTS.get(error, "see https://docs.slack.dev/reference/methods/" + method)
        super().__init__(f"Slack {method}: {error}: {hint}")
        self.method = method
        self.error = error


@contextmanager
def map_slack_errors(method: str, *, ignore: Sequence[str] = ()) -> Iterator[None]:
    """Translate slack_sdk and aiohttp errors into the engine's retry meaning.

    Every call is counted by method, and what fails by method and error
    (:mod:`workflows.metrics`); an ignored error is no failure.

    Args:
        method: The Web API method, for the message.
        ignore: Slack errors that mean "already done" (e.g. ``already_reacted``).
    """
    SLACK_CALLS.labels(method).inc()
    try:
        yield
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        status = exc.response.status_code
        if error in ignore:
            return
        SLACK_ERRORS.labels(method, error).inc()
        if error in HINTS:
            raise SlackFatal(method, error) from exc
        retry_after = exc.response.headers.get("Retry-After") if status == 429 else None
        raise RetryableError(
            f"Slack {method}: {error} (HTTP {status})",
            retry_after=float(retry_after) if retry_after else None,
        ) from exc
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        SLACK_ERRORS.labels(method, type(exc).__name__).inc()
        raise RetryableError(f"Slack {method}: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class SlackUser:
    """What ``users.info`` says of a person.

    Attributes:
        id: The Slack user id.
        name: The display name (else the real name, else the handle).
        email: The e-mail address (needs ``users:read.email``).
        team_id: Their workspace; another one means a Slack Connect guest.
        is_bot: A bot or an app.
    """

    id: str
    name: str
    email: str | None
    team_id: str | None
    is_bot: bool


@dataclass(frozen=True)
class SlackMessage:
    """One message of a conversation.

    Attributes:
        ts: Its timestamp (its id within the channel).
        user: Its author, ``None`` for bot and integration messages.
        text: Its text, Slack markup included.
        thread_ts: The thread it belongs to, if any.
        bot: Posted by a bot or an app.
    """

    ts: str
    user: str | None
    text: str
    thread_ts: str | None = None
    bot: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SlackMessage:
        return cls(
            ts=str(data["ts"]),
            user=data.get("user"),
            text=str(data.get("text") or ""),
            thread_ts=data.get("thread_ts"),
            bot=bool(data.get("bot_id")) or data.get("subtype") == "bot_message",
        )


class Workspaces(Protocol):
    """Which installation's bot token reaches a channel or a person (multi-workspace mode)."""

    async def token_for(self, slack_id: str) -> str | None:
        """The bot token that reaches ``slack_id``; ``None`` when no installation is known
        to (then the wrapper tries the other ids of the call, then :meth:`any_token`)."""
        ...

    async def any_token(self) -> str | None:
        """A token to fall back on: the newest installation's; ``None`` when none."""
        ...

    async def alias(self, new_id: str, known_id: str) -> None:
        """``new_id`` (say, the DM opened with ``known_id``) is in ``known_id``'s workspace."""
        ...

    async def teams(self) -> frozenset[str]:
        """The workspaces that installed the app (their people are colleagues)."""
        ...

    async def bot_users(self) -> frozenset[str]:
        """The bot's user id in each of them (its messages are never feedback)."""
        ...


@dataclass
class Slack:
    """The bot's Web API calls.

    Args:
        client: A configured ``AsyncWebClient`` (see :meth:`connect`); its token is the
            bot's in single-workspace mode.
        workspaces: In multi-workspace mode, finds the token of the installation that
            reaches each channel or person; every call then uses that token.
    """

    client: AsyncWebClient
    workspaces: Workspaces | None = None
    user_ttl: float = 300.0
    _clients: dict[str, AsyncWebClient] = field(default_factory=dict, repr=False)
    _dm_channels: dict[str, str] = field(default_factory=dict, repr=False)
    _users: dict[str, tuple[float, SlackUser | None]] = field(default_factory=dict, repr=False)

    @classmethod
    def connect(
        cls, token: str, base_url: str, *, session: aiohttp.ClientSession | None = None
    ) -> Slack:
        """A client with retry handlers for connection errors, 429 and 5xx.

        Args:
            token: The bot token.
            base_url: The Web API root (``https://slack.com/api/`` or the simulator's).
            session: A shared aiohttp session (one is made per call otherwise).
        """
        client = AsyncWebClient(
            token=token,
            base_url=base_url,
            session=session,
            timeout=15,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        return cls(client)

    async def api(self, *ids: str | None) -> AsyncWebClient:
        """The client whose token reaches the first of ``ids`` an installation knows.

        Raises:
            SlackFatal: ``not_installed``: no installation at all (multi-workspace mode).
        """
        if self.workspaces is None:
            return self.client
        token = None
        for slack_id in ids:
            if slack_id and (token := await self.workspaces.token_for(slack_id)):
                break
        token = token or await self.workspaces.any_token()
        if token is None:
            raise SlackFatal("auth", "not_installed")
        if token not in self._clients:
            self._clients[token] = AsyncWebClient(
                token=token,
                base_url=self.client.base_url,
                session=self.client.session,
                timeout=self.client.timeout,
                retry_handlers=self.client.retry_handlers,
            )
        return self._clients[token]

    async def user(self, user_id: str) -> SlackUser | None:
        """The person with this id, or ``None`` when Slack does not know them.

        Answers are kept for ``user_ttl`` seconds: a thread's authors and a busy
        submitter are looked up once, not at every message (``users.info`` is rate-limited).
        """
        cached = self._users.get(user_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        person = await self._user(user_id)
        if len(self._users) > 10_000:  # a bound, not an eviction policy
            self._users.clear()
        self._users[user_id] = (time.monotonic() + self.user_ttl, person)
        return person

    async def _user(self, user_id: str) -> SlackUser | None:
        try:
            with map_slack_errors("users.info"):
                data = (await (await self.api(user_id)).users_info(user=user_id))["user"]
        except SlackFatal as exc:
            if exc.error == "user_not_found":
                return None
            raise
        profile = data.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or user_id
        )
        return SlackUser(
            id=user_id,
            name=str(name),
            email=profile.get("email"),
            team_id=data.get("team_id"),
            is_bot=bool(data.get("is_bot")) or user_id == "USLACKBOT",
        )

    async def thread_of(
        self, channel: str, ts: str, *, limit: int = 200
    ) -> tuple[SlackMessage, list[SlackMessage]]:
        """The message ``ts`` and its whole thread (parent first), matched by exact ts.

        ``reaction_added`` carries no ``thread_ts``, so a reply is recognised by the
        ``thread_ts`` Slack returns for it, and then the parent's thread is read.

        Raises:
            SlackFatal: ``message_not_found`` when no message has that ts.
        """
        first = await self._replies(channel, ts, limit=limit)
        target = next((m for m in first if m.ts == ts), None)
        if target is None:
            raise SlackFatal("conversations.replies", "message_not_found")
        if target.thread_ts and target.thread_ts != ts:  # a reply: read its parent's thread
            thread = await self._replies(channel, target.thread_ts, limit=limit)
        else:
            thread = first
        return target, thread

    async def _replies(self, channel: str, ts: str, *, limit: int) -> list[SlackMessage]:
        messages: list[SlackMessage] = []
        with map_slack_errors("conversations.replies"):
            pages: AsyncIterator[Any] = await (await self.api(channel)).conversations_replies(
                channel=channel, ts=ts, limit=min(limit, 200)
            )
            async for page in pages:
                for data in page.get("messages", []):
                    message = SlackMessage.from_api(data)
                    if all(m.ts != message.ts for m in messages):
                        messages.append(message)
                if len(messages) >= limit:
                    break
        return messages[:limit]

    async def add_reaction(self, channel: str, ts: str, name: str) -> None:
        """React to a message (already reacted counts as done)."""
        with map_slack_errors("reactions.add", ignore=("already_reacted",)):
            await (await self.api(channel)).reactions_add(channel=channel, timestamp=ts, name=name)

    async def permalink(self, channel: str, ts: str) -> str | None:
        """A link to a message (``None`` when Slack has none for it)."""
        try:
            with map_slack_errors("chat.getPermalink"):
                client = await self.api(channel)
                answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
            return str(answer["permalink"])
        except SlackFatal as exc:
            if exc.error in ("message_not_found", "channel_not_found"):
                return None
            raise

    async def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with a person (opened once, then remembered)."""
        if user_id not in self._dm_channels:
            with map_slack_errors("conversations.open"):
                answer = await (await self.api(user_id)).conversations_open(users=user_id)
            dm = str(answer["channel"]["id"])
            if self.workspaces is not None:
                await self.workspaces.alias(dm, user_id)
            self._dm_channels[user_id] = dm
        return self._dm_channels[user_id]

    async def post(
        self,
        channel: str,
        text: str,
        blocks: Sequence[dict[str, Any]] = (),
        *,
        thread_ts: str | None = None,
        key: str | None = None,
    ) -> tuple[str, str]:
        """Post a message; returns its channel and ts.

        Args:
            channel: A channel id.
            text: The notification text (and the fallback for ``blocks``).
            blocks: Block Kit blocks.
            thread_ts: Reply in this thread.
            key: Stored in the message's metadata, to find it again (:meth:`find_posted`).
        """
        extra: dict[str, Any] = {}
        if key is not None:
            extra["metadata"] = {"event_type": "feedback_bot_post", "event_payload": {"key": key}}
        with map_slack_errors("chat.postMessage"):
            client = await self.api(channel)
            answer = await client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=list(blocks) or None,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        return str(answer["channel"]), str(answer["ts"])

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None = None, limit: int = 100
    ) -> str | None:
        """The ts of a recent message the bot posted with ``key`` in its metadata."""
        if thread_ts is not None:
            with map_slack_errors("conversations.replies"):
                answer = await (await self.api(channel)).conversations_replies(
                    channel=channel, ts=thread_ts, limit=limit, include_all_metadata=True
                )
        else:
            with map_slack_errors("conversations.history"):
                answer = await (await self.api(channel)).conversations_history(
                    channel=channel, limit=limit, include_all_metadata=True
                )
        messages: list[dict[str, Any]] = answer.get("messages", [])
        for message in messages:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(message["ts"])
        return None

    async def update(
        self, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Replace a message the bot posted."""
        with map_slack_errors("chat.update"):
            client = await self.api(channel)
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=list(blocks))

    async def channel_name(self, channel: str) -> str:
        """A channel's name (its id when Slack will not say)."""
        try:
            with map_slack_errors("conversations.info"):
                client = await self.api(channel)
                info = (await client.conversations_info(channel=channel))["channel"]
        except SlackFatal:
            return channel
        return str(info.get("name") or channel)
