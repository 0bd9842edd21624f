"""The Block Kit of the app's own surfaces: modals and command answers (pure functions).

What the workflows post lives in :mod:`workflows.messages`; this module builds what
the listeners open or answer directly: the "File as feedback" and "New feature
request" forms, the request card behind every *Open* button, ``/feedback help`` and
``/feedback search`` results. Customer words are escaped, never interpreted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from workflows.messages import button_value, escape, money

__all__ = [
    "FILE_FEEDBACK",
    "NEW_REQUEST",
    "REQUEST_SHIP",
    "RequestCard",
    "SearchHit",
    "file_feedback_modal",
    "help_blocks",
    "new_request_modal",
    "request_modal",
    "search_blocks",
]

FILE_FEEDBACK = "file_feedback"
"""The message shortcut's callback id, and its form's."""
NEW_REQUEST = "new_request"
"""The global shortcut's callback id, and its form's."""
REQUEST_SHIP = "request.ship"
"""The request card's *Mark shipped* button (product team only)."""

SEVERITY_LABELS = {"low": "Low: nice to have", "medium": "Medium", "high": "High: blocks them"}
HELP = (
    "*Feedback Bot* files customer feedback as feature requests.\n"
    "• React to a customer's message with :{emoji}: (or use *File as feedback* in its "
    "⋯ menu).\n"
    "• `/feedback <what the customer needs>` files it in words.\n"
    "• `/feedback search <words>` finds requests by meaning.\n"
    "• `/feedback ship <request>` marks a request shipped and tells everyone who asked "
    "(product team).\n"
    "• Mention me in a thread to file the thread."
)


def _text(text: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _text(text[:3000], "mrkdwn")}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_text(text[:3000], "mrkdwn")]}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label[:75]), "value": value}


def _modal(
    callback_id: str, title: str, blocks: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _text(title[:24]),
        "close": _text("Cancel" if "submit" in extra else "Close"),
        "blocks": blocks,
    }
    if "submit" in extra:
        view["submit"] = _text(extra.pop("submit"))
    view.update(extra)
    return view


def file_feedback_modal(
    *, channel: str, ts: str, text: str, account: tuple[str, str] | None
) -> dict[str, Any]:
    """The "File as feedback" form: the pain (prefilled with the message), the customer
    (the channel's preselected; typed ahead from the accounts) and the severity."""
    picker: dict[str, Any] = {
        "type": "external_select",
        "action_id": "account",
        "placeholder": _text("Search customers"),
        "min_query_length": 0,
    }
    if account is not None:
        picker["initial_option"] = _option(account[1], account[0])
    pain = " ".join(text.split())[:3000]
    return _modal(
        FILE_FEEDBACK,
        "File as feedback",
        [
            {
                "type": "input",
                "block_id": "pain",
                "label": _text("What does the customer need?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "pain",
                    "multiline": True,
                    "max_length": 3000,
                    **({"initial_value": pain} if pain else {}),
                },
            },
            {
                "type": "input",
                "block_id": "account",
                "optional": True,
                "label": _text("Customer"),
                "element": picker,
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": _text("How much does it hurt?"),
                "element": {
                    "type": "static_select",
                    "action_id": "severity",
                    "initial_option": _option(SEVERITY_LABELS["medium"], "medium"),
                    "options": [_option(label, v) for v, label in SEVERITY_LABELS.items()],
                },
            },
        ],
        submit="File it",
        private_metadata=json.dumps({"channel": channel, "ts": ts}),
    )


def new_request_modal(areas: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The "New feature request" form: title, description, product area (optional)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": "title",
            "label": _text("Title"),
            "element": {
                "type": "plain_text_input",
                "action_id": "title",
                "max_length": 150,
                "placeholder": _text("Export dashboards to PDF"),
            },
        },
        {
            "type": "input",
            "block_id": "description",
            "label": _text("What is asked, and why"),
            "element": {
                "type": "plain_text_input",
                "action_id": "description",
                "multiline": True,
                "max_length": 3000,
            },
        },
    ]
    if areas:
        blocks.append(
            {
                "type": "input",
                "block_id": "area",
                "optional": True,
                "label": _text("Product area"),
                "element": {
                    "type": "static_select",
                    "action_id": "area",
                    "placeholder": _text("Pick an area"),
                    "options": [_option(name, area_id) for area_id, name in areas[:100]],
                },
            }
        )
    return _modal(NEW_REQUEST, "New feature request", blocks, submit="Create")


@dataclass(frozen=True)
class RequestCard:
    """What the *Open* button shows of a request.

    Attributes:
        request_id: The request.
        title: Its title.
        slug: Its short name (``/feedback ship <slug>``).
        status: ``open``, ``planned``, ``shipped`` or ``deprioritized``.
        description: What is asked.
        areas: Its product areas' names.
        feedback: Feedback filed under it.
        customers: Distinct accounts asking, largest first: (name, ARR).
        arr: Their total ARR.
        quotes: Recent customer words, with the message's permalink when known.
        can_ship: Whether the viewer may mark it shipped.
    """

    request_id: str
    title: str
    slug: str
    status: str
    description: str
    areas: tuple[str, ...] = ()
    feedback: int = 0
    customers: tuple[tuple[str, Decimal], ...] = ()
    arr: Decimal = Decimal(0)
    quotes: tuple[tuple[str, str | None], ...] = field(default=())
    can_ship: bool = False


def request_modal(card: RequestCard) -> dict[str, Any]:
    """The request card: status, demand, who asks, their words, and *Mark shipped*."""
    where = f" · {', '.join(escape(a) for a in card.areas)}" if card.areas else ""
    asked = len(card.customers)
    demand = (
        f"{card.feedback} feedback from {asked} customer{'s' if asked != 1 else ''}"
        + (f" ({money(card.arr)} ARR)" if card.arr else "")
        if card.feedback
        else "No customer feedback yet"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text(card.title[:150])},
        _context(f"*{card.status.capitalize()}* · `{card.slug}`{where}"),
        _section(escape(card.description) or "_No description._"),
        _section(f"*{demand}*"),
    ]
    if card.customers:
        named = ", ".join(f"{escape(n)} ({money(arr)})" for n, arr in card.customers[:10])
        blocks.append(_context(f"Customers: {named}"))
    for quote, link in card.quotes[:5]:
        clipped = quote if len(quote) <= 300 else quote[:299] + "…"
        said = "> " + escape(clipped).replace("\n", "\n> ")
        blocks.append(_section(said + (f"\n<{link}|In Slack>" if link else "")))
    if card.can_ship and card.status != "shipped":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"request.{card.request_id}",
                "elements": [
                    {
                        "type": "button",
                        "text": _text("Mark shipped"),
                        "action_id": REQUEST_SHIP,
                        "value": button_value(request=card.request_id),
                        "style": "primary",
                        "confirm": {
                            "title": _text("Mark shipped?"),
                            "text": _text(
                                "Everyone who asked for it gets a DM, and every thread "
                                "it came from gets a reply."
                            ),
                            "confirm": _text("Mark shipped"),
                            "deny": _text("Not yet"),
                        },
                    }
                ],
            }
        )
    return _modal("request_card", "Feature request", blocks, private_metadata=card.request_id)


def help_blocks(emoji: str) -> tuple[str, list[dict[str, Any]]]:
    """The answer to ``/feedback help`` (and to anything it does not understand)."""
    text = HELP.format(emoji=emoji)
    return "How to use Feedback Bot", [_section(text)]


@dataclass(frozen=True)
class SearchHit:
    """A request found by ``/feedback search``."""

    title: str
    slug: str
    status: str
    score: float
    customers: int
    arr: Decimal


def search_blocks(query: str, hits: Sequence[SearchHit]) -> tuple[str, list[dict[str, Any]]]:
    """Ranked requests for a query, with demand and status."""
    if not hits:
        said = f"No request matches “{escape(query)}”."
        return said, [_section(said + " Try other words, or file it as feedback.")]
    lines = []
    for n, hit in enumerate(hits, 1):
        demand = f"{hit.customers} customer{'s' if hit.customers != 1 else ''}" + (
            f", {money(hit.arr)} ARR" if hit.arr else ""
        )
        lines.append(f"{n}. *{escape(hit.title)}* · {hit.status} · {demand} · `{hit.slug}`")
    text = f"Requests matching “{escape(query)}”"
    return text, [_section(f"*{text}*"), _section("\n".join(lines))]
