"""The workspace state on its own: timestamps, visibility, threads, edits, reactions, views."""

from __future__ import annotations

import pytest

from bot.simulator import SlackError, Workspace
from bot.simulator.state import micros_to_ts, ts_to_micros
from tests.bot.simulator.conftest import FakeClock


def test_timestamps_are_slack_formatted_and_strictly_increasing(
    ws: Workspace, clock: FakeClock
) -> None:
    first, second = ws.new_ts(), ws.new_ts()
    assert (first, second) == ("1733000000.000000", "1733000000.000001")
    clock.now -= 60  # a clock going backwards does not make timestamps go backwards
    assert ts_to_micros(ws.new_ts()) > ts_to_micros(second)
    clock.now += 3600
    assert ws.new_ts() == "1733003540.000000"


@pytest.mark.parametrize(
    ("text", "micros"),
    [("1733000000.000100", 1_733_000_000_000_100), ("1733000000", 1_733_000_000_000_000)],
)
def test_ts_parsing(text: str, micros: int) -> None:
    assert ts_to_micros(text) == micros
    assert micros_to_ts(micros) == f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "-1", "1733000000.0001000"])
def test_ts_parsing_refuses_what_is_not_a_timestamp(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Slack timestamp"):
        ts_to_micros(bad)


def test_the_bot_is_a_user_from_the_start() -> None:
    ws = Workspace(team_id="T9", bot_user_id="U9BOT")
    bot = ws.user("U9BOT")
    assert bot.is_bot
    assert (ws.bot_id, ws.app_id) == ("B9BOT", "A9")


def test_external_users_belong_to_another_team(ws: Workspace) -> None:
    assert ws.is_external(ws.user("U0CAROL"))
    assert not ws.is_external(ws.user("U0ALICE"))


def test_unknown_people_and_channels_are_refused_with_slack_codes(ws: Workspace) -> None:
    with pytest.raises(SlackError, match="user_not_found"):
        ws.user("U0NOBODY")
    with pytest.raises(SlackError) as caught:
        ws.user_by_email("nobody@example.com")
    assert caught.value.error == "users_not_found"
    assert ws.user_by_email("ALICE@ourco.example").id == "U0ALICE"
    with pytest.raises(SlackError, match="channel_not_found"):
        ws.channel("C0NOPE")


def test_add_channel_checks_members_and_names(ws: Workspace) -> None:
    with pytest.raises(SlackError, match="user_not_found"):
        ws.add_channel("C0NEW", "new", members=["U0GHOST"])
    with pytest.raises(SlackError, match="name_taken"):
        ws.add_channel("C0OTHER", "general")


def test_visibility_follows_slack_for_a_bot_token(ws: Workspace) -> None:
    assert ws.visible_channel("C0RANDOM").name == "random"  # public: visible, not joined
    with pytest.raises(SlackError, match="not_in_channel"):
        ws.member_channel("C0RANDOM")
    with pytest.raises(SlackError, match="channel_not_found"):
        ws.visible_channel("G0SECRET")  # private without the bot: does not exist for it
    assert ws.member_channel("G0TEAM").is_private


def test_dms_are_stable_per_user(ws: Workspace) -> None:
    dm, already_open = ws.open_dm("U0ALICE")
    again, reopened = ws.open_dm("U0ALICE")
    assert (dm.id, already_open, again.id, reopened) == ("D0ALICE", False, "D0ALICE", True)
    assert dm.members == {"U0BOT", "U0ALICE"}
    assert ws.dm_of("U0ALICE") == "D0ALICE"
    assert ws.dm_of("U0BOB") is None
    with pytest.raises(SlackError, match="cannot_dm_bot"):
        ws.open_dm("U0BOT")


def test_a_reply_to_a_reply_joins_the_parents_thread(ws: Workspace) -> None:
    parent = ws.post("C0GENERAL", "U0ALICE", "parent")
    reply = ws.post("C0GENERAL", "U0BOB", "reply", thread_ts=parent.ts)
    nested = ws.post("C0GENERAL", "U0ALICE", "nested", thread_ts=reply.ts)
    assert (reply.thread_ts, nested.thread_ts) == (parent.ts, parent.ts)
    assert parent.replies == [reply.ts, nested.ts]
    assert [m.text for m in ws.top_level("C0GENERAL")] == ["parent"]
    assert [m.text for m in ws.thread("C0GENERAL", parent.ts)] == ["parent", "reply", "nested"]
    assert [m.text for m in ws.thread("C0GENERAL", reply.ts)] == ["reply"]
    assert [m.text for m in ws.all_messages("C0GENERAL")] == ["parent", "reply", "nested"]


def test_replying_to_an_unknown_message_is_refused(ws: Workspace) -> None:
    with pytest.raises(SlackError, match="thread_not_found"):
        ws.post("C0GENERAL", "U0ALICE", "lost", thread_ts="1.000001")


def test_explicit_timestamps_keep_the_timeline_ordered(ws: Workspace) -> None:
    later = ws.post("C0GENERAL", "U0ALICE", "later", ts="1733000100.000000")
    earlier = ws.post("C0GENERAL", "U0ALICE", "earlier", ts="1733000050")
    assert earlier.ts == "1733000050.000000"
    assert [m.text for m in ws.top_level("C0GENERAL")] == ["earlier", "later"]
    assert ts_to_micros(ws.new_ts()) > ts_to_micros(later.ts)
    with pytest.raises(SlackError, match="invalid_arguments"):
        ws.post("C0GENERAL", "U0ALICE", "twin", ts=later.ts)


def test_posting_makes_the_poster_a_member(ws: Workspace) -> None:
    ws.post("C0GENERAL", "U0CAROL", "hello")
    assert "U0CAROL" in ws.channel("C0GENERAL").members


def test_only_the_author_may_update(ws: Workspace) -> None:
    message = ws.post("C0GENERAL", "U0BOT", "draft", blocks=[{"type": "divider"}])
    with pytest.raises(SlackError, match="cant_update_message"):
        ws.update("C0GENERAL", message.ts, "U0ALICE", text="hijack")
    ws.update("C0GENERAL", message.ts, "U0BOT", text="final")
    assert (message.text, message.blocks) == ("final", [{"type": "divider"}])
    assert message.edited is not None
    ws.update("C0GENERAL", message.ts, "U0BOT", blocks=[])
    assert message.blocks is None
    with pytest.raises(SlackError, match="message_not_found"):
        ws.update("C0GENERAL", "1.000000", "U0BOT", text="x")


def test_reactions_are_per_user_and_name(ws: Workspace) -> None:
    message = ws.post("C0GENERAL", "U0ALICE", "idea")
    ws.react("C0GENERAL", message.ts, "U0BOB", "eyes")
    ws.react("C0GENERAL", message.ts, "U0BOT", "eyes")
    ws.react("C0GENERAL", message.ts, "U0BOB", "+1::skin-tone-2")
    assert message.reactions == {"eyes": ["U0BOB", "U0BOT"], "+1::skin-tone-2": ["U0BOB"]}
    with pytest.raises(SlackError, match="already_reacted"):
        ws.react("C0GENERAL", message.ts, "U0BOB", "eyes")
    with pytest.raises(SlackError, match="invalid_name"):
        ws.react("C0GENERAL", message.ts, "U0BOB", ":eyes:")


def test_ephemerals_need_a_member(ws: Workspace) -> None:
    ephemeral = ws.add_ephemeral("C0GENERAL", "U0BOB", "psst")
    assert ws.ephemerals == [ephemeral]
    with pytest.raises(SlackError, match="user_not_in_channel"):
        ws.add_ephemeral("C0GENERAL", "U0CAROL", "psst")


def test_home_views_keep_their_id_and_check_the_hash(ws: Workspace) -> None:
    first = ws.publish_home("U0ALICE", {"type": "home", "blocks": []}, None)
    first_hash = first.hash
    second = ws.publish_home("U0ALICE", {"type": "home", "blocks": []}, first_hash)
    assert second.id == first.id
    assert second.hash != first_hash
    with pytest.raises(SlackError, match="hash_conflict"):
        ws.publish_home("U0ALICE", {"type": "home", "blocks": []}, first_hash)
    assert ws.home_views == {"U0ALICE": first.id}


def test_modals_are_found_by_id_or_external_id(ws: Workspace) -> None:
    view = ws.open_view({"type": "modal", "external_id": "file-1", "blocks": []}, "trigger-1")
    assert ws.find_view(view.id, None) is view
    assert ws.find_view(None, "file-1") is view
    with pytest.raises(SlackError, match="not_found"):
        ws.find_view("V0NOPE", None)
    updated = ws.update_view(view, {"type": "modal", "blocks": []}, view.hash)
    assert updated.external_id == ""
    with pytest.raises(SlackError, match="hash_conflict"):
        ws.update_view(view, {"type": "modal", "blocks": []}, "stale")
