"""``/feedback`` parsing and the app's own Block Kit (pure)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.listeners.actions import button_ids
from bot.listeners.commands import Command, parse
from bot.listeners.events import mention_text
from bot.modals import (
    RequestCard,
    SearchHit,
    file_feedback_modal,
    help_blocks,
    new_request_modal,
    request_modal,
    search_blocks,
)
from bot.simulator.blocks import block_problems, check_view


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Command("help")),
        ("   ", Command("help")),
        ("help", Command("help")),
        ("HELP me", Command("help", "me")),
        ("search pdf export", Command("search", "pdf export")),
        ("search", Command("help")),
        ("ship pdf-export", Command("ship", "pdf-export")),
        ("ship", Command("help")),
        ("shipit", Command("help")),
        ("They need SAML before renewal", Command("file", "They need SAML before renewal")),
        ("searching for SSO is slow", Command("file", "searching for SSO is slow")),
    ],
)
def test_the_command_is_read_as_people_type_it(text: str, command: Command) -> None:
    assert parse(text) == command


def test_a_mention_keeps_the_words_without_the_mentions() -> None:
    assert mention_text("<@U0BOT> they need <@U0SAM|sam> SAML") == "they need SAML"
    assert mention_text("<@U0BOT>") == ""


@pytest.mark.parametrize("value", ["", "nope", "[1]", '{"approval": 3}', None])
def test_button_values_that_are_not_ours_carry_no_ids(value: object) -> None:
    assert button_ids(value) == {}


def test_button_values_carry_their_ids() -> None:
    assert button_ids('{"approval":"a1","request":"r1"}') == {"approval": "a1", "request": "r1"}


def test_the_file_feedback_form_prefills_the_message_and_the_channels_customer() -> None:
    view = file_feedback_modal(
        channel="C1", ts="1.2", text="We  need\nPDF export", account=("acc-1", "Acme Corp")
    )
    check_view(view, types=("modal",))
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["pain"]["element"]["initial_value"] == "We need PDF export"
    assert blocks["account"]["element"]["type"] == "external_select"
    assert blocks["account"]["element"]["initial_option"]["value"] == "acc-1"
    assert blocks["severity"]["element"]["initial_option"]["value"] == "medium"
    assert json.loads(view["private_metadata"]) == {"channel": "C1", "ts": "1.2"}


def test_the_file_feedback_form_without_a_customer_or_text() -> None:
    view = file_feedback_modal(channel="C1", ts="1.2", text="", account=None)
    check_view(view, types=("modal",))
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert "initial_option" not in blocks["account"]["element"]
    assert "initial_value" not in blocks["pain"]["element"]


def test_the_new_request_form_offers_the_areas() -> None:
    view = new_request_modal([("area-1", "Reporting"), ("area-2", "Identity")])
    check_view(view, types=("modal",))
    [area] = [b for b in view["blocks"] if b["block_id"] == "area"]
    assert [o["value"] for o in area["element"]["options"]] == ["area-1", "area-2"]
    assert not [b for b in new_request_modal([])["blocks"] if b["block_id"] == "area"]


CARD = RequestCard(
    request_id="r1",
    title="Export dashboards to PDF",
    slug="export-dashboards-to-pdf",
    status="open",
    description="Download <any> dashboard",
    areas=("Reporting",),
    feedback=3,
    customers=(("Acme Corp", Decimal("1200000")), ("Globex", Decimal("450000"))),
    arr=Decimal("1650000"),
    quotes=(("we need *PDF*", "https://x.slack.com/archives/C1/p1"), ("board decks", None)),
    can_ship=True,
)


def test_the_request_card_shows_demand_customers_and_words() -> None:
    view = request_modal(CARD)
    check_view(view, types=("modal",))
    text = json.dumps(view)
    assert "3 feedback from 2 customers ($1.7M ARR)" in text
    assert "Acme Corp ($1.2M)" in text
    assert "&lt;any&gt;" in text  # customer text stays text
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == "request.ship"
    assert json.loads(actions["elements"][0]["value"]) == {"request": "r1"}


def test_only_the_product_team_sees_mark_shipped_and_never_twice() -> None:
    from dataclasses import replace

    for card in (replace(CARD, can_ship=False), replace(CARD, status="shipped")):
        assert not [b for b in request_modal(card)["blocks"] if b["type"] == "actions"]


def test_search_results_and_help_are_valid_block_kit() -> None:
    hit = SearchHit("PDF <export>", "pdf", "open", 0.8, 2, Decimal("1650000"))
    _, blocks = search_blocks("pdf", [hit])
    assert block_problems(blocks) == []
    assert (
        "1. *PDF &lt;export&gt;* · open · 2 customers, $1.7M ARR · `pdf`"
        in blocks[1]["text"]["text"]
    )
    empty_text, empty = search_blocks("zzz", [])
    assert "No request matches" in empty_text and block_problems(empty) == []
    _, help_ = help_blocks("gtm-feedback")
    assert ":gtm-feedback:" in help_[0]["text"]["text"] and block_problems(help_) == []
