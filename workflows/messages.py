"""The Block Kit of what the workflows post: pure functions from data to a message.

Every builder returns a :class:`Message` (notification ``text`` plus ``blocks``).
Customer words are escaped and quoted, never interpreted as markup. Buttons carry
only ids (an approval, a feedback item, a request); whoever handles a click loads the
state from the database and authorizes the clicker there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "ACCOUNT_PICK",
    "ACCOUNT_UNKNOWN",
    "APPROVAL_LINK",
    "APPROVAL_NEW",
    "APPROVAL_NOT_FEEDBACK",
    "REQUEST_OPEN",
    "UNDO",
    "CandidateView",
    "Message",
    "account_chosen",
    "account_picker",
    "approval_decided",
    "approval_expired",
    "approval_reminder",
    "approval_request",
    "button_value",
    "cannot_read_channel",
    "escape",
    "linked",
    "money",
    "new_request_filed",
    "no_feedback_yet",
    "nothing_to_file",
    "request_announced",
    "request_shipped",
    "shipped_in_thread",
    "undone",
]

APPROVAL_LINK = "approval.link"
APPROVAL_NEW = "approval.new"
APPROVAL_NOT_FEEDBACK = "approval.not_feedback"
ACCOUNT_PICK = "account.pick"
ACCOUNT_UNKNOWN = "account.unknown"
UNDO = "feedback.undo"
REQUEST_OPEN = "request.open"

QUOTE_LIMIT = 600


@dataclass(frozen=True)
class Message:
    """A message to post: ``text`` is the notification and fallback, ``blocks`` the body."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CandidateView:
    """A request offered in an approval question.

    Attributes:
        request_id: The request.
        title: Its title.
        score: How close it is (0..1).
        why: Why it may match, or what differs.
        customers: Distinct accounts that asked for it.
        arr: Their ARR.
    """

    request_id: str
    title: str
    score: float
    why: str = ""
    customers: int = 0
    arr: Decimal = Decimal(0)


def escape(text: str) -> str:
    """Escape Slack's control characters so customer text stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def money(amount: Decimal | float | int) -> str:
    """ARR the way people say it, rounded half up: $950, $950K, $1.2M, $1.7M."""
    value = Decimal(str(amount))
    if value >= Decimal("999500"):  # rounds to a million or more
        millions = (value / 1_000_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"${millions}M".replace(".0M", "M")
    if value >= 1_000:
        thousands = (value / 1_000).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        return f"${thousands}K"
    return f"${value.quantize(Decimal('1'), rounding=ROUND_HALF_UP)}"


def button_value(**ids: str) -> str:
    """A compact, parseable button value holding only ids."""
    return json.dumps(ids, separators=(",", ":"), sort_keys=True)


def _quote(text: str) -> str:
    clipped = text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1].rstrip() + "…"
    return "\n".join(f"> {line}" if line else ">" for line in escape(clipped).splitlines())


TEXT_LIMIT = 3000
"""Slack's limit on a section's or a context element's text."""


def _clip(text: str) -> str:
    """Escaped mrkdwn cut to :data:`TEXT_LIMIT`, never inside an entity such as ``&amp;``."""
    if len(text) <= TEXT_LIMIT:
        return text
    cut = text[: TEXT_LIMIT - 1]
    amp = cut.rfind("&", len(cut) - 5)
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}, **extra}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text)}]}


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75], "emoji": False},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _demand(customers: int, arr: Decimal) -> str:
    if customers == 0:
        return "no customers yet"
    asked = "1 customer asked" if customers == 1 else f"{customers} customers asked"
    return f"{asked}, {money(arr)} ARR" if arr else asked


def _origin(account: str | None, severity: str) -> str:
    return f"{escape(account or 'account unknown')}, {severity}"


def linked(
    *,
    feedback_id: str,
    turn: int,
    request_id: str,
    title: str,
    account: str | None,
    severity: str,
    customers: int,
    arr: Decimal,
    quote: str,
) -> Message:
    """The confirmation of a confident match, with Open and Undo."""
    headline = f"Filed under *{escape(title)}* ({_origin(account, severity)})."
    said = _demand(customers, arr)
    demand = said[0].upper() + said[1:] + "."
    return Message(
        text=f"Filed under {escape(title)}.",
        blocks=[
            _section(f"{headline} {demand}"),
            _section(_quote(quote)),
            {
                "type": "actions",
                "block_id": f"linked.{feedback_id}",
                "elements": [
                    _button("Open", REQUEST_OPEN, button_value(request=request_id)),
                    _button("Undo", UNDO, button_value(feedback=feedback_id, turn=str(turn))),
                ],
            },
        ],
    )


def approval_request(
    *,
    approval_id: str,
    account: str | None,
    severity: str,
    quote: str,
    candidates: Sequence[CandidateView],
    permalink: str | None = None,
    reason: str = "",
) -> Message:
    """Ask which request a piece of feedback belongs to (up to three candidates).

    ``reason`` says why a match close enough to link was put to a person instead (the
    specifics differ: "`4.1.77` vs `4.1.89`", or two requests are equally close); it is
    escaped, then clipped to Slack's 3,000 characters with the rest of the context.
    """
    source = f" (<{permalink}|message>)" if permalink else ""
    ask = "Which request is this?" if candidates else "Nothing else matches: a new request?"
    blocks: list[dict[str, Any]] = [
        _section(f"{ask} From *{_origin(account, severity)}*{source}:"),
        _section(_quote(quote)),
    ]
    if reason:
        blocks.append(_context(f"Not linked automatically: {escape(reason)}"))
    blocks.append({"type": "divider"})
    for candidate in candidates[:3]:
        why = f"\n_{escape(candidate.why)}_" if candidate.why else ""
        blocks.append(
            _section(
                f"*{escape(candidate.title)}*\n"
                f"{_demand(candidate.customers, candidate.arr)} · match {candidate.score:.2f}{why}",
                accessory=_button(
                    "This one",
                    APPROVAL_LINK,
                    button_value(approval=approval_id, request=candidate.request_id),
                ),
            )
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": f"approval.{approval_id}",
            "elements": [
                _button(
                    "New request",
                    APPROVAL_NEW,
                    button_value(approval=approval_id),
                    style="primary",
                ),
                _button(
                    "Not feedback",
                    APPROVAL_NOT_FEEDBACK,
                    button_value(approval=approval_id),
                    style="danger",
                ),
            ],
        }
    )
    return Message(text="Which request is this feedback for?", blocks=blocks)


def approval_decided(*, outcome: str, by_user: str | None, quote: str) -> Message:
    """The approval question after a decision: what happened and who decided (no buttons).

    Args:
        outcome: e.g. ``Linked to *SSO with Okta*`` (mrkdwn, already escaped).
        by_user: The Slack user id who decided, or ``None`` for the bot.
        quote: The customer's words.
    """
    who = f" by <@{by_user}>" if by_user else ""
    return Message(
        text=f"{outcome}{who}.", blocks=[_section(f"{outcome}{who}."), _section(_quote(quote))]
    )


def approval_reminder(*, days_left: float) -> Message:
    """The one reminder, posted in the question's thread."""
    when = (
        "soon"
        if days_left < 1
        else f"in {round(days_left)} day{'s' if round(days_left) != 1 else ''}"
    )
    text = (
        "Still waiting on this one: the buttons above still work. "
        f"Without an answer I'll file it as a new request {when}."
    )
    return Message(text=text, blocks=[_section(text)])


def approval_expired(*, title: str, duplicate_of: str | None) -> Message:
    """Told to the submitter when an unanswered question was filed as a new request."""
    maybe = f", marked as a possible duplicate of *{escape(duplicate_of)}*" if duplicate_of else ""
    text = f"No answer, so I filed it as a new request: *{escape(title)}*{maybe}."
    return Message(text=text, blocks=[_section(text)])


def new_request_filed(
    *, request_id: str, title: str, area: str | None, account: str | None, quote: str
) -> Message:
    """Told to the submitter when their feedback became a new request."""
    where = f" in *{escape(area)}*" if area else ""
    who = f" from {escape(account)}" if account else ""
    text = f"Nothing like it yet, so I drafted a new request{where}: *{escape(title)}*{who}."
    return Message(
        text=f"Drafted a new request: {escape(title)}.",
        blocks=[
            _section(text),
            _section(_quote(quote)),
            {
                "type": "actions",
                "block_id": f"new.{request_id}",
                "elements": [_button("Open", REQUEST_OPEN, button_value(request=request_id))],
            },
        ],
    )


def undone(*, title: str, by_user: str, quote: str) -> Message:
    """The confirmation after Undo: unlinked, and asked again below."""
    text = f"Unlinked from *{escape(title)}* by <@{by_user}>. I'll ask again which request it is."
    return Message(
        text=f"Unlinked from {escape(title)}.", blocks=[_section(text), _section(_quote(quote))]
    )


def account_picker(
    *,
    approval_id: str,
    channel_id: str | None,
    quote: str,
    accounts: Sequence[tuple[str, str]],
) -> Message:
    """Ask which customer a message is from (accounts as (id, name), largest first).

    Up to 100 accounts are listed in the menu; with more, the menu searches them as
    the person types (an ``external_select`` served by the app's options listener).
    """
    where = f" in <#{channel_id}>" if channel_id else ""
    placeholder = {"type": "plain_text", "text": "Pick the customer"}
    elements: list[dict[str, Any]] = []
    if len(accounts) > 100:
        elements.append(
            {
                "type": "external_select",
                "action_id": ACCOUNT_PICK,
                "placeholder": placeholder,
                "min_query_length": 1,
            }
        )
    elif accounts:
        options = [
            {"text": {"type": "plain_text", "text": name[:75]}, "value": account_id}
            for account_id, name in accounts
        ]
        elements.append(
            {
                "type": "static_select",
                "action_id": ACCOUNT_PICK,
                "placeholder": placeholder,
                "options": options,
            }
        )
    elements.append(_button("Unknown", ACCOUNT_UNKNOWN, button_value(approval=approval_id)))
    return Message(
        text="Which customer is this feedback from?",
        blocks=[
            _section(f"Which customer is this feedback{where} from?"),
            _section(_quote(quote)),
            {"type": "actions", "block_id": f"account.{approval_id}", "elements": elements},
        ],
    )


def account_chosen(*, account: str | None, by_user: str | None) -> Message:
    """The account question after it was answered (or timed out)."""
    if account:
        text = f"Customer: *{escape(account)}*" + (f", chosen by <@{by_user}>." if by_user else ".")
    elif by_user:
        text = f"Customer: *unknown*, as <@{by_user}> said."
    else:
        text = "Customer: *unknown* (no answer in time)."
    return Message(text=text, blocks=[_section(text)])


def request_announced(
    *,
    title: str,
    description: str,
    slug: str,
    area: str,
    creator: str | None,
    quotes: Sequence[str],
    related: Sequence[str],
) -> Message:
    """A new request, posted to its area's channel."""
    by = f" by <@{creator}>" if creator else ""
    blocks: list[dict[str, Any]] = [
        _section(f"New request in *{escape(area)}*{by}: *{escape(title)}*"),
    ]
    if description:
        blocks.append(_section(escape(description)[:1500]))
    blocks += [_section(_quote(q)) for q in quotes]
    footer = f"`/feedback ship {slug}` when it ships"
    if related:
        footer = "Related: " + "; ".join(escape(r) for r in related) + " · " + footer
    blocks.append(_context(footer))
    return Message(text=f"New request in {escape(area)}: {escape(title)}", blocks=blocks)


def no_feedback_yet(*, title: str, slug: str) -> Message:
    """The creator's reminder: a request without customer feedback is hard to weigh."""
    text = (
        f"*{escape(title)}* has no customer feedback yet. When a customer asks for it, "
        f"react to their message with the feedback emoji, or file it with `/feedback`."
    )
    return Message(text=text, blocks=[_section(text), _context(f"request `{slug}`")])


def request_shipped(*, title: str, slug: str, quotes: Sequence[str]) -> Message:
    """Told to every follower and submitter once a request ships."""
    text = f"Shipped: *{escape(title)}*. You asked to hear when it did."
    blocks = [_section(text)]
    if quotes:
        blocks.append(
            _section("What your customers said:\n" + "\n".join(_quote(q) for q in quotes))
        )
    blocks.append(_context(f"request `{slug}`"))
    return Message(text=f"Shipped: {escape(title)}", blocks=blocks)


def shipped_in_thread(*, title: str) -> Message:
    """The reply in the thread a piece of feedback came from."""
    text = f"This shipped today: *{escape(title)}*."
    return Message(text=text, blocks=[_section(text)])


def nothing_to_file(*, channel_id: str) -> Message:
    """Told to the submitter when a message holds no customer ask."""
    where = f"the message in <#{channel_id}>" if channel_id.startswith(("C", "G")) else "it"
    text = (
        f"I read {where} but found no customer ask in it, so I filed "
        "nothing. If I missed one, file it with `/feedback <what they asked for>`."
    )
    return Message(text=text, blocks=[_section(text)])


def cannot_read_channel(*, channel_id: str, error: str) -> Message:
    """Told to the submitter when the bot cannot read the message's channel."""
    if error in ("not_in_channel", "channel_not_found"):
        text = (
            f"I can't read <#{channel_id}>: invite me with `/invite @Feedback Bot`, "
            "then add the reaction again."
        )
    else:
        text = f"I couldn't read that message ({error}). Try again, or use `/feedback <text>`."
    return Message(text=text, blocks=[_section(text)])
