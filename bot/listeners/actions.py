"""Clicks: approval choices, the account picker, Undo, Open, Mark shipped, settings.

A button carries only ids; the click is authorized and decided in the database
(:mod:`workflows.decisions`: a compare-and-set committed with the wake-up of the
waiting run). The run then updates the message to say who decided what. A second,
late or unauthorized click gets a private answer and changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Bot
from bot.home import publish_home, set_setting
from bot.listeners._show import show
from bot.modals import REQUEST_SHIP, request_modal
from bot.request_card import load_card
from feedback.errors import NotFound
from workflows import messages
from workflows.decisions import Answer, answer_account, answer_approval, undo
from workflows.requests import ship

__all__ = ["button_ids", "register"]

logger = logging.getLogger(__name__)

APPROVAL = re.compile(r"^approval\.(link|new|not_feedback)$")
SETTINGS = re.compile(r"^settings\.(links|shipped)$")


def button_ids(value: object) -> dict[str, str]:
    """The ids a button carries; empty for a value that is not ours (stale or forged)."""
    try:
        ids = json.loads(str(value))
    except ValueError:
        return {}
    if not isinstance(ids, dict):
        return {}
    return {str(k): str(v) for k, v in ids.items() if isinstance(v, str)}


def register(app: AsyncApp, bot: Bot) -> None:
    """Register the click listeners."""

    async def tell(body: dict[str, Any], respond: AsyncRespond, answer: Answer) -> None:
        """Refresh the Home tab after a click there; answer privately when nothing changed."""
        on_home = (body.get("container") or {}).get("type") == "view" and (
            body.get("view") or {}
        ).get("type") == "home"
        if on_home:
            notice = None if answer.status == "decided" else answer.text
            home = publish_home(
                bot.db, bot.slack, body["user"]["id"], notice=notice, emoji=bot.emoji
            )
            await show("the Home tab", home)
        elif answer.status != "decided" and body.get("response_url"):
            private = respond(text=answer.text, response_type="ephemeral", replace_original=False)
            await show("a private answer", private)

    @app.action(APPROVAL)
    async def approval(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        ids = button_ids(action.get("value"))
        choice = action["action_id"].split(".", 1)[1]
        answer = await answer_approval(
            bot.engine,
            approval_id=ids.get("approval", ""),
            slack_user=body["user"]["id"],
            choice=choice,
            request_id=ids.get("request"),
        )
        logger.info("approval click: %s", answer.status)
        await tell(body, respond, answer)

    @app.action(messages.ACCOUNT_PICK)
    async def account_picked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        approval_id = str(action.get("block_id", "")).removeprefix("account.")
        picked = (action.get("selected_option") or {}).get("value")
        answer = await answer_account(
            bot.engine, approval_id=approval_id, slack_user=body["user"]["id"], account_id=picked
        )
        await tell(body, respond, answer)

    @app.action(messages.ACCOUNT_UNKNOWN)
    async def account_unknown(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        ids = button_ids(action.get("value"))
        answer = await answer_account(
            bot.engine,
            approval_id=ids.get("approval", ""),
            slack_user=body["user"]["id"],
            account_id=None,
        )
        await tell(body, respond, answer)

    @app.action(messages.UNDO)
    async def undo_link(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        ids = button_ids(action.get("value"))
        turn = ids.get("turn", "")
        if "feedback" not in ids or not (turn.isascii() and turn.isdecimal()):
            answer = Answer("invalid", "That button is out of date.")
        else:
            answer = await undo(
                bot.engine,
                bot.db,
                feedback_id=ids["feedback"],
                turn=int(turn),
                slack_user=body["user"]["id"],
            )
        if answer.status != "decided" and body.get("response_url"):
            private = respond(text=answer.text, response_type="ephemeral", replace_original=False)
            await show("a private answer", private)

    @app.action(messages.REQUEST_OPEN)
    async def open_request(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        request_id = button_ids(action.get("value")).get("request", "")
        try:
            async with bot.db.read() as conn:
                card = await load_card(conn, request_id, body["user"]["id"])
        except NotFound:
            if body.get("response_url"):
                gone = respond(
                    text="That request no longer exists.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                await show("a private answer", gone)
            return
        modal = client.views_open(trigger_id=body["trigger_id"], view=request_modal(card))
        await show("the request card", modal)

    @app.action(REQUEST_SHIP)
    async def mark_shipped(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        request_id = button_ids(action.get("value")).get("request", "")
        slack_user = body["user"]["id"]
        answer = await ship(bot.engine, bot.db, request=request_id, slack_user=slack_user)
        logger.info("ship click: %s", answer.status)
        view = body.get("view") or {}
        try:
            async with bot.db.read() as conn:
                card = await load_card(conn, request_id, slack_user)
        except NotFound:
            return
        modal = request_modal(card)
        modal["blocks"].insert(
            1, {"type": "context", "elements": [{"type": "mrkdwn", "text": answer.text}]}
        )
        if view.get("id"):  # the card it was clicked in, refreshed
            await show("the request card", client.views_update(view_id=view["id"], view=modal))

    @app.action(SETTINGS)
    async def setting_changed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        kind = action["action_id"].split(".", 1)[1]
        value = (action.get("selected_option") or {}).get("value", "")
        slack_user = body["user"]["id"]
        notice = None
        try:
            await set_setting(bot.db, slack_user, kind, value)
        except ValueError as exc:
            notice = str(exc)
        home = publish_home(bot.db, bot.slack, slack_user, notice=notice, emoji=bot.emoji)
        await show("the Home tab", home)

    @app.action(re.compile(".*"))
    async def any_other_click(ack: AsyncAck, action: dict[str, Any]) -> None:
        await ack()  # links (buttons with a url) and stale buttons of older versions
        logger.debug("ignored click %s", action.get("action_id"))
