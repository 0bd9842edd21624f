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
from sqlalchemy.exc import IntegrityError

from bot.context import Bot
from bot.listeners._show import show
from bot.modals import FILE_FEEDBACK, NEW_REQUEST, file_feedback_modal, new_request_modal
from bot.text import clean, field, plain
from feedback import accounts, areas, users
from feedback.schema import SEVERITIES
from workflows import messages
from workflows.engine import FatalError, RetryableError
from workflows.intake import Submission, ingest_message, message_run_id
from workflows.requests import create_by_hand

__all__ = ["register"]

logger = logging.getLogger(__name__)


def _value(values: Any, block: str, key: str = "value") -> str | None:
    """A form's value: ``values[block][block][key]`` (a text, or a selected option's value)."""
    state = values.get(block, {}).get(block) if isinstance(values, dict) else None
    if not isinstance(state, dict):
        return None
    found = state.get(key)
    if key == "selected_option":
        found = found.get("value") if isinstance(found, dict) else None
    return clean(found).strip() if isinstance(found, str) else None


def _where(metadata: object) -> dict[str, str]:
    """The message a form files, from its ``private_metadata``."""
    try:
        where = json.loads(metadata) if isinstance(metadata, str) else {}
    except ValueError:
        return {}
    if not isinstance(where, dict):
        return {}
    return {k: v for k, v in where.items() if k in ("channel", "ts") and isinstance(v, str)}


def register(app: AsyncApp, bot: Bot) -> None:
    """Register the shortcuts, their forms and the customer picker's options."""

    @app.shortcut(FILE_FEEDBACK)
    async def file_feedback(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel = shortcut["channel"]["id"]
        message = shortcut.get("message") if isinstance(shortcut.get("message"), dict) else {}
        async with bot.db.read() as conn:
            account = await accounts.by_channel(conn, channel)
        view = file_feedback_modal(
            channel=channel,
            ts=field(shortcut, "message_ts") or field(message, "ts") or "",
            text=plain(field(message, "text") or ""),
            account=(account.id, account.name) if account else None,
        )
        await show("a form", client.views_open(trigger_id=shortcut["trigger_id"], view=view))

    @app.view(FILE_FEEDBACK)
    async def file_feedback_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        values = (view.get("state") or {}).get("values")
        pain = _value(values, "pain")
        picked = _value(values, "account", "selected_option")
        severity = _value(values, "severity", "selected_option")
        where = _where(view.get("private_metadata"))
        errors = {}
        if not pain:
            errors["pain"] = "Say what the customer needs."
        if severity not in SEVERITIES:
            errors["severity"] = "Pick a severity."
        if picked is not None:
            async with bot.db.read() as conn:
                if not await accounts.exists(conn, picked):
                    errors["account"] = "That customer is gone: pick another."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        if "channel" not in where or "ts" not in where:
            await ack()  # not a form this app opened: nothing to file
            logger.warning("ignored a file_feedback form without its message")
            return
        submission = Submission(
            source="shortcut",
            user=body["user"]["id"],
            key=view["id"],
            channel=where["channel"],
            ts=where["ts"],
            text=pain,
            account_id=picked,
            severity=severity,
        )
        await bot.engine.start(ingest_message, submission, run_id=message_run_id(submission))
        await ack()

    @app.options(re.compile(rf"^(account|{re.escape(messages.ACCOUNT_PICK)})$"))
    async def account_options(ack: AsyncAck, payload: dict[str, Any]) -> None:
        typed = payload.get("value")
        async with bot.db.read() as conn:
            found = await accounts.search(conn, typed if isinstance(typed, str) else "", limit=50)
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
        values = (view.get("state") or {}).get("values")
        title = " ".join((_value(values, "title") or "").split())
        description = _value(values, "description") or ""
        area = _value(values, "area", "selected_option")
        errors = {}
        if len(title) < 4:
            errors["title"] = "Give it a title people will find."
        if area is not None:
            async with bot.db.read() as conn:
                if area not in {a.id for a in await areas.listing(conn)}:
                    errors["area"] = "That area is gone: pick another."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        slack_user = body["user"]["id"]
        try:
            person = await bot.slack.user(slack_user)
        except (FatalError, RetryableError):  # Slack is slow or says no: the id will do
            person = None
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
            handle = await create_by_hand(
                bot.engine,
                bot.db,
                request_id=request_id,
                title=title,
                description=description or title,
                creator_id=creator.id,
                area_ids=[area] if area else [],
            )
        except IntegrityError:  # the same form, submitted again while the first was saved
            await ack()
            return
        logger.info("request created by hand", extra={"run_id": handle.run_id})
        await ack()
