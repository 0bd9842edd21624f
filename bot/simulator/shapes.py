"""Slack's JSON shapes for the simulator's state: users, channels, messages, views.

Field names and nesting follow Slack's documented answers (checked against the
all-fields samples of ``slackapi/java-slack-sdk`` ``json-logs/samples/api``); fields
the simulator has nothing to say about are left out rather than faked, except the
few clients commonly read (``deleted``, ``is_archived``, ``topic``…).
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.simulator.state import Channel, Message, User, View, Workspace

_AVATAR = "https://a.slack-edge.com/80588/img/avatars/user_shapes/ava_0001-{size}.png"


def user_json(ws: Workspace, user: User) -> dict[str, Any]:
    """A ``users.info`` user object; ``profile.email`` only when the user has one."""
    real_name = user.real_name or user.name
    profile: dict[str, Any] = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "team": user.team_id,
        "image_48": _AVATAR.format(size=48),
        "image_72": _AVATAR.format(size=72),
    }
    if user.email is not None:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = ws.bot_id if user.id == ws.bot_user_id else "B" + user.id[1:]
    return {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": False,
        "real_name": real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "updated": 0,
    }


def channel_json(ws: Workspace, channel: Channel, *, num_members: bool = False) -> dict[str, Any]:
    """A ``conversations.info`` channel object (the short DM form for DMs)."""
    if channel.is_im:
        return im_json(channel)
    teams = sorted({ws.users[m].team_id for m in channel.members if m in ws.users} | {ws.team_id})
    body: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": False,
        "is_general": False,
        "name_normalized": channel.name,
        "is_shared": channel.is_ext_shared,
        "is_ext_shared": channel.is_ext_shared,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "shared_team_ids": teams if channel.is_ext_shared else [ws.team_id],
        "context_team_id": ws.team_id,
        "conversation_host_id": ws.team_id,
        "is_member": ws.bot_user_id in channel.members,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }
    if num_members:
        body["num_members"] = len(channel.members)
    return body


def im_json(channel: Channel) -> dict[str, Any]:
    """The DM object of ``conversations.open`` (``return_im``) and ``conversations.info``."""
    return {
        "id": channel.id,
        "created": channel.created,
        "is_im": True,
        "is_org_shared": False,
        "user": channel.user,
        "is_user_deleted": False,
        "priority": 0,
    }


def message_json(ws: Workspace, message: Message, *, metadata: bool = True) -> dict[str, Any]:
    """A message object as ``conversations.history``/``replies`` and ``chat.*`` return it.

    Args:
        metadata: Whether to include the message ``metadata`` (history and replies do
            only with ``include_all_metadata``).
    """
    author = ws.users.get(message.user)
    body: dict[str, Any] = {"type": "message", "user": message.user, "text": message.text}
    if author is not None and author.id == ws.bot_user_id:
        body |= {"bot_id": ws.bot_id, "app_id": ws.app_id, "bot_profile": _bot_profile(ws)}
    body["ts"] = message.ts
    body["team"] = author.team_id if author is not None else ws.team_id
    if author is not None and ws.is_external(author):
        body |= {"user_team": author.team_id, "source_team": author.team_id}
    if message.blocks:
        body["blocks"] = message.blocks
    elif author is not None and not author.is_bot:
        body |= _typed_by_a_person(message)
    if message.edited is not None:
        body["edited"] = {"user": message.user, "ts": message.edited}
    body |= _thread_fields(ws, message)
    if message.reactions:
        body["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
            if users
        ]
    if metadata and message.metadata is not None:
        body["metadata"] = message.metadata
    return body


def _typed_by_a_person(message: Message) -> dict[str, Any]:
    """What Slack's clients add to a typed message: an id and the text as rich text."""
    msg_id = uuid.uuid5(uuid.NAMESPACE_URL, f"slack-simulator:{message.channel}/{message.ts}")
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": message.text}]}
    block = {"type": "rich_text", "block_id": msg_id.hex[:5], "elements": [section]}
    return {"client_msg_id": str(msg_id), "blocks": [block]}


def _thread_fields(ws: Workspace, message: Message) -> dict[str, Any]:
    channel = ws.channels[message.channel]
    if message.thread_ts is not None:
        parent = channel.messages[message.thread_ts]
        return {"thread_ts": message.thread_ts, "parent_user_id": parent.user}
    if not message.replies:
        return {}
    reply_users = list(dict.fromkeys(channel.messages[ts].user for ts in message.replies))
    return {
        "thread_ts": message.ts,
        "reply_count": len(message.replies),
        "reply_users_count": len(reply_users),
        "latest_reply": message.replies[-1],
        "reply_users": reply_users,
        "is_locked": False,
        "subscribed": False,
    }


def _bot_profile(ws: Workspace) -> dict[str, Any]:
    bot = ws.users[ws.bot_user_id]
    return {
        "id": ws.bot_id,
        "deleted": False,
        "name": bot.real_name or bot.name,
        "updated": 0,
        "app_id": ws.app_id,
        "icons": {"image_48": _AVATAR.format(size=48)},
        "team_id": ws.team_id,
    }


def view_json(ws: Workspace, view: View) -> dict[str, Any]:
    """A view object as ``views.open``/``publish``/``update`` return it."""
    spec = view.spec
    return {
        "id": view.id,
        "team_id": ws.team_id,
        "type": view.type,
        "title": spec.get("title"),
        "submit": spec.get("submit"),
        "close": spec.get("close"),
        "blocks": spec.get("blocks", []),
        "private_metadata": spec.get("private_metadata", ""),
        "callback_id": spec.get("callback_id", ""),
        "external_id": view.external_id,
        "state": {"values": {}},
        "hash": view.hash,
        "clear_on_close": bool(spec.get("clear_on_close", False)),
        "notify_on_close": bool(spec.get("notify_on_close", False)),
        "root_view_id": view.root_view_id,
        "previous_view_id": view.previous_view_id,
        "app_id": ws.app_id,
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
