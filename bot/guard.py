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


def _well_formed(body: bytes, content_type: str) -> Verdict | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(400, "body is not UTF-8")
    if content_type.startswith("application/json"):
        return None if _json_object(text) else Verdict(400, "body is not a JSON object")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(text)
        if "payload" in form:
            payload = _json_object(form["payload"][0])
            if payload is None or not isinstance(payload.get("type"), str):
                return Verdict(400, "payload is not an interaction")
            return None
        if "command" in form:
            return None
        return Verdict(400, "form has neither a payload nor a command")
    return Verdict(400, "unsupported content type")


def _json_object(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
