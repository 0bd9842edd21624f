"""The gate in front of Bolt: a forged request gets 401 and a malformed one 400.

Stock Bolt parses a body before it verifies it, so garbage earns a 500 (which Slack
retries). :func:`check` runs first, on the exact bytes received: a bad or missing
signature, or a timestamp more than five minutes away, is refused without parsing
anything; a signed body that is not what Slack sends is refused as malformed. It is
pure, so every case is tested without a server.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from urllib.parse import parse_qs

__all__ = ["MAX_AGE", "Verdict", "check"]

MAX_AGE = 300
"""Seconds a request's timestamp may be away from now (Slack's replay window)."""


@dataclass(frozen=True)
class Verdict:
    """Why a request is refused: the HTTP status and a short reason (never the body)."""

    status: int
    reason: str


def check(
    body: bytes, headers: Mapping[str, str], *, signing_secret: str, now: float
) -> Verdict | None:
    """``None`` when the request is Slack's and well formed; else why not.

    Args:
        body: The raw bytes received.
        headers: The request's headers (any case).
        signing_secret: The app's signing secret.
        now: The current unix time.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if _ssl_check(body, lower.get("content-type", "")):
        return None  # Slack's certificate probe: unsigned, and Bolt answers it with 200
    timestamp = lower.get("x-slack-request-timestamp", "")
    signature = lower.get("x-slack-signature", "")
    if not timestamp or not signature:
        return Verdict(401, "missing signature")
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return Verdict(401, "bad timestamp")
    if age > MAX_AGE:
        return Verdict(401, "stale timestamp")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return Verdict(401, "bad signature")
    return _well_formed(body, lower.get("content-type", ""))


def _ssl_check(body: bytes, content_type: str) -> bool:
    if not content_type.startswith("application/x-www-form-urlencoded") or len(body) > 1000:
        return False
    try:
        form = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:  # not Slack's probe: the signature check refuses it
        return False
    return form.get("ssl_check") == ["1"] and not {"payload", "command"} & form.keys()


def _well_formed(body: bytes, content_type: str) -> Verdict | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(400, "body is not UTF-8")
    if content_type.startswith("application/json"):
        envelope = _json_object(text)
        if envelope is None:
            return Verdict(400, "body is not a JSON object")
        return _missing(envelope, EVENT_FIELDS)
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(text)
        if "payload" in form:
            payload = _json_object(form["payload"][0])
            if payload is None or not isinstance(payload.get("type"), str):
                return Verdict(400, "payload is not an interaction")
            return _missing(payload, INTERACTION_FIELDS)
        if "command" in form:
            absent = [f for f in COMMAND_FIELDS if not form.get(f, [""])[0]]
            return Verdict(400, f"command without {absent[0]}") if absent else None
        return Verdict(400, "form has neither a payload nor a command")
    return Verdict(400, "unsupported content type")


# What Slack always sends, by payload type: a path of keys to a value of the given kind
# ("str": a non-empty string; "obj": an object; "list": a non-empty list of objects).
EVENT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "event_callback": (("event", "obj"), ("event.type", "str")),
    "url_verification": (("challenge", "str"),),
}
INTERACTION_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "block_actions": (("user.id", "str"), ("actions", "list"), ("actions.0.action_id", "str")),
    "message_action": (("user.id", "str"), ("trigger_id", "str"), ("channel.id", "str")),
    "shortcut": (("user.id", "str"), ("trigger_id", "str")),
    "view_submission": (("user.id", "str"), ("view", "obj"), ("view.id", "str")),
    "view_closed": (("user.id", "str"), ("view", "obj")),
    "block_suggestion": (("user.id", "str"), ("action_id", "str")),
}
COMMAND_FIELDS = ("command", "user_id", "trigger_id")


def _missing(
    payload: dict[str, object], needs: dict[str, tuple[tuple[str, str], ...]]
) -> Verdict | None:
    """A 400 naming the first field Slack always sends that this payload lacks."""
    kind = payload.get("type")
    if not isinstance(kind, str):
        return Verdict(400, "payload has no type")
    for path, shape in needs.get(kind, ()):
        value: object = payload
        for key in path.split("."):
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and key.isdecimal() and int(key) < len(value):
                value = value[int(key)]
            else:
                value = None
        ok = {
            "str": isinstance(value, str) and bool(value),
            "obj": isinstance(value, dict),
            "list": isinstance(value, list)
            and bool(value)
            and all(isinstance(v, dict) for v in value),
        }[shape]
        if not ok:
            return Verdict(400, f"{kind} without {path}")
    return None


def _json_object(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
