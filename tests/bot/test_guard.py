"""The gate in front of Bolt: forged requests get 401, malformed ones 400 (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from bot.guard import MAX_AGE, Verdict, check

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_531_420_618.0


def signed(
    body: bytes, *, secret: str = SECRET, at: float = NOW, kind: str = "json"
) -> dict[str, str]:
    stamp = str(int(at))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    types = {"json": "application/json", "form": "application/x-www-form-urlencoded"}
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Content-Type": types[kind],
    }


EVENT = json.dumps({"type": "event_callback", "event": {"type": "reaction_added"}}).encode()


def test_a_signed_event_passes() -> None:
    assert check(EVENT, signed(EVENT), signing_secret=SECRET, now=NOW) is None


def test_headers_are_read_in_any_case() -> None:
    headers = {k.lower(): v for k, v in signed(EVENT).items()}
    assert check(EVENT, headers, signing_secret=SECRET, now=NOW) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({"X-Slack-Request-Timestamp": str(int(NOW))}, "missing signature"),
        ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, "bad timestamp"),
        (
            {"X-Slack-Request-Timestamp": str(int(NOW)), "X-Slack-Signature": "v0=00"},
            "bad signature",
        ),
    ],
)
def test_unsigned_or_badly_signed_requests_get_401(headers: dict[str, str], reason: str) -> None:
    verdict = check(EVENT, headers, signing_secret=SECRET, now=NOW)
    assert verdict is not None and (verdict.status, verdict.reason) == (401, reason)


def test_another_secret_is_refused() -> None:
    verdict = check(EVENT, signed(EVENT, secret="not-ours"), signing_secret=SECRET, now=NOW)
    assert verdict is not None and verdict.status == 401


def test_a_body_changed_after_signing_is_refused() -> None:
    headers = signed(EVENT)
    verdict = check(
        EVENT.replace(b"reaction", b"reactioN"), headers, signing_secret=SECRET, now=NOW
    )
    assert verdict is not None and verdict.reason == "bad signature"


@pytest.mark.parametrize("skew", [MAX_AGE + 1, -(MAX_AGE + 1), 6 * 60])
def test_a_timestamp_more_than_five_minutes_away_is_refused(skew: float) -> None:
    headers = signed(EVENT, at=NOW - skew)
    verdict = check(EVENT, headers, signing_secret=SECRET, now=NOW)
    assert verdict is not None and (verdict.status, verdict.reason) == (401, "stale timestamp")


def test_four_minutes_old_is_still_fine() -> None:
    assert check(EVENT, signed(EVENT, at=NOW - 240), signing_secret=SECRET, now=NOW) is None


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        (b"{not json", "json", "body is not a JSON object"),
        (b"[1, 2]", "json", "body is not a JSON object"),
        (b"\xff\xfe", "json", "body is not UTF-8"),
        (urlencode({"payload": "{nope"}).encode(), "form", "payload is not an interaction"),
        (urlencode({"payload": "[]"}).encode(), "form", "payload is not an interaction"),
        (urlencode({"payload": '{"type": 3}'}).encode(), "form", "payload is not an interaction"),
        (b"a=b", "form", "form has neither a payload nor a command"),
    ],
)
def test_signed_but_malformed_bodies_get_400(body: bytes, kind: str, reason: str) -> None:
    verdict = check(body, signed(body, kind=kind), signing_secret=SECRET, now=NOW)
    assert verdict is not None and (verdict.status, verdict.reason) == (400, reason)


def test_an_unknown_content_type_gets_400() -> None:
    headers = signed(EVENT) | {"Content-Type": "text/plain"}
    verdict = check(EVENT, headers, signing_secret=SECRET, now=NOW)
    assert verdict is not None and verdict.status == 400


CLICK = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
COMMAND = {"command": "/feedback", "text": "help", "user_id": "U1", "trigger_id": "1.2.3"}


def test_interactions_and_commands_pass() -> None:
    interaction = urlencode({"payload": json.dumps(CLICK)}).encode()
    command = urlencode(COMMAND).encode()
    for body in (interaction, command):
        assert check(body, signed(body, kind="form"), signing_secret=SECRET, now=NOW) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {"type": "block_actions", "user": {"id": "U1"}, "actions": []},
            "block_actions without actions",
        ),
        (CLICK | {"actions": [{"value": "x"}]}, "block_actions without actions.0.action_id"),
        (CLICK | {"user": "U1"}, "block_actions without user.id"),
        ({"type": "view_submission", "user": {"id": "U1"}}, "view_submission without view"),
        ({"type": "shortcut", "user": {"id": "U1"}}, "shortcut without trigger_id"),
    ],
)
def test_interactions_without_what_slack_always_sends_get_400(
    payload: dict[str, object], reason: str
) -> None:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    verdict = check(body, signed(body, kind="form"), signing_secret=SECRET, now=NOW)
    assert verdict == Verdict(400, reason)


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"type": "event_callback"}, "event_callback without event"),
        ({"type": "event_callback", "event": {"user": "U1"}}, "event_callback without event.type"),
        ({"type": 7}, "payload has no type"),
    ],
)
def test_events_without_what_slack_always_sends_get_400(
    envelope: dict[str, object], reason: str
) -> None:
    body = json.dumps(envelope).encode()
    assert check(body, signed(body), signing_secret=SECRET, now=NOW) == Verdict(400, reason)


def test_a_command_without_a_trigger_gets_400() -> None:
    body = urlencode(COMMAND | {"trigger_id": ""}).encode()
    verdict = check(body, signed(body, kind="form"), signing_secret=SECRET, now=NOW)
    assert verdict == Verdict(400, "command without trigger_id")


def test_slacks_ssl_check_passes_unsigned() -> None:
    body = b"ssl_check=1&token=legacy"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert check(body, headers, signing_secret=SECRET, now=NOW) is None
