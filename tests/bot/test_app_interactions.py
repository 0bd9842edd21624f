"""Commands, shortcuts, forms and buttons through the real HTTP app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from bot.simulator import slack_requests as slack
from tests.bot.app_harness import App
from tests.workflows.harness import (
    ACME_CHANNEL,
    AREA_CHANNEL,
    ASK_TEXT,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    PRIYA,
    SAM,
    button_values,
)
from workflows import messages
from workflows.engine import RunStatus


def said(response: httpx.Response) -> str:
    """What an acknowledgement says: Bolt answers a bare text as text, else as JSON."""
    assert response.status_code == 200
    if response.headers["content-type"].startswith("application/json"):
        return json.dumps(response.json())
    return response.text


def dm_of(app: App, user: str) -> str:
    dm = app.sim.workspace.dm_of(user)
    assert dm is not None
    return dm


async def decided(app: App, item_id: str) -> None:
    """Wait for the item's question to be settled (the run woken by the click ends)."""
    await app.product.engine.handle(f"process:{item_id}:0").result(timeout=30)
    await app.product.settle()


async def unsure_question(app: App) -> tuple[str, dict[str, Any]]:
    """Dana's unsure ask, reacted to by Sam over HTTP: the question as it sits in Sam's DM."""
    ts = app.sim.post_message(ACME_CHANNEL, DANA, ASK_TEXT)
    await app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, item_user=DANA))
    [item] = await _items_soon(app)
    await app.product.wait_status(f"process:{item['id']}:0", RunStatus.WAITING)
    await app.sim.wait_for("chat.postMessage", where=lambda c: "Which request" in str(c.args))
    [question] = app.sim.dms(SAM)
    return item["id"], question


async def _items_soon(app: App) -> list[dict[str, Any]]:
    async with asyncio.timeout(30):
        while not (found := await app.product.items()):
            await asyncio.sleep(0.05)
    return found


def click(
    app: App, user: str, message: dict[str, Any], action_id: str, value: str
) -> slack.SlackRequest:
    channel = dm_of(app, SAM)
    return slack.block_action(
        action_id,
        value,
        user,
        channel=channel,
        message=message,
        response_url=app.sim.response_url(channel, message["ts"], user),
    )


# --- /feedback -----------------------------------------------------------------------


async def test_feedback_command_files_the_words(slack_app: App) -> None:
    response = await slack_app.send(slack.command(NEW_TEXT, SAM, ACME_CHANNEL))

    assert "I'll DM you where it goes" in said(response)
    await slack_app.product.settle()
    [item] = await slack_app.product.items()
    assert (item["source"], item["account_id"]) == ("command", "acc-acme")
    assert any("new request" in t for t in slack_app.product.dm_texts(SAM))


async def test_feedback_search_answers_privately_with_ranked_requests(slack_app: App) -> None:
    response = await slack_app.send(slack.command("search export dashboards as pdf", SAM))

    answer = response.json()
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    lines = answer["blocks"][1]["text"]["text"].splitlines()
    assert lines[0].startswith("1. *Export dashboards to PDF*")
    assert not await slack_app.product.items()


async def test_feedback_ship_is_for_the_product_team(slack_app: App) -> None:
    denied = await slack_app.send(slack.command("ship req-pdf", SAM))
    assert "Only the product team" in said(denied)

    await slack_app.make_product_team(PRIYA)
    request = await slack_app.product.request("req-pdf")
    shipped = await slack_app.send(slack.command(f"ship {request.slug}", PRIYA))
    assert "Marking *Export dashboards to PDF* shipped" in said(shipped)
    await slack_app.product.settle()
    assert (await slack_app.product.request("req-pdf")).status == "shipped"

    unknown = await slack_app.send(slack.command("ship no-such-thing", PRIYA))
    assert "No request called" in said(unknown)


async def test_help_empty_and_unknown_subcommands_answer_with_help(slack_app: App) -> None:
    for text in ("help", "", "shipit"):
        response = await slack_app.send(slack.command(text, SAM))
        assert "/feedback search" in said(response), text
    assert not await slack_app.product.engine.list_runs(limit=10)


# --- shortcuts and forms ---------------------------------------------------------------


async def test_file_as_feedback_opens_a_prefilled_form_and_files_the_edit(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    opened = await slack_app.send(
        slack.message_shortcut(SAM, ACME_CHANNEL, ts, text=LINK_TEXT, message_user=DANA)
    )
    assert opened.status_code == 200
    [modal] = slack_app.sim.modals()
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["pain"]["element"]["initial_value"] == LINK_TEXT
    assert blocks["account"]["element"]["initial_option"]["value"] == "acc-acme"

    edited = "We really need to export dashboards to PDF for our board meetings, urgently."
    values = {
        "pain": {"pain": {"type": "plain_text_input", "value": edited}},
        "account": {
            "account": {
                "type": "external_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Globex"},
                    "value": "acc-globex",
                },
            }
        },
        "severity": {
            "severity": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "High"},
                    "value": "high",
                },
            }
        },
    }
    submitted = await slack_app.send(
        slack.view_submission(
            SAM,
            values,
            callback_id="file_feedback",
            private_metadata=modal["private_metadata"],
            view_id=modal["id"],
        )
    )
    assert submitted.status_code == 200 and not submitted.content
    await slack_app.product.settle()

    [item] = await slack_app.product.items()
    assert (item["pain"], item["severity"], item["account_id"]) == (edited, "high", "acc-globex")
    assert item["quote"] == LINK_TEXT and item["message_ts"] == ts
    assert item["request_id"] == slack_app.product.backlog["pdf"]


async def test_an_empty_pain_is_refused_in_the_form(slack_app: App) -> None:
    values = {
        "pain": {"pain": {"type": "plain_text_input", "value": "  "}},
        "severity": {
            "severity": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
            }
        },
    }
    response = await slack_app.send(
        slack.view_submission(
            SAM,
            values,
            callback_id="file_feedback",
            private_metadata='{"channel":"C0ACME","ts":"1.2"}',
        )
    )
    assert response.json() == {
        "response_action": "errors",
        "errors": {"pain": "Say what the customer needs."},
    }
    assert not await slack_app.product.engine.list_runs(limit=10)


async def test_the_customer_picker_searches_accounts(slack_app: App) -> None:
    response = await slack_app.send(slack.block_suggestion("account", "glo", SAM))

    assert [o["value"] for o in response.json()["options"]] == ["acc-globex"]
    # the DM's picker searches too when there are too many accounts for a menu
    picked = await slack_app.send(slack.block_suggestion(messages.ACCOUNT_PICK, "acme", SAM))
    assert [o["value"] for o in picked.json()["options"]] == ["acc-acme"]
    everyone = await slack_app.send(slack.block_suggestion("account", "", SAM))
    assert [o["text"]["text"] for o in everyone.json()["options"]] == ["Acme Corp", "Globex"]


async def test_new_feature_request_form_creates_the_request(slack_app: App) -> None:
    await slack_app.send(slack.global_shortcut(PRIYA, callback_id="new_request"))
    [modal] = slack_app.sim.modals()
    [area] = [b for b in modal["blocks"] if b["block_id"] == "area"]
    assert [o["value"] for o in area["element"]["options"]] == ["area-reporting"]

    values = {
        "title": {"title": {"type": "plain_text_input", "value": "Scheduled PDF e-mails"}},
        "description": {"description": {"type": "plain_text_input", "value": "Every Monday."}},
        "area": {
            "area": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Reporting"},
                    "value": "area-reporting",
                },
            }
        },
    }
    submission = slack.view_submission(
        PRIYA, values, callback_id="new_request", view_id=modal["id"]
    )
    assert (await slack_app.send(submission)).status_code == 200
    await slack_app.send(submission)  # submitted twice: one request
    await slack_app.product.settle()

    runs = [
        r
        for r in await slack_app.product.engine.list_runs(limit=100)
        if r.workflow == "new-request"
    ]
    assert len(runs) == 1
    posted = [m.get("text", "") for m in slack_app.sim.messages(AREA_CHANNEL)]
    assert any("Scheduled PDF e-mails" in t for t in posted)


# --- buttons -------------------------------------------------------------------------------


async def test_a_click_decides_and_the_message_shows_who(slack_app: App) -> None:
    item_id, question = await unsure_question(slack_app)
    [okta] = [
        v
        for v in button_values(question["blocks"], messages.APPROVAL_LINK)
        if v["request"] == "req-okta"
    ]

    response = await slack_app.send(
        click(slack_app, SAM, question, messages.APPROVAL_LINK, json.dumps(okta))
    )
    assert response.status_code == 200
    await decided(slack_app, item_id)

    [item] = await slack_app.product.items()
    assert item["request_id"] == "req-okta"
    [updated] = slack_app.sim.dms(SAM)[:1]
    assert "Linked to *SSO with Okta* by <@U0SAM>" in json.dumps(updated["blocks"])


async def test_a_second_click_is_told_privately_and_changes_nothing(slack_app: App) -> None:
    item_id, question = await unsure_question(slack_app)
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    await slack_app.send(click(slack_app, SAM, question, messages.APPROVAL_NEW, json.dumps(new)))
    await decided(slack_app, item_id)

    [not_feedback] = button_values(question["blocks"], messages.APPROVAL_NOT_FEEDBACK)
    late = click(slack_app, SAM, question, messages.APPROVAL_NOT_FEEDBACK, json.dumps(not_feedback))
    await slack_app.send(late)
    await slack_app.sim.wait_for("response_url")

    [said] = slack_app.sim.ephemerals(user=SAM)
    assert "Already decided by <@U0SAM>" in said["text"]
    [item] = await slack_app.product.items()
    assert item["status"] == "filed" and item["request_id"] not in (
        None,
        *slack_app.product.backlog.values(),
    )


async def test_an_unauthorized_click_is_refused(slack_app: App) -> None:
    _, question = await unsure_question(slack_app)
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)

    await slack_app.send(click(slack_app, JO, question, messages.APPROVAL_NEW, json.dumps(new)))
    await slack_app.sim.wait_for("response_url")

    [said] = slack_app.sim.ephemerals(user=JO)
    assert "Only <@U0SAM> or the product team" in said["text"]
    [item] = await slack_app.product.items()
    assert item["status"] == "pending"


async def test_two_people_clicking_at_once_make_one_decision(slack_app: App) -> None:
    await slack_app.make_product_team(PRIYA)
    item_id, question = await unsure_question(slack_app)
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    [not_feedback] = button_values(question["blocks"], messages.APPROVAL_NOT_FEEDBACK)

    await asyncio.gather(
        slack_app.send(click(slack_app, SAM, question, messages.APPROVAL_NEW, json.dumps(new))),
        slack_app.send(
            click(
                slack_app, PRIYA, question, messages.APPROVAL_NOT_FEEDBACK, json.dumps(not_feedback)
            )
        ),
    )
    await decided(slack_app, item_id)
    await slack_app.sim.wait_for("response_url")

    [said] = slack_app.sim.ephemerals()
    assert "Already decided by" in said["text"]
    decisions = [
        e for e in await slack_app.product.audit() if e["action"] in ("decide", "discard", "create")
    ]
    [item] = await slack_app.product.items()
    assert item["status"] in ("filed", "discarded")
    assert len([d for d in decisions if d["action"] in ("discard",)]) <= 1


async def test_a_forged_button_value_is_refused(slack_app: App) -> None:
    _, question = await unsure_question(slack_app)

    await slack_app.send(
        click(slack_app, SAM, question, messages.APPROVAL_NEW, '{"approval":"nope"}')
    )
    await slack_app.sim.wait_for("response_url")

    [said] = slack_app.sim.ephemerals(user=SAM)
    assert "no longer exists" in said["text"]


async def test_undo_asks_again(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.product.settle()
    [confirmation] = slack_app.sim.dms(SAM)
    [undo] = button_values(confirmation["blocks"], messages.UNDO)

    await slack_app.send(click(slack_app, SAM, confirmation, messages.UNDO, json.dumps(undo)))
    await slack_app.sim.wait_for("chat.postMessage", where=lambda c: "Which request" in str(c.args))

    texts = slack_app.product.dm_texts(SAM)
    assert any("Which request" in t for t in texts)
    assert any("Unlinked" in t for t in texts)


async def test_open_shows_the_request_card(slack_app: App) -> None:
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.product.settle()
    [confirmation] = slack_app.sim.dms(SAM)
    [opened] = button_values(confirmation["blocks"], messages.REQUEST_OPEN)

    await slack_app.send(
        click(slack_app, SAM, confirmation, messages.REQUEST_OPEN, json.dumps(opened))
    )

    [card] = slack_app.sim.modals()
    text = json.dumps(card)
    assert "Export dashboards to PDF" in text
    assert "1 feedback from 1 customer ($1.2M ARR)" in text
    assert "request.ship" not in text  # Sam is not on the product team


async def test_mark_shipped_from_the_card(slack_app: App) -> None:
    await slack_app.make_product_team(PRIYA)
    channel = AREA_CHANNEL
    opened = slack.block_action(
        messages.REQUEST_OPEN, json.dumps({"request": "req-pdf"}), PRIYA, channel=channel
    )
    await slack_app.send(opened)
    [card] = slack_app.sim.modals()
    [ship] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]

    shipped = slack.block_action(  # clicked in the modal: a view container
        "request.ship",
        ship["value"],
        PRIYA,
        container="home",
        view_id=card["id"],
        view={"type": "modal", "callback_id": "request_card", "hash": card.get("hash", "")},
    )
    assert (await slack_app.send(shipped)).status_code == 200
    await slack_app.product.settle()

    assert (await slack_app.product.request("req-pdf")).status == "shipped"
    [card] = slack_app.sim.modals()
    assert "Marking *Export dashboards to PDF* shipped" in json.dumps(card)


async def test_a_429_from_slack_is_waited_out(slack_app: App) -> None:
    slack_app.sim.fail("chat.postMessage", status=429, retry_after=1)
    ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM))
    await slack_app.product.settle()

    statuses = [c.status for c in slack_app.sim.calls("chat.postMessage")]
    assert statuses[0] == 429 and statuses[-1] == 200
    assert len([t for t in slack_app.product.dm_texts(SAM) if "Filed under" in t]) == 1
