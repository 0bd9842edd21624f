"""Shortcuts and their forms: "File as feedback" on a message, "New feature request".

A shortcut's ``trigger_id`` lives about three seconds, so the form opens first (with
what is at hand: the message's words, the channel's customer); the submission
starts the workflow. The customer picker is typed ahead from the accounts.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Bot
from bot.listeners._show import show
from bot.modals import FILE_FEEDBACK, NEW_REQUEST, file_feedback_modal, new_request_modal
from feedback import accounts, areas, users
from feedback import requests as requests_db
from feedback.errors import NotFound
from feedback.schema import SEVERITIES
from workflows import messages
from workflows.intake import Submission, ingest_message, message_run_id
from workflows.requests import create_by_hand

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(app: AsyncApp, bot: Bot) -> None:
    """Register the shortcuts, their forms and the customer picker's options."""

    @app.shortcut(FILE_FEEDBACK)
    async def file_feedback(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel = shortcut["channel"]["id"]
        message = shortcut.get("message") or {}
        async with bot.db.read() as conn:
            account = await accounts.by_channel(conn, channel)
        view = file_feedback_modal(
            channel=channel,
            ts=shortcut.get("message_ts") or message.get("ts", ""),
            text=message.get("text", ""),
            account=(account.id, account.name) if account else None,
        )
        await show("a form", client.views_open(trigger_id=shortcut["trigger_id"], view=view))

    @app.view(FILE_FEEDBACK)
    async def file_feedback_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        values = view["state"]["values"]
        pain = (values["pain"]["pain"].get("value") or "").strip()
        picked = values.get("account", {}).get("account", {}).get("selected_option")
        severity = (values["severity"]["severity"].get("selected_option") or {}).get("value")
        if not pain:
            await ack(response_action="errors", errors={"pain": "Say what the customer needs."})
            return
        if severity not in SEVERITIES:
            await ack(response_action="errors", errors={"severity": "Pick a severity."})
            return
        where = json.loads(view.get("private_metadata") or "{}")
        submission = Submission(
            source="shortcut",
            user=body["user"]["id"],
            key=view["id"],
            channel=where.get("channel"),
            ts=where.get("ts"),
            text=pain,
            account_id=picked["value"] if picked else None,
            severity=severity,
        )
        await bot.engine.start(ingest_message, submission, run_id=message_run_id(submission))
        await ack()

    @app.options(re.compile(rf"^(account|{re.escape(messages.ACCOUNT_PICK)})$"))
    async def account_options(ack: AsyncAck, payload: dict[str, Any]) -> None:
        async with bot.db.read() as conn:
            found = await accounts.search(conn, payload.get("value", ""), limit=50)
        await ack(
            options=[
                {"text": {"type": "plain_text", "text": a.name[:75]}, "value": a.id} for a in found
            ]
        )

    @app.shortcut(NEW_REQUEST)
    async def new_request(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with bot.db.read() as conn:
            known = await areas.listing(conn)
        view = new_request_modal([(a.id, a.name) for a in known])
        await show("a form", client.views_open(trigger_id=shortcut["trigger_id"], view=view))

    @app.view(NEW_REQUEST)
    async def new_request_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        values = view["state"]["values"]
        title = " ".join((values["title"]["title"].get("value") or "").split())
        description = (values["description"]["description"].get("value") or "").strip()
        area = (values.get("area", {}).get("area", {}).get("selected_option") or {}).get("value")
        if len(title) < 4:
            await ack(
                response_action="errors", errors={"title": "Give it a title people will find."}
            )
            return
        slack_user = body["user"]["id"]
        person = await bot.deps.slack.user(slack_user)
        # one request per form: the view's id names it, so a resubmission adds nothing
        request_id = uuid.uuid5(uuid.NAMESPACE_URL, f"slack-view:{view['id']}").hex
        async with bot.db.transaction() as conn:
            creator = await users.ensure(
                conn,
                user_id=f"u-{slack_user}",
                slack_id=slack_user,
                name=person.name if person else slack_user,
                email=person.email if person else None,
            )
            try:
                await requests_db.get(conn, request_id, with_areas=False)
                known = True
            except NotFound:
                known = False
        if known:
            await ack()
            return
        handle = await create_by_hand(
            bot.engine,
            bot.db,
            request_id=request_id,
            title=title,
            description=description or title,
            creator_id=creator.id,
            area_ids=[area] if area else [],
        )
        logger.info("request created by hand", extra={"run_id": handle.run_id})
        await ack()
