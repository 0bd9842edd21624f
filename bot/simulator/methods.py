"""One handler per Slack Web API method: pure functions from state and arguments to an answer.

A handler takes the :class:`~bot.simulator.state.Workspace` and the call's
:class:`Args` and returns Slack's ``ok: true`` answer, or raises
:class:`~bot.simulator.errors.SlackError` with Slack's error code. ``METHODS`` maps
each served method name to its handler; the server answers any other name
``unknown_method``.

Semantics that matter to the bot (Slack's, as far as its documentation and the
reference notes go):

- ``conversations.history`` returns top-level messages only, newest first; ``latest``
  and ``oldest`` are exclusive bounds unless ``inclusive``; ``limit`` defaults to 100
  (at most 999). Thread parents carry ``thread_ts``, ``reply_count``, ``reply_users``
  and ``latest_reply``. Message ``metadata`` only with ``include_all_metadata``.
- ``conversations.replies`` with a parent's ``ts`` returns the parent, then its
  replies oldest first; ``latest``/``oldest`` bound the replies; ``limit`` defaults
  to 1000. Continuation pages do not repeat the parent. With a reply's ``ts`` it
  returns that reply alone (carrying ``thread_ts`` and ``parent_user_id``).
- Pages end with ``has_more: false`` and no ``response_metadata``; otherwise
  ``response_metadata.next_cursor`` is an opaque cursor (``invalid_cursor`` if forged).
- ``chat.postMessage`` takes a channel id, a ``#name`` or a user id (posting into
  the bot's DM with that user, answered with the ``D…`` id); it needs ``text`` or
  ``blocks`` (``no_text``); attachments are not modelled.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from bot.simulator.blocks import check_message_blocks, check_view
from bot.simulator.errors import SlackError
from bot.simulator.shapes import channel_json, im_json, message_json, user_json, view_json
from bot.simulator.state import Channel, Message, Workspace, ts_to_micros

MAX_TEXT = 40_000


class Args:
    """A call's arguments (query string and body merged), read with Slack's coercions.

    Form bodies carry strings only; JSON bodies may carry booleans, numbers and
    objects. The accessors accept both.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def __repr__(self) -> str:
        return f"Args({self.values!r})"

    def text(self, name: str) -> str:
        """The argument as a string; ``""`` when absent."""
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def optional(self, name: str) -> str | None:
        """The argument as a string, or ``None`` when absent or empty."""
        return self.text(name) or None

    def flag(self, name: str) -> bool:
        """A boolean argument: ``true``, ``1`` (and JSON ``true``) mean yes."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return self.text(name).strip().lower() in ("1", "true")

    def number(self, name: str, default: int) -> int:
        """A whole-number argument. Raises ``SlackError("invalid_arguments")``."""
        raw = self.text(name).strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            raise SlackError("invalid_arguments", [f"`{name}` must be a number"]) from None


Handler = Callable[[Workspace, Args], dict[str, Any]]


# --- auth and users ----------------------------------------------------------------


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    """``auth.test``: who the token belongs to."""
    bot = ws.users[ws.bot_user_id]
    return {
        "ok": True,
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team_name,
        "user": bot.name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    """``users.info``: a user with ``profile.email``; ``user_not_found``."""
    return {"ok": True, "user": user_json(ws, ws.user(args.text("user")))}


def users_lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    """``users.lookupByEmail``: the user with that email; ``users_not_found``."""
    return {"ok": True, "user": user_json(ws, ws.user_by_email(args.text("email")))}


# --- conversations -------------------------------------------------------------------


def conversations_info(ws: Workspace, args: Args) -> dict[str, Any]:
    """``conversations.info``: a channel or DM the bot can see; ``channel_not_found``."""
    channel = ws.visible_channel(args.text("channel"))
    body = channel_json(ws, channel, num_members=args.flag("include_num_members"))
    return {"ok": True, "channel": body}


def conversations_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """``conversations.open``: the bot's DM with one user (``users=U…``), stable per user."""
    users = [u.strip() for u in args.text("users").split(",") if u.strip()]
    if not users and args.optional("channel"):
        channel = ws.visible_channel(args.text("channel"))
        if not channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        return _opened(channel, already_open=True, full=args.flag("return_im"))
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        why = "the simulator opens one-to-one DMs only (no group DMs)"
        raise SlackError("invalid_arguments", [why])
    channel, already_open = ws.open_dm(users[0])
    return _opened(channel, already_open=already_open, full=args.flag("return_im"))


def _opened(channel: Channel, *, already_open: bool, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": True}
    if already_open:
        body |= {"no_op": True, "already_open": True}
    body["channel"] = im_json(channel) if full else {"id": channel.id}
    return body


def conversations_history(ws: Workspace, args: Args) -> dict[str, Any]:
    """``conversations.history``: top-level messages, newest first, paginated."""
    channel = ws.member_channel(args.text("channel"))
    latest, oldest = _bounds(args)
    inclusive = args.flag("inclusive")
    candidates = [
        m
        for m in reversed(ws.top_level(channel.id))
        if _in_range(ts_to_micros(m.ts), latest, oldest, inclusive)
    ]
    after = _cursor(args)
    if after is not None:
        candidates = [m for m in candidates if ts_to_micros(m.ts) <= after]
    limit = _limit(args, default=100, most=999)
    body = _page(ws, candidates, limit, metadata=args.flag("include_all_metadata"))
    return body | {"pin_count": 0}


def conversations_replies(ws: Workspace, args: Args) -> dict[str, Any]:
    """``conversations.replies``: a thread by its parent's ``ts``, or one reply by its own."""
    channel = ws.member_channel(args.text("channel"))
    target = channel.messages.get(args.text("ts"))
    if target is None:
        raise SlackError("thread_not_found")
    metadata = args.flag("include_all_metadata")
    if target.is_reply:
        return _page(ws, [target], 1, metadata=metadata)
    latest, oldest = _bounds(args)
    inclusive = args.flag("inclusive")
    replies = [
        channel.messages[ts]
        for ts in target.replies
        if _in_range(ts_to_micros(ts), latest, oldest, inclusive)
    ]
    after = _cursor(args)
    if after is None:
        candidates = [target, *replies]
    else:
        candidates = [m for m in replies if ts_to_micros(m.ts) >= after]
    limit = _limit(args, default=1000, most=1000)
    return _page(ws, candidates, limit, metadata=metadata)


def _bounds(args: Args) -> tuple[int | None, int | None]:
    bounds: list[int | None] = []
    for name in ("latest", "oldest"):
        raw = args.optional(name)
        try:
            bounds.append(None if raw is None else ts_to_micros(raw))
        except ValueError:
            raise SlackError(f"invalid_ts_{name}") from None
    return bounds[0], bounds[1]


def _in_range(micros: int, latest: int | None, oldest: int | None, inclusive: bool) -> bool:
    if latest is not None and (micros > latest or (micros == latest and not inclusive)):
        return False
    return oldest is None or micros > oldest or (micros == oldest and inclusive)


def _limit(args: Args, *, default: int, most: int) -> int:
    limit = args.number("limit", default)
    return default if limit <= 0 else min(limit, most)


def _cursor(args: Args) -> int | None:
    """The ``ts`` (in microseconds) a cursor resumes from; ``None`` for the first page."""
    cursor = args.optional("cursor")
    if cursor is None:
        return None
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
        prefix, _, micros = decoded.partition(":")
        if prefix != "next_ts":
            raise ValueError(decoded)
        return int(micros)
    except (ValueError, binascii.Error):
        raise SlackError("invalid_cursor") from None


def _page(
    ws: Workspace, candidates: list[Message], limit: int, *, metadata: bool
) -> dict[str, Any]:
    page = candidates[:limit]
    body: dict[str, Any] = {
        "ok": True,
        "messages": [message_json(ws, m, metadata=metadata) for m in page],
        "has_more": len(candidates) > limit,
    }
    if body["has_more"]:
        following = str(ts_to_micros(candidates[limit].ts))
        cursor = base64.b64encode(f"next_ts:{following}".encode()).decode()
        body["response_metadata"] = {"next_cursor": cursor}
    return body


# --- chat ----------------------------------------------------------------------------


def chat_post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    """``chat.postMessage``: post as the bot into a channel, a thread or a DM."""
    channel = _post_target(ws, args.text("channel"))
    text, blocks = _content(args)
    message = ws.post(
        channel.id,
        ws.bot_user_id,
        text or "",
        blocks=blocks,
        metadata=_metadata(args),
        thread_ts=args.optional("thread_ts"),
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": message_json(ws, message),
    }


def _post_target(ws: Workspace, target: str) -> Channel:
    if target[:1] in ("U", "W") and target in ws.users:
        return ws.open_dm(target)[0]
    if target not in ws.channels:
        named = ws.find_by_name(target)
        target = named.id if named is not None else target
    return ws.member_channel(target)


def _content(args: Args) -> tuple[str | None, list[dict[str, Any]] | None]:
    """``text`` and ``blocks``: at least one is needed (``no_text``)."""
    text = args.values.get("text")
    text = None if text is None else str(text)
    blocks = check_message_blocks(args.values.get("blocks"))
    if not text and not blocks:
        raise SlackError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text, blocks


def _metadata(args: Args) -> dict[str, Any] | None:
    metadata = args.values.get("metadata")
    if metadata is None or metadata == "":
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        why = "metadata must be an object with event_type (string) and event_payload (object)"
        raise SlackError("invalid_metadata_format", [why])
    return metadata


def chat_post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    """``chat.postEphemeral``: a message one member sees; ``user_not_in_channel``."""
    channel = ws.member_channel(args.text("channel"))
    text, blocks = _content(args)
    ephemeral = ws.add_ephemeral(
        channel.id,
        args.text("user"),
        text or "",
        blocks=blocks,
        thread_ts=args.optional("thread_ts"),
    )
    return {"ok": True, "message_ts": ephemeral.ts}


def chat_update(ws: Workspace, args: Args) -> dict[str, Any]:
    """``chat.update``: edit one of the bot's own messages (``cant_update_message``)."""
    channel = ws.visible_channel(args.text("channel"))
    ws.message(channel.id, args.text("ts"))
    text, blocks = _content(args)
    message = ws.update(
        channel.id,
        args.text("ts"),
        ws.bot_user_id,
        text=text,
        blocks=blocks,
        metadata=_metadata(args),
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message_json(ws, message),
    }


def chat_get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    """``chat.getPermalink``: a message's URL, in the thread form for replies."""
    channel = ws.visible_channel(args.text("channel"))
    message = ws.message(channel.id, args.text("message_ts"))
    return {"ok": True, "channel": channel.id, "permalink": permalink(ws, message)}


def permalink(ws: Workspace, message: Message) -> str:
    """Slack's permalink of a message: ``https://<domain>.slack.com/archives/<C>/p<ts>``."""
    url = f"https://{ws.domain}.slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}"
    if message.thread_ts is not None:
        url += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return url


def reactions_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """``reactions.add``: the bot reacts; ``already_reacted``, ``message_not_found``."""
    channel = ws.visible_channel(args.text("channel"))
    if not args.optional("timestamp"):
        raise SlackError("no_item_specified")
    ws.react(channel.id, args.text("timestamp"), ws.bot_user_id, args.text("name"))
    return {"ok": True}


# --- views ---------------------------------------------------------------------------


def views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """``views.open``: open a modal; needs a ``trigger_id``."""
    trigger_id = args.optional("trigger_id")
    if trigger_id is None:
        raise SlackError("invalid_arguments", ["invalid `trigger_id`"])
    spec = check_view(args.values.get("view"), types=("modal",))
    return {"ok": True, "view": view_json(ws, ws.open_view(spec, trigger_id))}


def views_publish(ws: Workspace, args: Args) -> dict[str, Any]:
    """``views.publish``: a user's Home tab; ``hash_conflict`` for a stale ``hash``."""
    user_id = args.text("user_id")
    if user_id not in ws.users:
        raise SlackError("invalid_arguments", ["invalid `user_id`"])
    spec = check_view(args.values.get("view"), types=("home",))
    view = ws.publish_home(user_id, spec, args.optional("hash"))
    return {"ok": True, "view": view_json(ws, view)}


def views_update(ws: Workspace, args: Args) -> dict[str, Any]:
    """``views.update``: replace a view by ``view_id`` or ``external_id``."""
    view_id, external_id = args.optional("view_id"), args.optional("external_id")
    if view_id is None and external_id is None:
        raise SlackError("invalid_arguments", ["one of `view_id` or `external_id` is required"])
    view = ws.find_view(view_id, external_id)
    spec = check_view(args.values.get("view"), types=(view.type,))
    view = ws.update_view(view, spec, args.optional("hash"))
    return {"ok": True, "view": view_json(ws, view)}


METHODS: Mapping[str, Handler] = MappingProxyType(
    {
        "auth.test": auth_test,
        "chat.getPermalink": chat_get_permalink,
        "chat.postEphemeral": chat_post_ephemeral,
        "chat.postMessage": chat_post_message,
        "chat.update": chat_update,
        "conversations.history": conversations_history,
        "conversations.info": conversations_info,
        "conversations.open": conversations_open,
        "conversations.replies": conversations_replies,
        "reactions.add": reactions_add,
        "users.info": users_info,
        "users.lookupByEmail": users_lookup_by_email,
        "views.open": views_open,
        "views.publish": views_publish,
        "views.update": views_update,
    }
)
"""The served Web API methods by name."""
