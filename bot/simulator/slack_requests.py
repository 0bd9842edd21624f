"""Slack's HTTP requests to the app, built and signed exactly as Slack sends them.

Each request starts from a template in ``payloads/`` beside this module (one JSON file per kind,
shaped like a real capture; see its README), takes the caller's overrides, is
serialized **once**, and is signed over those exact bytes::

    body, headers = reaction_added("C0ACME", ts, "U0SALES")
    response = await http.post("/slack/events", content=body, headers=headers)

The three encodings Slack uses for one Request URL:

- events (``event_callback``, ``url_verification``, ``app_rate_limited``): a JSON body,
  ``content-type: application/json``;
- interactivity (``block_actions``, shortcuts, ``view_submission``,
  ``block_suggestion``): a form with one field, ``payload=<url-encoded JSON>``;
- slash commands: the command's fields, form-encoded.

The JSON is compact and escapes ``/`` as ``\\/``, as Slack's own bodies do (a raw
block_actions capture: ``matthewlang/slack-queue`` ``main.go``), so code that
re-serializes a body before checking its signature fails here as it would in production.

Signatures are ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret
(slack_sdk's ``SignatureVerifier.generate_signature``). To forge one, pass
``secret="wrong"`` or a ``timestamp`` older than Slack's five-minute window.

Overrides are merged into the template: nested dicts merge key by key (``event={"reaction":
"eyes"}`` keeps the rest of the event), anything else replaces; :data:`DROP` removes a
key and :class:`Replace` puts a dict in whole instead of merging it.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, get_args
from urllib.parse import parse_qsl, urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

PAYLOADS: Final = Path(__file__).with_name("payloads")
"""The payload templates, one ``<kind>.json`` per kind."""

SIGNING_SECRET: Final = "sim-signing-secret"  # noqa: S105 - the simulator's, not a secret
"""The signing secret tests give the app (``AsyncApp(signing_secret=…)``)."""

TEAM_ID: Final = "T0SIM"
APP_ID: Final = "A0FEEDBACK"
BOT_USER_ID: Final = "U0BOT"
BOT_ID: Final = "B0BOT"
USER_AGENT: Final = "Slackbot 1.0 (+https://api.slack.com/robots)"

JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"

EXT_SHARED_CHANNELS: Final = frozenset({"C0ACME", "C0GLOBEX"})
"""The demo seed's Slack Connect channels: events there carry ``is_ext_shared_channel``."""

EventKind = Literal[
    "app_home_opened",
    "app_mention",
    "app_mention_thread",
    "app_rate_limited",
    "reaction_added",
    "url_verification",
]
InteractionKind = Literal[
    "block_actions_home",
    "block_actions_message",
    "block_actions_static_select",
    "block_suggestion",
    "message_action",
    "shortcut",
    "view_submission",
]
EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)
INTERACTION_KINDS: Final[tuple[InteractionKind, ...]] = get_args(InteractionKind)


class _Drop(Enum):
    DROP = "DROP"


DROP: Final = _Drop.DROP
"""An override that removes the key, e.g. ``item_user=DROP`` for a message by a webhook."""


class Replace(NamedTuple):
    """An override that puts ``value`` in whole instead of merging it into the template."""

    value: Any


class SlackRequest(NamedTuple):
    """A signed request as Slack sends it: unpack it as ``body, headers``."""

    body: bytes
    headers: dict[str, str]

    def payload(self) -> dict[str, Any]:
        """The payload the body carries: the JSON, the interaction, or the command's fields."""
        if self.headers["content-type"] == JSON:
            data: dict[str, Any] = json.loads(self.body)
            return data
        fields = dict(parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True))
        if fields.keys() == {"payload"}:
            interaction: dict[str, Any] = json.loads(fields["payload"])
            return interaction
        return fields

    def redelivered(
        self,
        retry_num: int = 1,
        retry_reason: str = "http_timeout",
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> SlackRequest:
        """Slack's retry of this event: the same bytes, signed anew, with the retry headers."""
        retry = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": retry_reason}
        kept = {k: v for k, v in self.headers.items() if not k.startswith("x-slack-")}
        content_type = kept.pop("content-type")
        signed = sign(self.body, content_type, secret=secret, timestamp=timestamp, headers=retry)
        return SlackRequest(signed.body, kept | signed.headers)

    def to_bolt(self) -> AsyncBoltRequest:
        """The request as Bolt's ``AsyncApp.async_dispatch`` takes it (no HTTP server)."""
        headers: dict[str, str | Sequence[str]] = dict(self.headers)
        return AsyncBoltRequest(body=self.body.decode(), headers=headers)


# --- templates, merging, encoding, signing ----------------------------------------------


@cache
def _template(kind: str) -> dict[str, Any]:
    path = PAYLOADS / f"{kind}.json"
    if not path.is_file():
        known = sorted(p.stem for p in PAYLOADS.glob("*.json"))
        raise ValueError(f"no payload template {kind!r}; known: {', '.join(known)}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load(kind: str) -> dict[str, Any]:
    """A fresh copy of the template ``payloads/<kind>.json``.

    Raises:
        ValueError: No such template; the message lists the known kinds.
    """
    return copy.deepcopy(_template(kind))


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in (dicts key by key; see the module docstring)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is DROP:
            merged.pop(key, None)
        elif isinstance(value, Replace):
            merged[key] = copy.deepcopy(value.value)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def to_json(payload: Mapping[str, Any]) -> str:
    """Serialize as Slack does: compact, ASCII, with ``/`` escaped as ``\\/``."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/")


def sign(
    body: bytes,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> SlackRequest:
    """Sign ``body`` as Slack does and add Slack's headers.

    Args:
        body: The exact bytes to send.
        content_type: :data:`JSON` or :data:`FORM`.
        secret: The signing secret; another one forges the signature.
        timestamp: ``X-Slack-Request-Timestamp`` (default now); one more than five
            minutes away is refused by Slack's verifiers.
        headers: More headers (``x-slack-retry-num``…).
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # only None without a timestamp
    signed = {
        "content-type": content_type,
        "user-agent": USER_AGENT,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }
    return SlackRequest(body, signed | dict(headers or {}))


# --- fresh ids, as Slack makes them ------------------------------------------------------


def new_event_id() -> str:
    """A fresh ``Ev…`` event id (Slack's are ``Ev`` and 10 upper-case letters or digits)."""
    return "Ev" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


def new_trigger_id() -> str:
    """A fresh ``trigger_id`` in Slack's ``<ms>.<team number>.<32 hex>`` form."""
    return f"{int(time.time() * 1000)}.0000000000.{secrets.token_hex(16)}"


def now_ts() -> str:
    """The current time as a Slack timestamp (``"1733000000.000100"``)."""
    return f"{time.time():.6f}"


# --- the three kinds of request ------------------------------------------------------------


def event(
    kind: EventKind,
    *,
    event_id: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    **overrides: Any,
) -> SlackRequest:
    """An Events API request: the template's envelope with ``overrides`` merged in.

    Args:
        kind: The template (see :data:`EVENT_KINDS`).
        event_id: The envelope's ``event_id`` (default a fresh one; a redelivery
            repeats the first delivery's id). Envelopes without one (``url_verification``,
            ``app_rate_limited``) get none.
        retry_num: Marks a redelivery: ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``.
        retry_reason: Why Slack retries (``http_timeout``, ``http_error``…).
        secret: The signing secret (another one forges the signature).
        timestamp: The request timestamp (default now).
        **overrides: Envelope fields; ``event={…}`` merges into the inner event.
    """
    payload = load(kind)
    if "event_id" in payload:
        payload |= {"event_id": event_id or new_event_id(), "event_time": int(time.time())}
    payload = merge(payload, overrides)
    extra = {}
    if retry_num is not None:
        extra = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": retry_reason}
    body = to_json(payload).encode()
    return sign(body, JSON, secret=secret, timestamp=timestamp, headers=extra)


def interaction(
    kind: InteractionKind,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    **overrides: Any,
) -> SlackRequest:
    """An interactivity request (``payload=<JSON>``) from a template and ``overrides``.

    The template's ``trigger_id`` and ``action_ts`` are made fresh before the overrides
    apply, as every real interaction has its own.
    """
    payload = load(kind)
    if "trigger_id" in payload:
        payload["trigger_id"] = new_trigger_id()
    if "action_ts" in payload:
        payload["action_ts"] = now_ts()
    for action in payload.get("actions", []):
        action["action_ts"] = now_ts()
    payload = merge(payload, overrides)
    body = urlencode({"payload": to_json(payload)}).encode()
    return sign(body, FORM, secret=secret, timestamp=timestamp)


def command(
    text: str,
    user_id: str = "U0SALES",
    channel_id: str = "C0ACME",
    *,
    command: str = "/feedback",
    response_url: str | None = None,
    trigger_id: str | None = None,
    channel_name: str | None = None,
    user_name: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    **fields: str,
) -> SlackRequest:
    """A slash command's request: its fields, form-encoded.

    Args:
        text: What the user typed after the command.
        user_id: Who typed it.
        channel_id: Where.
        command: The command, with its ``/``.
        response_url: Where the app may answer (e.g. ``sim.response_url(…)``).
        trigger_id: For ``views.open`` (default a fresh one).
        channel_name: Default: the template's for its channel, ``directmessage`` for a DM,
            else the id in lower case (Slack sends the real name; apps should not need it).
        user_name: Default: the template's for its user, else the id in lower case.
        secret: The signing secret (another one forges the signature).
        timestamp: The request timestamp (default now).
        **fields: Any other field, e.g. ``is_enterprise_install="true"``.
    """
    template = load("command")
    values = template | {
        "text": text,
        "user_id": user_id,
        "user_name": user_name or _name_of(user_id, template["user_id"], template["user_name"]),
        "channel_id": channel_id,
        "channel_name": channel_name
        or _name_of(channel_id, template["channel_id"], template["channel_name"]),
        "command": command,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url or template["response_url"],
        **fields,
    }
    return sign(urlencode(values).encode(), FORM, secret=secret, timestamp=timestamp)


def _name_of(some_id: str, template_id: str, template_name: str) -> str:
    if some_id == template_id:
        return template_name
    return "directmessage" if some_id.startswith("D") else some_id.lower()


# --- events ---------------------------------------------------------------------------------


def reaction_added(
    channel: str,
    ts: str,
    user: str,
    reaction: str = "gtm-feedback",
    *,
    item_user: str | None = "U0ACME1",
    event_id: str | None = None,
    retry_num: int | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` reacted with ``reaction`` to the message ``ts`` of ``channel``.

    Args:
        item_user: The message's author; ``None`` for messages Slack sends it without
            (webhooks, some bots).
        event_id: See :func:`event`; pass the first delivery's id with ``retry_num``.
        retry_num: See :func:`event`.
        **options: ``secret``, ``timestamp``, ``retry_reason`` or envelope fields.
    """
    inner: dict[str, Any] = {
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": DROP if item_user is None else item_user,
        "event_ts": now_ts(),
    }
    return event(
        "reaction_added",
        event_id=event_id,
        retry_num=retry_num,
        **_channel_envelope("reaction_added", channel) | {"event": inner} | options,
    )


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def app_mention(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str = "U0ACME1",
    event_id: str | None = None,
    retry_num: int | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` mentioned the bot: ``text`` holds ``<@U0BOT>`` (its ``blocks`` follow it).

    Args:
        ts: The message's ``ts`` (default now).
        thread_ts: The thread's parent, for a mention inside a thread.
        parent_user_id: The parent's author (sent with ``thread_ts`` only).
        event_id: See :func:`event`.
        retry_num: See :func:`event`.
        **options: ``secret``, ``timestamp``, ``retry_reason`` or envelope fields.
    """
    ts = ts or now_ts()
    inner: dict[str, Any] = {
        "user": user,
        "ts": ts,
        "text": text,
        "blocks": [_rich_text(text)],
        "channel": channel,
        "event_ts": ts,
    }
    kind: EventKind = "app_mention"
    if thread_ts is not None:
        kind = "app_mention_thread"
        inner |= {"thread_ts": thread_ts, "parent_user_id": parent_user_id}
    return event(
        kind,
        event_id=event_id,
        retry_num=retry_num,
        **_channel_envelope("app_mention", channel) | {"event": inner} | options,
    )


def _rich_text(text: str) -> dict[str, Any]:
    """The ``rich_text`` block Slack's clients send for a typed message."""
    elements: list[dict[str, str]] = []
    for index, part in enumerate(_MENTION.split(text)):
        if index % 2:
            elements.append({"type": "user", "user_id": part})
        elif part:
            elements.append({"type": "text", "text": part})
    section = {"type": "rich_text_section", "elements": elements}
    return {"type": "rich_text", "block_id": secrets.token_hex(3)[:5], "elements": [section]}


def _channel_envelope(event_type: str, channel: str) -> dict[str, Any]:
    """The envelope fields that depend on the channel: Slack Connect flag and context."""
    return {
        "is_ext_shared_channel": channel in EXT_SHARED_CHANNELS,
        "event_context": event_context(event_type, channel),
    }


def event_context(event_type: str, channel: str, team_id: str = TEAM_ID) -> str:
    """An ``event_context`` as Slack makes it: ``4-`` and base64url JSON naming the event."""
    fields = {"et": event_type, "tid": team_id, "aid": APP_ID, "cid": channel}
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return "4-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def app_home_opened(
    user: str,
    *,
    channel: str | None = None,
    tab: Literal["home", "messages"] = "home",
    view: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` opened the app's Home (or Messages) tab.

    Args:
        channel: The app's DM with the user (default the simulator's ``D`` + id rule).
        tab: ``home`` or ``messages``.
        view: The Home view published before, as Slack sends it along (none the first time).
        event_id: See :func:`event`.
        **options: ``secret``, ``timestamp``, ``retry_num`` or envelope fields.
    """
    inner: dict[str, Any] = {
        "user": user,
        "channel": channel or "D" + user[1:],
        "tab": tab,
        "event_ts": now_ts(),
    }
    if view is not None:
        inner["view"] = Replace(dict(view))
    return event("app_home_opened", event_id=event_id, event=inner, **options)


def url_verification(challenge: str | None = None, **options: Any) -> SlackRequest:
    """Slack's handshake when the Request URL is saved; the app answers the challenge."""
    return event("url_verification", challenge=challenge or secrets.token_urlsafe(38), **options)


def app_rate_limited(minute_rate_limited: int | None = None, **options: Any) -> SlackRequest:
    """Slack tells the app it dropped events this minute (``minute_rate_limited``)."""
    minute = minute_rate_limited if minute_rate_limited is not None else int(time.time()) // 60 * 60
    return event("app_rate_limited", minute_rate_limited=minute, **options)


# --- interactions ---------------------------------------------------------------------------


def block_action(
    action_id: str,
    value: str,
    user: str,
    *,
    container: Literal["message", "home"] = "message",
    block_id: str | None = None,
    channel: str = "C0PRODUCT",
    channel_name: str | None = None,
    message_ts: str | None = None,
    message: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    view_id: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` clicked a button (``action_id``, ``value``) in a message or the Home tab.

    Args:
        container: ``message`` (with ``channel``, ``message``, ``response_url``) or
            ``home`` (``view`` instead; Slack sends no ``response_url`` then).
        block_id: The actions block (default the template's).
        channel: The message's channel.
        channel_name: Default: the template's for its channel, else the id in lower case.
        message_ts: The message clicked (default ``message["ts"]``, else the template's).
        message: The whole message as Slack sends it along, e.g. one of
            ``sim.messages(channel)`` (default the template's approval request).
        response_url: E.g. ``sim.response_url(channel, message_ts, user)``.
        view_id: The Home view (default the template's).
        **options: ``secret``, ``timestamp`` or payload fields to merge.
    """
    kind: InteractionKind = "block_actions_home"
    if container == "message":
        kind = "block_actions_message"
    template = load(kind)
    surface = template["message"] if container == "message" else template["view"]
    blocks = (message or surface).get("blocks", [])
    clicked = _clicked(template["actions"][0], blocks, action_id, value, block_id)
    fields: dict[str, Any] = {"user": _user(template, user), "actions": [clicked]}
    if container == "message":
        fields |= _message_fields(
            template, channel, channel_name, message_ts, message, response_url
        )
    elif view_id is not None:
        fields |= _in_view(view_id)
    return interaction(kind, **fields | options)


def static_select(
    action_id: str,
    value: str,
    user: str,
    *,
    text: str | None = None,
    block_id: str | None = None,
    channel: str = "C0PRODUCT",
    channel_name: str | None = None,
    message_ts: str | None = None,
    message: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` chose the option ``value`` (shown as ``text``) in a message's select menu.

    Args:
        text: The option's label (default ``value`` capitalized).
        block_id: The section holding the menu (default the template's).
        channel: See :func:`block_action`.
        channel_name: See :func:`block_action`.
        message_ts: See :func:`block_action`.
        message: See :func:`block_action`.
        response_url: See :func:`block_action`.
        **options: ``secret``, ``timestamp`` or payload fields to merge.
    """
    template = load("block_actions_static_select")
    label = {"type": "plain_text", "text": text or value.capitalize(), "emoji": True}
    option: dict[str, Any] = {"text": label, "value": value}
    chosen = template["actions"][0] | {"action_id": action_id, "selected_option": option}
    block = block_id or chosen["block_id"]
    chosen["block_id"] = block
    state = {block: {action_id: {"type": "static_select", "selected_option": option}}}
    fields: dict[str, Any] = {
        "user": _user(template, user),
        "actions": [chosen],
        "state": Replace({"values": state}),
    }
    fields |= _message_fields(template, channel, channel_name, message_ts, message, response_url)
    return interaction("block_actions_static_select", **fields | options)


def _clicked(
    default: Mapping[str, Any],
    blocks: Sequence[Mapping[str, Any]],
    action_id: str,
    value: str,
    block_id: str | None,
) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends: the clicked element's type, text and style echoed."""
    for block in blocks:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        for element in elements:
            here = block.get("block_id")
            if element.get("action_id") == action_id and block_id in (None, here):
                clicked = {"action_id": action_id, "block_id": here or secrets.token_hex(3)[:5]}
                clicked |= {"text": element.get("text"), "value": value}
                if "style" in element:
                    clicked["style"] = element["style"]
                return clicked | {"type": element["type"], "action_ts": default["action_ts"]}
    fields = {"action_id": action_id, "value": value, "block_id": block_id}
    return dict(default) | {k: v for k, v in fields.items() if v is not None}


def _user(template: Mapping[str, Any], user: str) -> dict[str, Any]:
    known = template["user"]
    name = _name_of(user, known["id"], known.get("username", known.get("name", "")))
    found = {"id": user, "username": name, "name": name}
    return {key: found[key] for key in ("id", "username", "name") if key in known}


def _in_view(view_id: str) -> dict[str, Any]:
    return {"container": {"view_id": view_id}, "view": {"id": view_id, "root_view_id": view_id}}


def _message_fields(
    template: Mapping[str, Any],
    channel: str,
    channel_name: str | None,
    message_ts: str | None,
    message: Mapping[str, Any] | None,
    response_url: str | None,
) -> dict[str, Any]:
    ts = message_ts or (message or {}).get("ts") or template["container"]["message_ts"]
    name = channel_name or _name_of(channel, template["channel"]["id"], template["channel"]["name"])
    fields: dict[str, Any] = {
        "container": {"message_ts": ts, "channel_id": channel},
        "channel": {"id": channel, "name": name},
        "message": Replace(dict(message)) if message is not None else {"ts": ts},
    }
    if response_url is not None:
        fields["response_url"] = response_url
    return fields


def message_shortcut(
    user: str,
    channel: str,
    message_ts: str,
    *,
    text: str | None = None,
    message: Mapping[str, Any] | None = None,
    message_user: str = "U0ACME1",
    thread_ts: str | None = None,
    callback_id: str = "file_feedback",
    channel_name: str | None = None,
    response_url: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` ran the message shortcut ``callback_id`` on the message ``message_ts``.

    Args:
        text: The message's text (default the template's), when ``message`` is not given.
        message: The whole message, e.g. one of ``sim.messages(channel)``.
        message_user: The author, when ``message`` is not given.
        thread_ts: The thread's parent, for a reply (Slack puts it in the message).
        callback_id: The shortcut's callback id.
        channel_name: Default: the template's for its channel, else the id in lower case.
        response_url: E.g. ``sim.response_url(channel, user=user)``.
        **options: ``secret``, ``timestamp`` or payload fields to merge.
    """
    template = load("message_action")
    if message is None:
        said = text if text is not None else template["message"]["text"]
        built = template["message"] | {"text": said, "user": message_user, "ts": message_ts}
        built["blocks"] = [_rich_text(said)]
        if message_user != template["message"]["user"]:
            for key in ("team", "user_team", "source_team"):
                built.pop(key)
            built["team"] = TEAM_ID
        if thread_ts is not None:
            built["thread_ts"] = thread_ts
        message = built
    name = channel_name or _name_of(channel, template["channel"]["id"], template["channel"]["name"])
    fields: dict[str, Any] = {
        "user": _user(template, user) | {"team_id": TEAM_ID},
        "channel": {"id": channel, "name": name},
        "callback_id": callback_id,
        "message_ts": message_ts,
        "message": Replace(dict(message)),
    }
    if response_url is not None:
        fields["response_url"] = response_url
    return interaction("message_action", **fields | options)


def global_shortcut(user: str, callback_id: str = "new_feedback", **options: Any) -> SlackRequest:
    """``user`` ran the global shortcut ``callback_id`` (no channel, no ``response_url``)."""
    template = load("shortcut")
    fields = {"user": _user(template, user) | {"team_id": TEAM_ID}, "callback_id": callback_id}
    return interaction("shortcut", **fields | options)


def view_submission(
    user: str,
    values: Mapping[str, Any] | None = None,
    *,
    callback_id: str = "file_feedback_modal",
    private_metadata: str | None = None,
    view_id: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` submitted a modal.

    Args:
        values: ``view.state.values``: block id to action id to the element's state, e.g.
            ``{"feedback": {"text": {"type": "plain_text_input", "value": "…"}}}``
            (default the template's).
        callback_id: The modal's callback id.
        private_metadata: What the app stored in the view (default the template's).
        view_id: The view's id (default the template's).
        **options: ``secret``, ``timestamp`` or payload fields to merge.
    """
    template = load("view_submission")
    view: dict[str, Any] = {"callback_id": callback_id}
    if values is not None:
        view["state"] = Replace({"values": dict(values)})
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    if view_id is not None:
        view |= {"id": view_id, "root_view_id": view_id}
    fields = {"user": _user(template, user), "view": view}
    return interaction("view_submission", **fields | options)


def block_suggestion(
    action_id: str,
    value: str,
    user: str,
    *,
    block_id: str | None = None,
    view_id: str | None = None,
    **options: Any,
) -> SlackRequest:
    """``user`` typed ``value`` into an external select (``action_id``) of a modal."""
    template = load("block_suggestion")
    fields: dict[str, Any] = {
        "user": _user(template, user),
        "action_id": action_id,
        "block_id": block_id or action_id,
        "value": value,
    }
    if view_id is not None:
        fields |= _in_view(view_id)
    return interaction("block_suggestion", **fields | options)
