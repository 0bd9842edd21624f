"""The Block Kit of notifications: each kind's line, and the daily DM that collects them.

A person who chose ``daily`` for a kind of news gets one line per event (queued by
:func:`workflows.batches.tell`) instead of a DM; once a day the lines go out in one DM,
grouped by kind: a header, a section per group, a context line saying how to change
it. Lines are mrkdwn written here, so customer words and titles are escaped once, when
the line is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from workflows.messages import Message, escape

__all__ = ["BatchLine", "daily_batch", "link_line", "shipped_line"]

SECTION_LIMIT = 2900
"""Section text stops short of Slack's 3,000 characters."""
MAX_SECTIONS = 40
"""Sections of lines in one DM (a message holds at most 50 blocks)."""
SNIPPET = 80
_GROUPS = (("links", "Where your feedback went"), ("shipped", "Shipped"))


@dataclass(frozen=True)
class BatchLine:
    """One queued line: its kind (``links``, ``shipped``) and its mrkdwn text."""

    kind: str
    text: str


def link_line(*, title: str, account: str | None, severity: str, quote: str) -> str:
    """The line for feedback filed under a request (what the ``linked`` DM says)."""
    words = " ".join(quote.split())
    snippet = words if len(words) <= SNIPPET else words[: SNIPPET - 1].rstrip() + "…"
    origin = f"{escape(account or 'account unknown')}, {severity}"
    return f"“{escape(snippet)}” filed under *{escape(title)}* ({origin})"


def shipped_line(*, title: str, slug: str) -> str:
    """The line for a request the person follows that shipped."""
    return f"*{escape(title)}* shipped (`{slug}`): tell your customers"


def daily_batch(*, day: date, lines: Sequence[BatchLine]) -> Message:
    """The day's DM: every queued line, grouped by kind, oldest first within a group.

    Args:
        day: The person's local date of the batch (shown in the header).
        lines: The lines; kinds other than ``links`` and ``shipped`` go last.
    """
    groups = [(title, [ln.text for ln in lines if ln.kind == kind]) for kind, title in _GROUPS]
    known = {kind for kind, _ in _GROUPS}
    groups.append(("Other", [ln.text for ln in lines if ln.kind not in known]))
    blocks: list[dict[str, Any]] = [_header(f"Your feedback updates, {_day(day)}")]
    sections: list[str] = []
    for title, texts in groups:
        if texts:
            sections += _chunks(f"*{title}*", texts)
    if len(sections) > MAX_SECTIONS:
        left = sum(chunk.count("\n• ") for chunk in sections[MAX_SECTIONS - 1 :])
        sections = [*sections[: MAX_SECTIONS - 1], f"…and {left} more."]
    blocks += [_section(text) for text in sections]
    blocks.append(
        _context(
            "You get these once a day. To hear at once, or not at all, "
            "change it in the bot's *Home* tab."
        )
    )
    return Message(text=_summary(lines), blocks=blocks)


def _summary(lines: Sequence[BatchLine]) -> str:
    filed = sum(1 for ln in lines if ln.kind == "links")
    shipped = sum(1 for ln in lines if ln.kind == "shipped")
    parts = []
    if filed:
        parts.append(f"{filed} piece{'s' if filed != 1 else ''} of feedback filed")
    if shipped:
        parts.append(f"{shipped} request{'s' if shipped != 1 else ''} shipped")
    said = ", ".join(parts) or f"{len(lines)} update{'s' if len(lines) != 1 else ''}"
    return f"Today's feedback updates: {said}."


def _chunks(title: str, texts: Sequence[str]) -> list[str]:
    """``title`` then a bullet per text, split into sections that fit."""
    chunks: list[str] = []
    current = title
    for text in texts:
        bullet = "\n• " + text[: SECTION_LIMIT - len(title) - 20]  # room for "(continued)"
        if len(current) + len(bullet) > SECTION_LIMIT:
            chunks.append(current)
            current = f"{title} (continued)"
        current += bullet
    chunks.append(current)
    return chunks


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": False}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}
