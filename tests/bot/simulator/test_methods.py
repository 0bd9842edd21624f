"""Method handlers as pure functions: history and threads, pagination, argument coercion."""

from __future__ import annotations

from typing import Any

import pytest

from bot.simulator import METHODS, SlackError, Workspace
from bot.simulator.methods import Args

CHANNEL = "C0GENERAL"
TOP = [f"1733000000.000{n}00" for n in range(1, 6)]
"""Five top-level messages, oldest first; the second has a thread."""
REPLIES = ["1733000000.000210", "1733000000.000220", "1733000000.000230"]


def call(ws: Workspace, method: str, **args: Any) -> dict[str, Any]:
    return METHODS[method](ws, Args(args))


def texts(body: dict[str, Any]) -> list[str]:
    return [m["text"] for m in body["messages"]]


@pytest.fixture
def threaded(ws: Workspace) -> Workspace:
    for number, ts in enumerate(TOP, start=1):
        ws.post(CHANNEL, "U0ALICE", f"top {number}", ts=ts)
    for number, ts in enumerate(REPLIES, start=1):
        user = "U0BOB" if number % 2 else "U0ALICE"
        ws.post(CHANNEL, user, f"reply {number}", thread_ts=TOP[1], ts=ts)
    return ws


def test_history_lists_top_level_messages_newest_first(threaded: Workspace) -> None:
    body = call(threaded, "conversations.history", channel=CHANNEL)
    assert texts(body) == ["top 5", "top 4", "top 3", "top 2", "top 1"]
    assert body["has_more"] is False
    assert "response_metadata" not in body
    parent = body["messages"][3]
    assert parent["thread_ts"] == TOP[1]
    assert parent["reply_count"] == 3
    assert parent["reply_users"] == ["U0BOB", "U0ALICE"]
    assert parent["latest_reply"] == REPLIES[-1]
    assert "thread_ts" not in body["messages"][0]


def test_history_bounds_are_exclusive_unless_inclusive(threaded: Workspace) -> None:
    history = METHODS["conversations.history"]
    assert texts(history(threaded, Args({"channel": CHANNEL, "latest": TOP[2]}))) == [
        "top 2",
        "top 1",
    ]
    bounded = {"channel": CHANNEL, "latest": TOP[3], "oldest": TOP[1]}
    assert texts(history(threaded, Args(bounded))) == ["top 3"]
    assert texts(history(threaded, Args(bounded | {"inclusive": "1"}))) == [
        "top 4",
        "top 3",
        "top 2",
    ]


def test_history_finds_a_top_level_message_by_its_exact_ts(threaded: Workspace) -> None:
    exact = {"channel": CHANNEL, "latest": TOP[1], "oldest": TOP[1], "inclusive": True}
    assert texts(call(threaded, "conversations.history", **exact, limit=1)) == ["top 2"]


def test_history_never_returns_replies(threaded: Workspace) -> None:
    reply = REPLIES[0]
    exact = {"channel": CHANNEL, "latest": reply, "oldest": reply, "inclusive": "true"}
    assert call(threaded, "conversations.history", **exact, limit=1)["messages"] == []
    # with only `latest`, the nearest older top-level message comes back instead
    assert texts(
        call(threaded, "conversations.history", channel=CHANNEL, latest=reply, limit=1)
    ) == ["top 2"]


def test_history_pages_follow_the_cursor(threaded: Workspace) -> None:
    seen: list[str] = []
    args: dict[str, Any] = {"channel": CHANNEL, "limit": 2}
    while True:
        body = call(threaded, "conversations.history", **args)
        seen += texts(body)
        if not body["has_more"]:
            break
        args["cursor"] = body["response_metadata"]["next_cursor"]
    assert seen == ["top 5", "top 4", "top 3", "top 2", "top 1"]


def test_history_pages_within_bounds(threaded: Workspace) -> None:
    first = call(threaded, "conversations.history", channel=CHANNEL, oldest=TOP[0], limit=2)
    assert (texts(first), first["has_more"]) == (["top 5", "top 4"], True)
    cursor = first["response_metadata"]["next_cursor"]
    rest = call(threaded, "conversations.history", channel=CHANNEL, oldest=TOP[0], cursor=cursor)
    assert (texts(rest), rest["has_more"]) == (["top 3", "top 2"], False)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"cursor": "bm9wZQ=="}, "invalid_cursor"),
        ({"cursor": "%%%"}, "invalid_cursor"),
        ({"latest": "yesterday"}, "invalid_ts_latest"),
        ({"oldest": "1.2.3"}, "invalid_ts_oldest"),
        ({"limit": "many"}, "invalid_arguments"),
    ],
)
def test_history_refuses_bad_arguments(
    threaded: Workspace, args: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackError) as caught:
        call(threaded, "conversations.history", channel=CHANNEL, **args)
    assert caught.value.error == error


def test_history_needs_membership(threaded: Workspace) -> None:
    with pytest.raises(SlackError, match="not_in_channel"):
        call(threaded, "conversations.history", channel="C0RANDOM")
    with pytest.raises(SlackError, match="channel_not_found"):
        call(threaded, "conversations.history", channel="G0SECRET")


def test_metadata_comes_back_only_when_asked(ws: Workspace) -> None:
    metadata = {"event_type": "feedback_filed", "event_payload": {"id": "fb-1"}}
    ws.post(CHANNEL, "U0BOT", "filed", metadata=metadata)
    plain = call(ws, "conversations.history", channel=CHANNEL)
    assert "metadata" not in plain["messages"][0]
    full = call(ws, "conversations.history", channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata


def test_replies_of_a_parent_are_the_parent_then_the_replies(threaded: Workspace) -> None:
    body = call(threaded, "conversations.replies", channel=CHANNEL, ts=TOP[1])
    assert texts(body) == ["top 2", "reply 1", "reply 2", "reply 3"]
    assert all(m["thread_ts"] == TOP[1] for m in body["messages"])
    assert body["messages"][1]["parent_user_id"] == "U0ALICE"
    assert body["has_more"] is False


def test_replies_of_a_reply_is_that_reply_alone(threaded: Workspace) -> None:
    body = call(threaded, "conversations.replies", channel=CHANNEL, ts=REPLIES[1])
    assert texts(body) == ["reply 2"]
    message = body["messages"][0]
    assert (message["ts"], message["thread_ts"], message["parent_user_id"]) == (
        REPLIES[1],
        TOP[1],
        "U0ALICE",
    )


def test_replies_of_a_lone_message_is_the_message(threaded: Workspace) -> None:
    body = call(threaded, "conversations.replies", channel=CHANNEL, ts=TOP[0])
    assert texts(body) == ["top 1"]
    assert "thread_ts" not in body["messages"][0]


def test_replies_pages_do_not_repeat_the_parent(threaded: Workspace) -> None:
    first = call(threaded, "conversations.replies", channel=CHANNEL, ts=TOP[1], limit=2)
    assert (texts(first), first["has_more"]) == (["top 2", "reply 1"], True)
    cursor = first["response_metadata"]["next_cursor"]
    rest = call(threaded, "conversations.replies", channel=CHANNEL, ts=TOP[1], cursor=cursor)
    assert (texts(rest), rest["has_more"]) == (["reply 2", "reply 3"], False)


def test_replies_bounds_apply_to_the_replies(threaded: Workspace) -> None:
    body = call(threaded, "conversations.replies", channel=CHANNEL, ts=TOP[1], oldest=REPLIES[0])
    assert texts(body) == ["top 2", "reply 2", "reply 3"]


def test_replies_of_an_unknown_ts_is_thread_not_found(threaded: Workspace) -> None:
    for ts in ("1733000000.999999", ""):
        with pytest.raises(SlackError, match="thread_not_found"):
            call(threaded, "conversations.replies", channel=CHANNEL, ts=ts)


def test_args_coerce_form_strings_and_json_values() -> None:
    args = Args({"a": "true", "b": "1", "c": True, "d": "0", "e": 5, "f": False})
    assert [args.flag(k) for k in "abcdf"] == [True, True, True, False, False]
    assert args.flag("missing") is False
    assert (args.number("e", 0), args.number("missing", 7)) == (5, 7)
    assert (args.text("c"), args.text("missing"), args.optional("missing")) == ("true", "", None)
    assert repr(Args({"x": 1})) == "Args({'x': 1})"
