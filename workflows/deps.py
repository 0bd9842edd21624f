"""The collaborators steps use: database, Slack, matcher, LLM and settings.

Whoever runs the worker builds one :class:`Deps` and sets it around the worker::

    async with open_deps(settings) as deps, Engine(settings.database_url) as engine:
        with use_deps(deps):
            async with engine.worker():
                ...

Steps call :func:`current` to find them (a ``ContextVar``, inherited by the worker's
tasks), so tests and the demo swap any of them without touching module globals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from agents import CachedEmbedder, Embedder, LLMClient, LLMConfig, Matcher, get_embedder
from feedback import accounts
from feedback.database import Database
from feedback.settings import Settings
from workflows.matching import IndexSync, ThresholdsSync, load_index, sync_thresholds
from workflows.slack import Slack, map_slack_errors

__all__ = ["Deps", "current", "open_deps", "use_deps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    """What steps work with.

    Attributes:
        db: The domain database.
        slack: Outbound Slack calls.
        matcher: Embeds and matches feedback against requests.
        settings: The settings read at start-up.
        llm: The LLM client, or ``None`` for the offline fallbacks.
        team_id: The bot's own workspace (people from others are customers).
        bot_user_id: The bot's own user id (its messages are never feedback).
    """

    db: Database
    slack: Slack
    matcher: Matcher
    settings: Settings
    llm: LLMClient | None = None
    team_id: str | None = None
    bot_user_id: str | None = None
    index_sync: IndexSync = field(default_factory=IndexSync)
    thresholds_sync: ThresholdsSync = field(default_factory=ThresholdsSync)
    accounts: AccountNames = field(default_factory=lambda: AccountNames())

    @property
    def embedder(self) -> Embedder:
        """The matcher's embedder."""
        return self.matcher.embedder

    async def is_our_team(self, team_id: str | None) -> bool:
        """Whether people of ``team_id`` are colleagues (else customers, e.g. in Slack
        Connect channels): the bot's workspace, or any that installed the app."""
        if team_id is None:
            return True
        if self.slack.workspaces is not None:
            return team_id in await self.slack.workspaces.teams()
        return self.team_id is None or team_id == self.team_id

    async def is_bot_user(self, user_id: str | None) -> bool:
        """Whether ``user_id`` is the bot itself (in any installed workspace)."""
        if self.slack.workspaces is not None:
            return user_id in await self.slack.workspaces.bot_users()
        return user_id is not None and user_id == self.bot_user_id


@dataclass
class AccountNames:
    """Customer accounts by name, re-read at most every ``ttl`` seconds.

    Every extraction looks for a known account named in the text; accounts change
    only on import, so a minute's delay is the price of not reading them per message.
    """

    ttl: float = 60.0
    _names: dict[str, str] = field(default_factory=dict)
    _expires: float = 0.0

    async def by_name(self, db: Database) -> dict[str, str]:
        """Account ids by name, the largest accounts first (at most 500)."""
        if time.monotonic() >= self._expires:
            async with db.read() as conn:
                known = await accounts.listing(conn, limit=500)
            self._names = {a.name: a.id for a in known}
            self._expires = time.monotonic() + self.ttl
        return self._names


_current: ContextVar[Deps] = ContextVar("feedback_bot_deps")


@contextmanager
def use_deps(deps: Deps) -> Iterator[Deps]:
    """Make ``deps`` what steps see, in this context and the tasks it starts."""
    token = _current.set(deps)
    try:
        yield deps
    finally:
        _current.reset(token)


def current() -> Deps:
    """The collaborators of the running worker.

    Raises:
        RuntimeError: No one set them; start the worker inside ``use_deps(deps)``.
    """
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError(
            "no dependencies are set for the workflows: start the worker inside "
            "`with use_deps(deps):` (see workflows.deps.open_deps)"
        ) from None


@asynccontextmanager
async def open_deps(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    llm: LLMClient | None = None,
) -> AsyncIterator[Deps]:
    """Open the database, the Slack client and the matcher for a worker.

    Args:
        settings: The settings.
        embedder: Override the configured embedder (tests use a fake).
        llm: Override the LLM client built from the settings.
    """
    db = Database(settings.database_url)
    session = aiohttp.ClientSession()
    try:
        slack = Slack.connect(
            settings.slack_bot_token.get_secret_value(), settings.slack_api_url, session=session
        )
        me: dict[str, Any] = {}
        if slack.client.token:  # single-workspace mode: whose token is it?
            with map_slack_errors("auth.test"):
                me = dict((await slack.client.auth_test()).data)  # type: ignore[arg-type]
        deps = Deps(
            db=db,
            slack=slack,
            matcher=Matcher(CachedEmbedder(embedder or get_embedder(settings.embedder))),
            settings=settings,
            llm=llm if llm is not None else _llm(settings),
            team_id=me.get("team_id"),
            bot_user_id=me.get("user_id"),
        )
        indexed = await load_index(deps)
        used = await sync_thresholds(deps, force=True)
        logger.info(
            "matcher ready: %d requests indexed; thresholds %r (%s)",
            indexed,
            used,
            deps.thresholds_sync.source,
        )
        yield deps
    finally:
        await session.close()
        await db.close()


def _llm(settings: Settings) -> LLMClient | None:
    key = settings.openai_api_key.get_secret_value()
    if not key:
        return None
    return LLMClient(
        LLMConfig(api_key=key, model=settings.openai_model, base_url=settings.openai_base_url)
    )
