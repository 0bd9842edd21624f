"""The app's OAuth side: install approvals, their one-time codes, and ``oauth.v2.access``.

The simulator knows one app (``client_id``, ``client_secret``, ``app_id``). A test plays
the person who approves the install in Slack with :meth:`OAuthApp.approve`, which
returns the ``code`` Slack would put on the redirect; the app then redeems it with
``oauth.v2.access`` and gets a bot token that every other method accepts.

Slack's rules, as its documentation gives them (docs.slack.dev/reference/methods/
oauth.v2.access, docs.slack.dev/authentication/installing-with-oauth):

- the client's id and secret come as HTTP Basic auth (preferred) or as form fields;
- a code is used once and lives 10 minutes (``invalid_code`` otherwise);
- ``redirect_uri``, when the authorization carried one, must be sent again and match
  (``bad_redirect_uri``);
- an unknown ``client_id`` is ``invalid_client_id``, a wrong secret ``bad_client_secret``.

The answer's shape follows the method's documented example (and the same fixture in
``slackapi/bolt-python`` ``tests/mock_web_api_server/mock_handler.py``): ``access_token``
(``xoxb-…``), ``token_type: bot``, ``scope``, ``bot_user_id``, ``app_id``, ``team``,
``enterprise``, ``authed_user``, ``is_enterprise_install``. Not modelled: user tokens
(``user_scope``), token rotation (``refresh_token`` grants are refused), Enterprise Grid.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.simulator.errors import SlackError

CODE_LIFETIME = 10 * 60
"""Seconds an authorization code may wait to be redeemed."""

DEFAULT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "commands",
    "groups:history",
    "im:history",
    "im:write",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users:read.email",
)
"""The bot scopes of the Feedback Bot's manifest (/work/shared/reference/slack.md §5)."""


@dataclass(frozen=True)
class Grant:
    """An approved install, waiting for its code to be redeemed.

    Attributes:
        code: The one-time code.
        team_id: The workspace the app is installed in.
        team_name: Its name (``team.name`` in the answer).
        user_id: Who approved it (``authed_user.id``).
        bot_user_id: The app's bot user in that workspace.
        scopes: The bot scopes granted.
        redirect_uri: The ``redirect_uri`` of the authorization, if it had one.
        expires: Clock time after which the code is refused.
    """

    code: str
    team_id: str
    team_name: str
    user_id: str
    bot_user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    expires: float


class OAuthApp:
    """The simulated app's credentials and its pending grants.

    Args:
        client_id: The app's client id.
        client_secret: Its client secret.
        clock: Seconds since the epoch, for the codes' lifetime.
    """

    def __init__(self, client_id: str, client_secret: str, clock: Callable[[], float]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._clock = clock
        self._grants: dict[str, Grant] = {}
        self._issued = 0

    def __repr__(self) -> str:
        return f"<OAuthApp {self.client_id} pending={len(self._grants)}>"

    def approve(
        self,
        team_id: str,
        *,
        team_name: str,
        user_id: str,
        bot_user_id: str,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        redirect_uri: str | None = None,
    ) -> str:
        """Someone approved the install in ``team_id``: the one-time code for the redirect."""
        self._issued += 1
        code = f"{int(self._clock())}.{self._issued}.{secrets.token_hex(32)}"
        expires = self._clock() + CODE_LIFETIME
        grant = Grant(
            code, team_id, team_name, user_id, bot_user_id, tuple(scopes), redirect_uri, expires
        )
        self._grants[code] = grant
        return code

    def redeem(self, values: Mapping[str, Any], basic: tuple[str, str] | None) -> Grant:
        """Check an ``oauth.v2.access`` call and use up its code.

        Args:
            values: The call's arguments (``client_id``, ``client_secret``, ``code``,
                ``redirect_uri``, ``grant_type``…).
            basic: The ``(client_id, client_secret)`` of HTTP Basic auth, if sent.

        Raises:
            SlackError: ``invalid_client_id``, ``bad_client_secret``, ``invalid_code``,
                ``bad_redirect_uri``; ``invalid_grant_type`` for token rotation.
        """
        client_id, secret = basic or (values.get("client_id"), values.get("client_secret"))
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if secret != self.client_secret:
            raise SlackError("bad_client_secret")
        if values.get("grant_type") not in (None, "", "authorization_code"):
            why = "the simulator does not rotate tokens (no refresh_token grants)"
            raise SlackError("invalid_grant_type", [why])
        grant = self._grants.pop(str(values.get("code") or ""), None)
        if grant is None or self._clock() > grant.expires:
            raise SlackError("invalid_code")
        if grant.redirect_uri is not None and values.get("redirect_uri") != grant.redirect_uri:
            raise SlackError("bad_redirect_uri")
        return grant


def access_json(grant: Grant, *, token: str, app_id: str) -> dict[str, Any]:
    """The ``oauth.v2.access`` answer for a redeemed grant and its bot token."""
    return {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": ",".join(grant.scopes),
        "bot_user_id": grant.bot_user_id,
        "app_id": app_id,
        "team": {"name": grant.team_name, "id": grant.team_id},
        "enterprise": None,
        "authed_user": {"id": grant.user_id},
        "is_enterprise_install": False,
    }
