"""The Block Kit builders: pure, valid Block Kit, customer words kept as text."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from bot.simulator.blocks import block_problems
from workflows import messages
from workflows.messages import CandidateView, Message

CANDIDATES = [
    CandidateView(f"req-{n}", f"Request {n}", 0.7 - n / 100, f"why {n}", n, Decimal(n * 1000))
    for n in range(5)
]
EVERY_MESSAGE = {
    "linked": messages.linked(
        feedback_id="f1",
        turn=0,
        request_id="r1",
        title="PDF export",
        account="Acme",
        severity="high",
        customers=7,
        arr=Decimal("1200000"),
        quote="We need PDF export",
    ),
    "approval_request": messages.approval_request(
        approval_id="a1",
        account=None,
        severity="low",
        quote="Something like SSO?",
        candidates=CANDIDATES,
        permalink="https://x.slack.com/archives/C1/p1",
    ),
    "approval_decided": messages.approval_decided(
        outcome="Linked to *SSO*", by_user="U1", quote="q"
    ),
    "approval_reminder": messages.approval_reminder(days_left=6),
    "approval_expired": messages.approval_expired(title="T", duplicate_of="D"),
    "new_request_filed": messages.new_request_filed(
        request_id="r1", title="T", area="Reporting", account="Acme", quote="q"
    ),
    "undone": messages.undone(title="T", by_user="U1", quote="q"),
    "account_picker": messages.account_picker(
        approval_id="a1",
        channel_id="C1",
        quote="q",
        accounts=[(f"acc-{n}", f"Account {n}") for n in range(150)],
    ),
    "account_chosen": messages.account_chosen(account=None, by_user=None),
    "nothing_to_file": messages.nothing_to_file(channel_id="C1"),
    "cannot_read_channel": messages.cannot_read_channel(channel_id="C1", error="not_in_channel"),
}


@pytest.mark.parametrize("name", sorted(EVERY_MESSAGE))
def test_every_message_is_valid_block_kit_with_a_text_fallback(name: str) -> None:
    message = EVERY_MESSAGE[name]

    assert message.text
    assert block_problems(message.blocks) == []
    json.dumps(message.blocks)  # JSON all the way down


def _buttons(message: Message) -> list[dict[str, Any]]:
    found = []
    for block in message.blocks:
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
        if "accessory" in block:
            found.append(block["accessory"])
    return found


def test_the_question_offers_at_most_three_candidates_then_new_and_not_feedback() -> None:
    buttons = _buttons(EVERY_MESSAGE["approval_request"])

    assert [b["action_id"] for b in buttons] == [messages.APPROVAL_LINK] * 3 + [
        messages.APPROVAL_NEW,
        messages.APPROVAL_NOT_FEEDBACK,
    ]
    assert [json.loads(b["value"]) for b in buttons[:3]] == [
        {"approval": "a1", "request": f"req-{n}"} for n in range(3)
    ]


def test_customer_words_cannot_inject_markup_or_mentions() -> None:
    message = messages.linked(
        feedback_id="f",
        turn=0,
        request_id="r",
        title="<!channel> *T*",
        account="A & B",
        severity="low",
        customers=0,
        arr=Decimal(0),
        quote="<@U123> <https://evil.example|click> & more",
    )

    body = json.dumps(message.blocks)
    assert "<@U123>" not in body and "<!channel>" not in body and "<https://evil" not in body
    assert "&lt;@U123&gt;" in body and "A &amp; B" in body


def test_demand_and_money_read_naturally() -> None:
    linked = EVERY_MESSAGE["linked"].blocks[0]["text"]["text"]

    assert linked == "Filed under *PDF export* (Acme, high). 7 customers asked, $1.2M ARR."
    amounts = (950, 950_000, 999_999, 1_000_000, 1_650_000, 2_500_000, Decimal("1249.5"))
    assert [messages.money(v) for v in amounts] == [
        "$950",
        "$950K",
        "$1M",
        "$1M",
        "$1.7M",
        "$2.5M",
        "$1K",
    ]


def test_the_account_picker_searches_when_there_are_more_than_one_hundred_accounts() -> None:
    picker = EVERY_MESSAGE["account_picker"]  # 150 accounts
    [actions] = [b for b in picker.blocks if b["type"] == "actions"]
    select, unknown = actions["elements"]

    assert select["type"] == "external_select"
    assert select["action_id"] == messages.ACCOUNT_PICK
    assert unknown["action_id"] == messages.ACCOUNT_UNKNOWN


def test_the_account_picker_lists_up_to_one_hundred_accounts() -> None:
    picker = messages.account_picker(
        approval_id="a1",
        channel_id=None,
        quote="q",
        accounts=[(f"acc-{n}", f"Account {n}") for n in range(100)],
    )
    [actions] = [b for b in picker.blocks if b["type"] == "actions"]
    select, _ = actions["elements"]

    assert select["type"] == "static_select"
    assert len(select["options"]) == 100


def test_long_quotes_are_clipped() -> None:
    message = messages.undone(title="T", by_user="U1", quote="word " * 1000)

    assert len(message.blocks[1]["text"]["text"]) < 700


def test_the_account_answer_says_who_chose_and_whether_anyone_did() -> None:
    chosen = messages.account_chosen(account="Acme", by_user="U1").text
    unknown = messages.account_chosen(account=None, by_user="U1").text
    nobody = messages.account_chosen(account=None, by_user=None).text

    assert chosen == "Customer: *Acme*, chosen by <@U1>."
    assert unknown == "Customer: *unknown*, as <@U1> said."
    assert nobody == "Customer: *unknown* (no answer in time)."


def test_a_question_with_nothing_to_offer_asks_about_a_new_request() -> None:
    message = messages.approval_request(
        approval_id="a1", account="Acme", severity="low", quote="q", candidates=[]
    )

    assert message.blocks[0]["text"]["text"].startswith("Nothing else matches: a new request?")
    assert [b["action_id"] for b in _buttons(message)] == [
        messages.APPROVAL_NEW,
        messages.APPROVAL_NOT_FEEDBACK,
    ]
    assert block_problems(message.blocks) == []


def test_notification_texts_escape_titles_too() -> None:
    message = messages.undone(title="<!here> & co", by_user="U1", quote="q")

    assert message.text == "Unlinked from &lt;!here&gt; &amp; co."


def test_a_long_reason_is_clipped_after_escaping_and_stays_valid() -> None:
    message = messages.approval_request(
        approval_id="a1",
        account="Acme",
        severity="low",
        quote="q",
        candidates=CANDIDATES,
        reason="They name different specifics: " + "a<b & c>d " * 400,
    )

    [context] = [b for b in message.blocks if b["type"] == "context"]
    text = context["elements"][0]["text"]
    assert text.startswith("Not linked automatically: They name different specifics: a&lt;b")
    assert len(text) <= 3000
    assert block_problems(message.blocks) == []


def test_a_clipped_text_never_ends_inside_an_escape() -> None:
    message = messages.approval_request(
        approval_id="a1",
        account="Acme",
        severity="low",
        quote="q",
        candidates=[],
        reason="x" * 2966 + "&" * 10,
    )

    [context] = [b for b in message.blocks if b["type"] == "context"]
    text = context["elements"][0]["text"]
    assert text.endswith("&amp;…") and len(text) <= 3000
