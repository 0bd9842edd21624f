"""Multi-workspace mode: installations through OAuth, and which token reaches what.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set, the app serves Slack's
install flow (``/slack/install`` and ``/slack/oauth_redirect``) and keeps each
workspace's installation in slack_sdk's SQLAlchemy stores (tables made by the
migrations). Bolt finds the right token for each request by itself; the workflows
find it through :class:`InstalledWorkspaces`: every request tells which workspace
its channel and people belong to (:meth:`InstalledWorkspaces.remember`), and a
channel or person maps to the installation that reaches it.

All workspaces share one backlog: this is one company with several workspaces (or a
Grid), not a service for strangers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import select

from feedback._util import insert_ignore, utcnow
from feedback.database import Database
from feedback.schema import slack_bots, slack_workspaces

__all__ = ["BOT_SCOPES", "InstalledWorkspaces", "oauth_stores"]

BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users:read.email",
)
"""The bot scopes an install asks for (``manifest.yml`` lists the same)."""


def oauth_stores(
    db: Database, client_id: str
) -> tuple[AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore]:
    """slack_sdk's installation and OAuth-state stores on the bot's database."""
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=db.writer)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=db.writer)
    return installations, states


@dataclass
class InstalledWorkspaces:
    """The installations, as the workflows' Slack calls need them (see ``Workspaces``).

    Args:
        db: The bot's database (installations and the workspace of each id).
        client_id: The app's client id (installations are kept per app).
        ttl: Seconds an installation's token and the list of workspaces are cached.
    """

    db: Database
    client_id: str
    ttl: float = 60.0
    _teams_of: dict[str, str] = field(default_factory=dict, repr=False)
    _bots: dict[str, tuple[str, str | None]] = field(default_factory=dict, repr=False)
    _bots_until: float = field(default=0.0, repr=False)

    async def remember(self, team_id: str | None, *slack_ids: str | None) -> None:
        """Note that ``slack_ids`` (a channel, a person) are reached through ``team_id``."""
        new = [i for i in slack_ids if i and team_id and self._teams_of.get(i) != team_id]
        if not new or team_id is None:
            return
        async with self.db.transaction() as conn:
            for slack_id in new:
                row = {"slack_id": slack_id, "team_id": team_id, "updated_at": utcnow()}
                moved = await conn.execute(
                    slack_workspaces.update()
                    .where(slack_workspaces.c.slack_id == slack_id)
                    .values(team_id=team_id, updated_at=row["updated_at"])
                )
                if not moved.rowcount:
                    await insert_ignore(conn, slack_workspaces, row)
        self._teams_of.update(dict.fromkeys(new, team_id))

    async def token_for(self, slack_id: str) -> str | None:
        team = self._teams_of.get(slack_id)
        if team is None:
            async with self.db.read() as conn:
                found = await conn.execute(
                    select(slack_workspaces.c.team_id).where(
                        slack_workspaces.c.slack_id == slack_id
                    )
                )
                team = found.scalar_one_or_none()
            if team is None:
                return None
            self._teams_of[slack_id] = team
        bot = (await self._installed()).get(team)
        return bot[0] if bot else None

    async def any_token(self) -> str | None:
        bots = await self._installed()
        return next(iter(bots.values()))[0] if bots else None

    async def alias(self, new_id: str, known_id: str) -> None:
        team = self._teams_of.get(known_id)
        if team is None and await self.token_for(known_id) is not None:
            team = self._teams_of.get(known_id)
        await self.remember(team, new_id)

    async def teams(self) -> frozenset[str]:
        return frozenset(await self._installed())

    async def bot_users(self) -> frozenset[str]:
        return frozenset(user for _, user in (await self._installed()).values() if user)

    async def _installed(self) -> dict[str, tuple[str, str | None]]:
        """Each installed team's newest bot token and bot user, the newest install first."""
        if time.monotonic() < self._bots_until:
            return self._bots
        query = (
            select(slack_bots.c.team_id, slack_bots.c.bot_token, slack_bots.c.bot_user_id)
            .where(slack_bots.c.client_id == self.client_id)
            .order_by(slack_bots.c.installed_at.desc(), slack_bots.c.id.desc())
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        bots: dict[str, tuple[str, str | None]] = {}
        for team, token, user in rows:
            if team and token and team not in bots:
                bots[team] = (token, user)
        self._bots, self._bots_until = bots, time.monotonic() + self.ttl
        return bots

    async def knows(self, team_id: str | None) -> bool:
        """Whether ``team_id`` installed the app (read again when it seems not to have)."""
        if team_id is None or team_id in self._bots:
            return team_id is not None
        self._bots_until = 0.0  # a new install since the last read?
        return team_id in await self._installed()
