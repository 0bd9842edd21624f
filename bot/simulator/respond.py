"""``response_url``: the one-off webhook Slack hands an app with each interaction.

:class:`ResponseUrls` keeps the URLs the simulator minted; :func:`respond` applies one
POST to the workspace. Both are pure (no I/O); the server maps a refusal to its HTTP
status with :data:`STATUS`.

What Slack documents (docs.slack.dev/interactivity/handling-user-interaction, "message
responses"; /work/shared/reference/slack.md §3): a ``response_url`` takes up to **5**
responses within **30 minutes**; the JSON body is a message (``text``, ``blocks``,
``thread_ts``) plus ``response_type`` (``ephemeral``, the default, or ``in_channel``),
``replace_original`` and ``delete_original``.

What Slack does *not* document, and the simulator therefore chooses (change it when a
real capture says otherwise):

- past the limits it answers HTTP 404 with ``{"ok": false, "error": "expired_url"}``
  (after 30 minutes) or ``"used_url"`` (after 5 uses), and ``"no_service"`` for a URL
  it never minted (the incoming-webhook answer to an unknown URL); a success is HTTP 200
  ``{"ok": true}``;
- only accepted responses count as uses;
- ``replace_original`` replaces the original when the app may edit it: the bot's own
  message, or an ephemeral it showed; on a person's message (a message shortcut's URL)
  or with no original, the response is posted as new instead;
- ``delete_original`` with nothing to delete is a no-op.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.simulator.blocks import check_message_blocks
from bot.simulator.errors import SlackError
from bot.simulator.state import Workspace

MAX_USES = 5
"""Responses one URL accepts."""

LIFETIME = 30 * 60
"""Seconds a URL lives."""

STATUS: Mapping[str, int] = {
    "expired_url": 404,
    "used_url": 404,
    "no_service": 404,
    "channel_not_found": 404,
    "user_not_found": 404,
}
"""HTTP status per refusal; any other refusal (``no_text``, ``invalid_blocks``…) is 400."""


@dataclass
class ResponseUrl:
    """A minted URL: where its responses go, and how much of it is used up.

    Attributes:
        id: The last path segment of ``/_sim/respond/<id>``.
        team_id: The workspace it answers in.
        channel: Where responses go (``None``: only ``replace``/``delete_original`` work).
        message_ts: The original message (or ephemeral) the interaction came from.
        user: Who acted: ephemeral responses are for them.
        created: Clock time of minting.
        uses: Responses accepted so far.
    """

    id: str
    team_id: str
    channel: str | None
    message_ts: str | None
    user: str | None
    created: float
    uses: int = 0


class ResponseUrls:
    """The URLs minted so far, by id.

    Args:
        clock: Seconds since the epoch (the workspace's), for the 30-minute lifetime.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._urls: dict[str, ResponseUrl] = {}

    def mint(
        self, team_id: str, channel: str | None, message_ts: str | None, user: str | None
    ) -> ResponseUrl:
        """A new URL for an interaction in ``channel`` on ``message_ts`` by ``user``."""
        url_id = f"{team_id}-{len(self._urls) + 1}-{secrets.token_urlsafe(12)}"
        url = ResponseUrl(url_id, team_id, channel, message_ts, user, self._clock())
        self._urls[url_id] = url
        return url

    def use(self, url_id: str) -> ResponseUrl:
        """The URL, if it may still answer.

        Raises:
            SlackError: ``no_service`` (never minted), ``expired_url``, ``used_url``.
        """
        url = self._urls.get(url_id)
        if url is None:
            raise SlackError("no_service", [f"no response_url {url_id!r} was minted"])
        if self._clock() - url.created > LIFETIME:
            raise SlackError("expired_url", [f"a response_url lives {LIFETIME // 60} minutes"])
        if url.uses >= MAX_USES:
            raise SlackError("used_url", [f"a response_url takes {MAX_USES} responses"])
        return url


def respond(ws: Workspace, url: ResponseUrl, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one response to the workspace and count the use.

    Raises:
        SlackError: ``no_text`` without text or blocks, ``invalid_blocks``,
            ``channel_not_found``/``user_not_found`` when the URL lacks where or whom.
    """
    if _flag(body.get("delete_original")):
        _delete_original(ws, url)
    else:
        text, blocks = _content(body)
        replaced = _flag(body.get("replace_original")) and _replace_original(ws, url, text, blocks)
        if not replaced:
            _post(ws, url, body, text, blocks)
    url.uses += 1
    return {"ok": True}


def _content(body: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    text = body.get("text")
    blocks = check_message_blocks(body.get("blocks"))
    if not text and not blocks:
        raise SlackError("no_text", ["a response needs `text` or `blocks`"])
    return ("" if text is None else str(text)), blocks


def _replace_original(
    ws: Workspace, url: ResponseUrl, text: str, blocks: list[dict[str, Any]] | None
) -> bool:
    if url.message_ts is None:
        return False
    if ws.replace_ephemeral(url.message_ts, text=text, blocks=blocks) is not None:
        return True
    if url.channel is None or url.channel not in ws.channels:
        return False
    original = ws.channels[url.channel].messages.get(url.message_ts)
    if original is None or original.user != ws.bot_user_id:
        return False
    ws.update(url.channel, url.message_ts, ws.bot_user_id, text=text, blocks=blocks or [])
    return True


def _delete_original(ws: Workspace, url: ResponseUrl) -> None:
    if url.message_ts is None:
        return
    ws.ephemerals[:] = [e for e in ws.ephemerals if e.ts != url.message_ts]
    if url.channel in ws.channels and url.message_ts in ws.channels[url.channel].messages:
        ws.delete(url.channel, url.message_ts)


def _post(
    ws: Workspace,
    url: ResponseUrl,
    body: Mapping[str, Any],
    text: str,
    blocks: list[dict[str, Any]] | None,
) -> None:
    if url.channel is None:
        raise SlackError("channel_not_found", ["this response_url was minted without a channel"])
    thread_ts = body.get("thread_ts") or None
    if body.get("response_type") == "in_channel":
        ws.post(url.channel, ws.bot_user_id, text, blocks=blocks, thread_ts=thread_ts)
        return
    if url.user is None:
        raise SlackError("user_not_found", ["an ephemeral response needs the URL's user"])
    ws.add_ephemeral(
        url.channel, url.user, text, blocks=blocks, thread_ts=thread_ts, check_member=False
    )


def _flag(value: Any) -> bool:
    """A JSON boolean, or its string form as a form-encoded body carries it."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true")
