"""Block Kit validation: what passes, and Slack's words for what does not."""

from __future__ import annotations

from typing import Any

import pytest

from bot.simulator import SlackError
from bot.simulator.blocks import block_problems, check_message_blocks, check_view


def button(
    action_id: str | None = "approve", text: str = "Approve", **extra: Any
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text}}
    if action_id is not None:
        element["action_id"] = action_id
    return element | extra


APPROVAL: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "New feature request"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*PDF export* from Acme"},
        "fields": [{"type": "mrkdwn", "text": "*Customer*\nAcme"}],
        "accessory": button("open", "Open"),
    },
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            button("approve", style="primary", value="req-1"),
            button("reject", "Reject", style="danger", value="req-1"),
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "request req-1"}]},
    {"type": "divider"},
    {"type": "rich_text", "elements": []},
    {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "chart"},
    {
        "type": "input",
        "label": {"type": "plain_text", "text": "Why?"},
        "element": {"type": "plain_text_input", "action_id": "why"},
    },
]


def test_a_realistic_approval_message_passes() -> None:
    assert block_problems(APPROVAL) == []
    assert check_message_blocks(APPROVAL) is APPROVAL
    assert check_message_blocks(None) is None


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ("not a list", "must provide an array [json-pointer:/blocks]"),
        ([1], "must provide an object [json-pointer:/blocks/0]"),
        ([{"type": "banner"}], "unknown block type 'banner'"),
        ([{"text": "x"}], "unknown block type None"),
        ([{"type": "divider"}] * 51, "must provide no more than 50 items [json-pointer:/blocks]"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([{"type": "section"}], "must provide either text or fields [json-pointer:/blocks/0]"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "Hi"}}],
            "must be one of plain_text [json-pointer:/blocks/0/text/type]",
        ),
        (
            [{"type": "actions", "elements": [button(action_id=None)]}],
            "must provide an action_id",
        ),
        (
            [{"type": "actions", "elements": [button(text="x" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button(value="v" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button("same"), button("same")]}],
            "action_id must be unique within a block [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            [{"type": "actions", "elements": [button(style="warning")]}],
            "must be one of primary, danger",
        ),
        ([{"type": "actions", "elements": []}], "must provide an array of 1 to 25 items"),
        (
            [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
            "duplicate block_id 'a'",
        ),
        ([{"type": "image", "image_url": "https://x/y.png"}], "[json-pointer:/blocks/0/alt_text]"),
    ],
)
def test_rule_breaking_blocks_are_named_with_a_json_pointer(blocks: object, problem: str) -> None:
    problems = block_problems(blocks)
    assert any(problem in p for p in problems), problems


def test_action_ids_may_repeat_across_blocks() -> None:
    blocks = [{"type": "actions", "elements": [button("approve")]} for _ in range(2)]
    assert block_problems(blocks) == []


def test_messages_answer_invalid_blocks_as_slack_does() -> None:
    with pytest.raises(SlackError) as caught:
        check_message_blocks([{"type": "banner"}])
    body = caught.value.to_body()
    assert body["error"] == "invalid_blocks"
    assert body["errors"][0].startswith("unknown block type 'banner'")
    assert body["response_metadata"]["messages"][0].startswith("[ERROR] unknown block type")


def test_blocks_that_are_not_json_answer_invalid_blocks_format() -> None:
    with pytest.raises(SlackError, match="invalid_blocks_format"):
        check_message_blocks("[{not json")


def test_views_hold_up_to_100_blocks_and_need_the_right_type() -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert check_view(home, types=("home",)) is home
    with pytest.raises(SlackError) as caught:
        check_view(home | {"blocks": [{"type": "divider"}] * 101}, types=("home",))
    assert caught.value.error == "invalid_arguments"
    assert caught.value.messages == (
        "[ERROR] must provide no more than 100 items [json-pointer:/view/blocks]",
    )
    with pytest.raises(SlackError, match="must be one of modal"):
        check_view(home, types=("modal",))
    with pytest.raises(SlackError, match=r"must provide an object \[json-pointer:/view\]"):
        check_view("nope", types=("home",))


def test_modals_need_a_short_plain_title() -> None:
    modal: dict[str, Any] = {"type": "modal", "blocks": []}
    with pytest.raises(SlackError, match="/view/title"):
        check_view(modal, types=("modal",))
    titled = modal | {"title": {"type": "plain_text", "text": "File feedback"}}
    assert check_view(titled, types=("modal",)) is titled
    with pytest.raises(SlackError, match="must be less than 25 characters"):
        check_view(modal | {"title": {"type": "plain_text", "text": "x" * 25}}, types=("modal",))


def test_huge_views_are_too_large() -> None:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}
    with pytest.raises(SlackError, match="view_too_large"):
        check_view({"type": "home", "blocks": [block] * 100}, types=("home",))
