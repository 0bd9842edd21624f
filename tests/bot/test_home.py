"""The App Home tab: questions with working buttons, followed requests, feedback, settings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from agents import Embedder, get_embedder
from bot.home import (
    MAX_QUESTIONS,
    FollowedRequest,
    HomeData,
    NotKnownYet,
    Question,
    RecentFeedback,
    home_view,
    load_home,
    publish_home,
    set_setting,
)
from bot.simulator.blocks import VIEW_BLOCK_LIMIT, block_problems
from feedback import users
from feedback.notifications import InvalidSetting, NotificationSettings
from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NOACCOUNT_CHANNEL,
    SAM,
    Product,
    button_values,
    running_product,
)
from workflows import messages
from workflows.decisions import answer_account, answer_approval
from workflows.engine import RunStatus
from workflows.messages import CandidateView


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder("local")


@pytest.fixture
async def product(db_url: str, embedder: Embedder) -> AsyncIterator[Product]:
    async with running_product(db_url, embedder) as running:
        yield running


async def _home(product: Product, slack_user: str) -> dict[str, Any]:
    """Publish the tab as the listener does; what the simulator holds (checked by it)."""
    await publish_home(product.deps.db, product.deps.slack, slack_user)
    view = product.sim.home_view(slack_user)
    assert view is not None
    return view


def _elements(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == kind:
                found.append(element)
    return found


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_a_pending_question_has_the_dm_buttons_and_they_decide(product: Product) -> None:
    item_id, run_id, dm = await product.unsure_question()

    view = await _home(product, SAM)

    assert view["type"] == "home"
    assert block_problems(view["blocks"], limit=VIEW_BLOCK_LIMIT) == []
    assert "Waiting for your answer (1)" in _text(view)
    for action_id in (
        messages.APPROVAL_LINK,
        messages.APPROVAL_NEW,
        messages.APPROVAL_NOT_FEEDBACK,
    ):
        assert button_values(view["blocks"], action_id) == button_values(dm, action_id)
    okta = next(
        v
        for v in button_values(view["blocks"], messages.APPROVAL_LINK)
        if v["request"] == product.backlog["okta"]
    )

    answer = await answer_approval(
        product.engine,
        approval_id=okta["approval"],
        slack_user=SAM,
        choice="link",
        request_id=okta["request"],
    )
    outcome = await product.engine.handle(run_id).result(timeout=30)
    after = await _home(product, SAM)

    assert answer.status == "decided"
    assert outcome["outcome"] == "linked" and outcome["request_id"] == product.backlog["okta"]
    assert "Waiting for your answer" not in _text(after)
    assert "→ Filed under *SSO with Okta* (`sso-with-okta`)" in _text(after)
    assert button_values(after["blocks"], messages.REQUEST_OPEN) == [
        {"request": product.backlog["okta"]}
    ]
    assert (await product.item(item_id)).request_id == product.backlog["okta"]


async def test_an_account_question_has_the_picker_and_it_decides(product: Product) -> None:
    ts = product.sim.post_message(NOACCOUNT_CHANNEL, JO, f"From a call today: {LINK_TEXT}")
    handle = await product.react(NOACCOUNT_CHANNEL, ts, SAM)
    await product.wait_status(handle.run_id, RunStatus.WAITING)

    view = await _home(product, SAM)

    [picker] = [
        m for m in _elements(view["blocks"], "static_select") if m["action_id"] == "account.pick"
    ]
    assert [o["text"]["text"] for o in picker["options"]] == ["Acme Corp", "Globex"]
    [unknown] = button_values(view["blocks"], messages.ACCOUNT_UNKNOWN)
    answer = await answer_account(
        product.engine, approval_id=unknown["approval"], slack_user=SAM, account_id=None
    )
    result = await product.engine.handle(handle.run_id).result(timeout=30)
    assert answer.status == "decided" and result["account_id"] is None


async def test_followed_requests_recent_feedback_and_settings(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    filed = await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.engine.handle(f"process:{filed['items'][0]}:0").result(timeout=30)

    view = await _home(product, SAM)

    said = _text(view)
    assert "Requests you follow" in said
    assert (
        "*Export dashboards to PDF*\\nOpen · 1 customer, $1.2M ARR · `export-dashboards-to-pdf`"
        in said
    )
    assert button_values(view["blocks"], messages.REQUEST_OPEN) == [
        {"request": product.backlog["pdf"]}
    ]
    assert "(Acme Corp)\\n→ Filed under *Export dashboards to PDF*" in said
    menus = {m["action_id"]: m for m in _elements(view["blocks"], "static_select")}
    assert set(menus) == {"settings.links", "settings.shipped"}
    for menu in menus.values():
        labels = [o["text"]["text"] for o in menu["options"]]
        assert labels == ["Each one at once", "Once a day", "Off"]
        assert menu["initial_option"] == {
            "text": {"type": "plain_text", "text": "Each one at once"},
            "value": "now",
        }


async def test_a_changed_setting_is_saved_and_shown(product: Product) -> None:
    async with product.deps.db.transaction() as conn:
        await users.ensure(conn, user_id=f"u-{SAM}", slack_id=SAM, name="Sam")

    saved = await set_setting(product.deps.db, SAM, "links", "daily")
    view = await _home(product, SAM)

    assert saved == NotificationSettings(links="daily", shipped="now")
    chosen = {
        m["action_id"]: m["initial_option"]["text"]["text"]
        for m in _elements(view["blocks"], "static_select")
    }
    assert chosen == {"settings.links": "Once a day", "settings.shipped": "Each one at once"}
    with pytest.raises(InvalidSetting, match="'sometimes' is not a setting for links"):
        await set_setting(product.deps.db, SAM, "links", "sometimes")
    with pytest.raises(NotKnownYet, match="once you have filed feedback"):
        await set_setting(product.deps.db, JO, "links", "off")


async def test_a_new_person_is_told_how_to_file_feedback(product: Product) -> None:
    async with product.deps.db.read() as conn:
        data = await load_home(conn, JO, emoji="feedback")

    view = await _home(product, JO)

    assert data == HomeData(slack_user=JO, known=False, emoji="feedback")
    assert ":feedback:" in _text(home_view(data))

    said = _text(view)
    assert "react to their message with :gtm-feedback:" in said
    assert "`/feedback <what the customer needs>`" in said
    assert _elements(view["blocks"], "static_select") == []  # nothing to tune yet
    assert "settings show up here once you have filed feedback" in said
    assert block_problems(view["blocks"], limit=VIEW_BLOCK_LIMIT) == []


async def test_a_notice_is_shown_on_top(product: Product) -> None:
    await publish_home(product.deps.db, product.deps.slack, JO, notice="Already decided by Sam.")

    view = product.sim.home_view(JO)

    assert view is not None
    assert view["blocks"][0]["text"]["text"] == "_Already decided by Sam._"


def test_a_busy_person_still_fits_in_one_view() -> None:
    candidates = tuple(
        CandidateView(f"r{n}", "A long request title " * 5, 0.7, "why " * 40, 3, Decimal(10**6))
        for n in range(3)
    )
    data = HomeData(
        slack_user=SAM,
        known=True,
        questions=tuple(
            Question(
                f"match:f{n}:0", "match", "words " * 200, "Acme", "high", None, "C1", candidates
            )
            for n in range(20)
        ),
        followed=tuple(
            FollowedRequest(f"r{n}", f"Request {n}", f"r-{n}", "open") for n in range(15)
        ),
        followed_total=40,
        recent=tuple(RecentFeedback(f"f{n}", "words " * 100, "pending") for n in range(10)),
    )

    view = home_view(data)

    assert len(view["blocks"]) <= VIEW_BLOCK_LIMIT
    assert block_problems(view["blocks"], limit=VIEW_BLOCK_LIMIT) == []
    said = _text(view)
    assert f"{20 - MAX_QUESTIONS} more in your DMs" in said and "…and 25 more." in said
    assert len(button_values(view["blocks"], messages.APPROVAL_NEW)) == MAX_QUESTIONS
