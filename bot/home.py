"""The App Home tab: a person's open questions, followed requests, recent feedback, settings.

::

    async with db.read() as conn:
        data = await load_home(conn, "U0SAM")     # what the tab shows, read once
    view = home_view(data)                        # pure: {"type": "home", "blocks": [...]}
    await publish_home(db, slack, "U0SAM")        # both, then views.publish

Questions waiting for the person are drawn by the same builders as their DMs
(:func:`workflows.messages.approval_request`, :func:`~workflows.messages.account_picker`),
so a click in the tab goes to the same listeners with the same action ids and
values. Followed requests carry *Open* (``request.open``); the two notification
settings are ``static_select`` menus (``settings.links``, ``settings.shipped``) whose
change the listeners save with :func:`set_setting`, then publish the tab again.

A view holds at most 100 blocks: the tab shows the first :data:`MAX_QUESTIONS`
questions, :data:`MAX_FOLLOWED` followed requests and :data:`MAX_RECENT` items, and
says how many more there are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import accounts, activity, approvals, items, notifications, users
from feedback import requests as requests_db
from feedback.database import Database
from feedback.errors import NotFound
from feedback.notifications import NotificationSettings
from workflows import messages
from workflows.messages import CandidateView, Message
from workflows.slack import Slack, map_slack_errors

__all__ = [
    "DEFAULT_EMOJI",
    "MAX_FOLLOWED",
    "MAX_QUESTIONS",
    "MAX_RECENT",
    "SETTINGS_LINKS",
    "SETTINGS_SHIPPED",
    "SETTING_LABELS",
    "FollowedRequest",
    "HomeData",
    "NotKnownYet",
    "Question",
    "RecentFeedback",
    "home_view",
    "load_home",
    "publish_home",
    "set_setting",
]

SETTINGS_LINKS = "settings.links"
SETTINGS_SHIPPED = "settings.shipped"
SETTING_LABELS = {"now": "Each one at once", "daily": "Once a day", "off": "Off"}
"""The menu's label of each notification choice, in menu order."""
DEFAULT_EMOJI = "gtm-feedback"
MAX_QUESTIONS = 5
MAX_FOLLOWED = 15
MAX_RECENT = 10
SNIPPET = 100
_SETTINGS = (
    (SETTINGS_LINKS, "links", "*Where your feedback was filed*\nAfter I match it to a request"),
    (SETTINGS_SHIPPED, "shipped", "*Requests you follow ship*\nSo you can tell your customers"),
)


class NotKnownYet(ValueError):
    """Settings were changed by someone the bot has no record of (nothing filed yet)."""


@dataclass(frozen=True)
class Question:
    """A question waiting for the person's answer, with what its DM shows.

    Attributes:
        approval_id: The question.
        kind: ``match`` (which request?) or ``account`` (which customer?).
        quote: The customer's words.
        account: The customer's name, when known.
        severity: How much it hurts them.
        permalink: The Slack message it came from.
        channel_id: The channel it came from.
        candidates: The requests offered (``match``).
        accounts: The accounts to pick from, as (id, name), largest first (``account``).
    """

    approval_id: str
    kind: str
    quote: str
    account: str | None = None
    severity: str = "medium"
    permalink: str | None = None
    channel_id: str | None = None
    candidates: tuple[CandidateView, ...] = ()
    accounts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FollowedRequest:
    """A request the person follows: status and demand."""

    request_id: str
    title: str
    slug: str
    status: str
    customers: int = 0
    arr: Decimal = Decimal(0)


@dataclass(frozen=True)
class RecentFeedback:
    """A piece of feedback the person filed, and where it went.

    Attributes:
        feedback_id: The item.
        quote: The customer's words.
        status: ``processing``, ``pending``, ``filed`` or ``discarded``.
        account: The customer's name, when known.
        permalink: The Slack message it came from.
        request_title: The request it is filed under (``filed``).
        request_slug: That request's slug.
    """

    feedback_id: str
    quote: str
    status: str
    account: str | None = None
    permalink: str | None = None
    request_title: str | None = None
    request_slug: str | None = None


@dataclass(frozen=True)
class HomeData:
    """Everything the Home tab shows for one person (see :func:`load_home`).

    Attributes:
        slack_user: Whose tab it is.
        known: Whether the bot has a record of them (they filed or followed something).
        questions: Their unanswered questions, oldest first.
        followed: Requests they follow, the most recently followed first.
        followed_total: How many requests they follow in all.
        recent: Their latest feedback, newest first.
        settings: Their notification settings.
        emoji: The reaction that files feedback (for the empty state).
        notice: A line to show on top (e.g. why a click changed nothing).
    """

    slack_user: str
    known: bool = False
    questions: tuple[Question, ...] = ()
    followed: tuple[FollowedRequest, ...] = ()
    followed_total: int = 0
    recent: tuple[RecentFeedback, ...] = ()
    settings: NotificationSettings = field(default_factory=NotificationSettings)
    emoji: str = DEFAULT_EMOJI
    notice: str | None = None


# --- reading --------------------------------------------------------------------------


async def load_home(
    conn: AsyncConnection, slack_user: str, *, emoji: str = DEFAULT_EMOJI
) -> HomeData:
    """Read what a person's Home tab shows.

    Args:
        conn: A connection to the domain database.
        slack_user: The person's Slack id.
        emoji: The reaction that files feedback (``FEEDBACK_EMOJI``), named in the
            empty state.
    """
    try:
        user = await users.get_by_slack_id(conn, slack_user)
    except NotFound:
        return HomeData(slack_user=slack_user, emoji=emoji)
    questions = [await _question(conn, a) for a in await approvals.pending_for(conn, user.id)]
    followed_ids = await activity.followed(conn, user.id)
    return HomeData(
        slack_user=slack_user,
        known=True,
        questions=tuple(q for q in questions if q is not None),
        followed=tuple(await _followed(conn, followed_ids[:MAX_FOLLOWED])),
        followed_total=len(followed_ids),
        recent=tuple(await _recent(conn, user.id)),
        settings=await notifications.get_settings(conn, user.id),
        emoji=emoji,
    )


async def _question(conn: AsyncConnection, approval: approvals.Approval) -> Question | None:
    try:
        seen = await items.view(conn, approval.feedback_id)
    except NotFound:
        return None
    item = seen.item
    if approval.kind == "account":
        asked = await _asked_items(conn, item)
        known = await accounts.listing(conn, limit=101)  # over 100: the menu searches
        return Question(
            approval_id=approval.id,
            kind="account",
            quote="\n".join(i.quote for i in asked),
            channel_id=item.channel_id,
            accounts=tuple((a.id, a.name) for a in known),
        )
    return Question(
        approval_id=approval.id,
        kind=approval.kind,
        quote=item.quote,
        account=seen.account_name,
        severity=item.severity,
        permalink=item.permalink,
        channel_id=item.channel_id,
        candidates=tuple(_candidate(c) for c in approval.candidates),
    )


async def _asked_items(conn: AsyncConnection, item: items.FeedbackItem) -> list[items.FeedbackItem]:
    """The items an account question covers: every ask of the item's message."""
    if not (item.channel_id and item.message_ts):
        return [item]
    same = [
        i
        for i in await items.for_message(conn, item.channel_id, item.message_ts)
        if i.message_ts == item.message_ts
    ]
    return same or [item]


def _candidate(offered: dict[str, Any]) -> CandidateView:
    return CandidateView(
        request_id=str(offered["request_id"]),
        title=str(offered["title"]),
        score=float(offered.get("score") or 0.0),
        why=str(offered.get("why") or ""),
        customers=int(offered.get("customers") or 0),
        arr=Decimal(str(offered.get("arr") or "0")),
    )


async def _followed(conn: AsyncConnection, request_ids: Sequence[str]) -> list[FollowedRequest]:
    found = await requests_db.get_many(conn, request_ids, with_areas=False)
    demand = await requests_db.demand(conn, request_ids)
    out = []
    for request_id in request_ids:
        request = found.get(request_id)
        if request is None:
            continue
        asked = demand.get(request_id, requests_db.Demand())
        out.append(
            FollowedRequest(
                request_id=request.id,
                title=request.title,
                slug=request.slug,
                status=request.status,
                customers=asked.accounts,
                arr=asked.arr,
            )
        )
    return out


async def _recent(conn: AsyncConnection, user_id: str) -> list[RecentFeedback]:
    latest = await activity.recent_feedback(conn, user_id, limit=MAX_RECENT)
    filed_under = await requests_db.get_many(
        conn, [i.request_id for i in latest if i.request_id], with_areas=False
    )
    names: dict[str, str] = {}
    for account_id in {i.account_id for i in latest if i.account_id}:
        names[account_id] = (await accounts.get(conn, account_id)).name
    out = []
    for item in latest:
        request = filed_under.get(item.request_id or "") if item.status == "filed" else None
        out.append(
            RecentFeedback(
                feedback_id=item.id,
                quote=item.quote,
                status=item.status,
                account=names.get(item.account_id or ""),
                permalink=item.permalink,
                request_title=request.title if request else None,
                request_slug=request.slug if request else None,
            )
        )
    return out


# --- what the listeners call ----------------------------------------------------------


async def publish_home(
    db: Database,
    slack: Slack,
    slack_user: str,
    *,
    notice: str | None = None,
    emoji: str = DEFAULT_EMOJI,
) -> None:
    """Read a person's Home tab and publish it (``views.publish``).

    Args:
        db: The domain database.
        slack: The bot's Slack client.
        slack_user: Whose tab.
        notice: A line shown on top (why a click changed nothing, say).
        emoji: The reaction that files feedback, named in the empty state.

    Raises:
        SlackFatal: Slack refused the view (mapped from ``slack_sdk``'s errors).
    """
    async with db.read() as conn:
        data = await load_home(conn, slack_user, emoji=emoji)
    view = home_view(dataclasses.replace(data, notice=notice))
    with map_slack_errors("views.publish"):
        await (await slack.api(slack_user)).views_publish(user_id=slack_user, view=view)


async def set_setting(db: Database, slack_user: str, kind: str, value: str) -> NotificationSettings:
    """Save one notification setting of a person (from the Home tab's menus).

    Args:
        db: The domain database.
        slack_user: The person's Slack id.
        kind: ``links`` or ``shipped`` (the menu's action id without ``settings.``).
        value: ``now``, ``daily`` or ``off``.

    Returns:
        All their settings, after the change.

    Raises:
        InvalidSetting: ``kind`` or ``value`` is not a known one (a ``ValueError``).
        NotKnownYet: The bot has no record of the person (a ``ValueError``).
    """
    async with db.transaction() as conn:
        try:
            user = await users.get_by_slack_id(conn, slack_user)
        except NotFound:
            raise NotKnownYet(
                "Your notification settings can be changed once you have filed feedback."
            ) from None
        return await notifications.set_setting(conn, user.id, kind, value)


# --- the view (pure) ------------------------------------------------------------------


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab of ``data``: a ``home`` view of at most 100 blocks."""
    blocks: list[dict[str, Any]] = []
    if data.notice:
        blocks.append(_section(f"_{messages.escape(data.notice)}_"))
    if not (data.questions or data.followed or data.recent):
        blocks.append(_section(_welcome(data.emoji)))
    blocks += _questions(data.questions)
    blocks += _followed_blocks(data.followed, data.followed_total)
    blocks += _recent_blocks(data.recent)
    blocks += _settings_blocks(data)
    return {"type": "home", "blocks": blocks}


def _welcome(emoji: str) -> str:
    return (
        "*File customer feedback in one gesture.*\n"
        f"When a customer asks for something, react to their message with :{emoji}: "
        "(or pick *File as feedback* in its ⋯ menu). I file it under the right feature "
        "request, or draft a new one, and tell you where it went. When it ships, you hear "
        "it first.\n"
        "No message to react to? Type `/feedback <what the customer needs>`."
    )


def _questions(questions: Sequence[Question]) -> list[dict[str, Any]]:
    if not questions:
        return []
    blocks = [_header(f"Waiting for your answer ({len(questions)})")]
    for question in questions[:MAX_QUESTIONS]:
        blocks += _question_message(question).blocks
        blocks.append({"type": "divider"})
    if len(questions) > MAX_QUESTIONS:
        more = len(questions) - MAX_QUESTIONS
        blocks.append(_context(f"{more} more in your DMs: answer them there, or here later."))
    return blocks


def _question_message(question: Question) -> Message:
    if question.kind == "account":
        return messages.account_picker(
            approval_id=question.approval_id,
            channel_id=question.channel_id,
            quote=question.quote,
            accounts=question.accounts,
        )
    return messages.approval_request(
        approval_id=question.approval_id,
        account=question.account,
        severity=question.severity,
        quote=question.quote,
        candidates=question.candidates,
        permalink=question.permalink,
    )


def _followed_blocks(followed: Sequence[FollowedRequest], total: int) -> list[dict[str, Any]]:
    if not followed:
        return []
    blocks = [_header("Requests you follow")]
    for request in followed[:MAX_FOLLOWED]:
        status = request.status.capitalize()
        text = (
            f"*{messages.escape(request.title)}*\n"
            f"{status} · {_demand(request.customers, request.arr)} · `{request.slug}`"
        )
        button = _button(
            "Open", messages.REQUEST_OPEN, messages.button_value(request=request.request_id)
        )
        blocks.append(_section(text, accessory=button))
    if total > min(len(followed), MAX_FOLLOWED):
        blocks.append(_context(f"…and {total - min(len(followed), MAX_FOLLOWED)} more."))
    return blocks


def _recent_blocks(recent: Sequence[RecentFeedback]) -> list[dict[str, Any]]:
    if not recent:
        return []
    blocks = [_header("Your recent feedback")]
    for item in recent[:MAX_RECENT]:
        words = " ".join(item.quote.split())
        snippet = words if len(words) <= SNIPPET else words[: SNIPPET - 1].rstrip() + "…"
        said = f"“{messages.escape(snippet)}”"
        if item.permalink:
            said = f"<{item.permalink}|{said}>"
        who = f" ({messages.escape(item.account)})" if item.account else ""
        blocks.append(_section(f"{said}{who}\n{_where(item)}"))
    return blocks


def _where(item: RecentFeedback) -> str:
    if item.status == "filed" and item.request_title:
        slug = f" (`{item.request_slug}`)" if item.request_slug else ""
        return f"→ Filed under *{messages.escape(item.request_title)}*{slug}"
    return {
        "pending": "→ Waiting for your answer",
        "discarded": "→ Not feedback: nothing filed",
        "processing": "→ Being filed…",
    }.get(item.status, f"→ {item.status}")


def _settings_blocks(data: HomeData) -> list[dict[str, Any]]:
    blocks = [_header("Notifications")]
    if not data.known:
        blocks.append(
            _context("Your notification settings show up here once you have filed feedback.")
        )
        return blocks
    for action_id, kind, label in _SETTINGS:
        menu = _menu(action_id, data.settings.of(kind))
        blocks.append(_section(label, accessory=menu, block_id=action_id))
    blocks.append(
        _context(
            "*Once a day* collects them in one DM a day; *Off* sends none. "
            "Questions that need your answer always come at once."
        )
    )
    return blocks


def _menu(action_id: str, chosen: str) -> dict[str, Any]:
    options = [_option(value, label) for value, label in SETTING_LABELS.items()]
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Choose"},
        "options": options,
        "initial_option": _option(chosen, SETTING_LABELS[chosen]),
    }


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _demand(customers: int, arr: Decimal) -> str:
    if customers == 0:
        return "no customers yet"
    asked = "1 customer" if customers == 1 else f"{customers} customers"
    return f"{asked}, {messages.money(arr)} ARR" if arr else asked


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": False},
        "action_id": action_id,
        "value": value,
    }


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": False}}


def _section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}, **extra}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}
