"""The weekly digest text for a channel, with a plain template as the offline fallback.

The model writes only the headline and up to three highlights; the lists of new,
shipped and trending requests are always rendered from the data, so titles, links and
counts in the digest are never the model's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.llm.client import LLMClient, with_fallback
from agents.llm.prompts import DIGEST_SYSTEM
from agents.llm.text import clip, find_links, sanitize_output, slack_escape

__all__ = ["Digest", "DigestItem", "fallback_digest", "weekly_digest"]

logger = logging.getLogger(__name__)

MAX_LISTED = 10


@dataclass(frozen=True)
class DigestItem:
    """A request mentioned in the digest.

    Attributes:
        title: The request's title.
        url: A link to the request, if there is one.
        feedback_count: All feedback linked to it.
        new_feedback_count: Feedback linked during the week.
        area: Its product area, if any.
    """

    title: str
    url: str | None = None
    feedback_count: int = 0
    new_feedback_count: int = 0
    area: str | None = None


class Digest(BaseModel):
    """The digest message (Slack mrkdwn).

    Attributes:
        text: The message to post.
        headline: Its first line after the heading.
        source: ``"llm"``, or ``"fallback"`` when the headline comes from a template.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    headline: str
    source: Literal["llm", "fallback"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    headline: str = Field(min_length=1, max_length=200, description="One sentence.")
    highlights: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(max_length=3)


async def weekly_digest(
    *,
    week_of: date,
    new: Sequence[DigestItem],
    shipped: Sequence[DigestItem],
    trending: Sequence[DigestItem],
    llm: LLMClient | None,
) -> Digest:
    """Write the weekly digest of new, shipped and trending requests.

    Args:
        week_of: The first day of the week covered.
        new: Requests created during the week.
        shipped: Requests shipped during the week.
        trending: Requests that gained the most feedback during the week.
        llm: The LLM client, or ``None`` for the plain template.

    Returns:
        The digest; ``source`` says whether the LLM wrote the headline and highlights.
    """

    async def call(client: LLMClient) -> Digest:
        data = {
            "week_of": week_of.isoformat(),
            "new": _items(new),
            "shipped": _items(shipped),
            "trending": _items(trending),
        }
        answer = await client.structured(
            _Answer, task="weekly_digest", system=DIGEST_SYSTEM, data=data, check=_check
        )
        return _render(
            week_of, answer.headline, answer.highlights, new, shipped, trending, source="llm"
        )

    async def offline() -> Digest:
        return fallback_digest(week_of=week_of, new=new, shipped=shipped, trending=trending)

    if not (new or shipped or trending):
        return await offline()
    return await with_fallback("weekly_digest", llm, call, offline)


def fallback_digest(
    *,
    week_of: date,
    new: Sequence[DigestItem],
    shipped: Sequence[DigestItem],
    trending: Sequence[DigestItem],
) -> Digest:
    """Write the weekly digest from a template.

    Args:
        week_of: The first day of the week covered.
        new: Requests created during the week.
        shipped: Requests shipped during the week.
        trending: Requests that gained the most feedback during the week.

    Returns:
        The digest with ``source="fallback"``.
    """
    if new or shipped or trending:
        headline = (
            f"This week: {len(new)} new request(s), {len(shipped)} shipped, "
            f"{len(trending)} trending."
        )
    else:
        headline = "A quiet week: no new, shipped or trending requests."
    return _render(week_of, headline, [], new, shipped, trending, source="fallback")


def _render(
    week_of: date,
    headline: str,
    highlights: Sequence[str],
    new: Sequence[DigestItem],
    shipped: Sequence[DigestItem],
    trending: Sequence[DigestItem],
    *,
    source: Literal["llm", "fallback"],
) -> Digest:
    lines = [
        f"*Weekly feedback digest, week of {week_of:%B} {week_of.day}, {week_of.year}*",
        headline,
    ]
    lines += [f"• {text}" for text in highlights]
    for label, items, count_new in (
        ("Shipped", shipped, False),
        ("New requests", new, False),
        ("Trending", trending, True),
    ):
        if items:
            lines += ["", f"*{label}*", *_list(items, count_new)]
    return Digest(text="\n".join(lines), headline=headline, source=source)


def _list(items: Sequence[DigestItem], count_new: bool) -> list[str]:
    lines = []
    for item in items[:MAX_LISTED]:
        title = slack_escape(clip(item.title, 150))
        shown = f"<{item.url}|{title}>" if item.url and "|" not in item.url else title
        count = (
            f"+{item.new_feedback_count} this week, {item.feedback_count} total"
            if count_new
            else f"{item.feedback_count} feedback"
        )
        area = f", {slack_escape(item.area)}" if item.area else ""
        lines.append(f"• {shown} ({count}{area})")
    if len(items) > MAX_LISTED:
        lines.append(f"• …and {len(items) - MAX_LISTED} more")
    return lines


def _items(items: Sequence[DigestItem]) -> list[dict[str, Any]]:
    return [
        {
            "title": clip(i.title, 150),
            "feedback_count": i.feedback_count,
            "new_feedback_count": i.new_feedback_count,
            "area": i.area,
        }
        for i in items[: MAX_LISTED * 2]
    ]


def _check(answer: _Answer) -> _Answer:
    if find_links(" ".join([answer.headline, *answer.highlights])):
        raise ValueError("headline and highlights: must not contain links")
    headline = sanitize_output(answer.headline)
    if not headline:
        raise ValueError("headline: must not be empty once mentions are removed")
    highlights = [text for text in map(sanitize_output, answer.highlights) if text]
    return _Answer(headline=headline, highlights=highlights)
