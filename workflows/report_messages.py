"""The Block Kit of the two reports: an area's daily insights and the weekly digest.

Each report is a JSON body (the :class:`InsightsReport` and :class:`DigestReport`
typed dicts: what is stored and what a run returns), and each post is a pure function
of its body, so what Slack shows is what was stored. Customer words and titles are
escaped; requests are named by title and slug (the handle of ``/feedback ship``), and
feedback links to its Slack message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from workflows.messages import Message, escape, money

__all__ = [
    "AccountLine",
    "DigestReport",
    "InsightsReport",
    "QuoteLine",
    "RequestLine",
    "RequestTrend",
    "ThemeLine",
    "digest_post",
    "insights_post",
    "when",
]

LISTED = 10
"""The most lines of one list in a post (the counts above it are always complete)."""
QUOTES_SHOWN = 3
TITLE_LIMIT = 120
QUOTE_LIMIT = 300


class QuoteLine(TypedDict):
    """A customer's words in an insights report."""

    feedback_id: str
    quote: str
    account: str | None
    severity: str
    request_title: str
    request_slug: str
    permalink: str | None


class RequestTrend(TypedDict):
    """A request that got feedback in the period, with the period before's count."""

    request_id: str
    slug: str
    title: str
    feedback: int
    previous: int


class AccountLine(TypedDict):
    """An account that asked in the period (``arr`` a decimal string)."""

    account_id: str
    name: str
    arr: str
    feedback: int


class ThemeLine(TypedDict):
    """A recurring theme: its most central feedback, how many are like it, and where."""

    name: str
    mentions: int
    requests: list[str]


class InsightsReport(TypedDict):
    """An area's report for a period (stored in ``insights_reports.body``).

    ``feedback`` is the number of items filed under the area's requests in the period,
    ``previous`` the same for the period before; ``accounts`` and ``arr`` count each
    known account once; ``requests`` lists every request asked for, most first.
    """

    area: str
    area_slug: str
    period_start: str
    period_end: str
    timezone: str
    feedback: int
    previous: int
    accounts: int
    arr: str
    unknown_account: int
    high_severity: int
    requests: list[RequestTrend]
    top_accounts: list[AccountLine]
    themes: list[ThemeLine]
    quotes: list[QuoteLine]


class RequestLine(TypedDict):
    """A request in the digest with its demand (what the demand counts depends on the list)."""

    request_id: str
    slug: str
    title: str
    areas: list[str]
    feedback: int
    accounts: int
    arr: str
    permalink: str | None


class DigestReport(TypedDict):
    """The weekly digest.

    ``feedback``, ``accounts`` and ``arr`` are the week's; ``by_count`` and ``by_arr``
    rank requests by the week's feedback and by the ARR of the distinct accounts that
    asked during the week; ``new`` and ``shipped`` carry each request's whole demand.
    """

    period_start: str
    period_end: str
    timezone: str
    headline: str
    headline_source: str
    feedback: int
    accounts: int
    arr: str
    unknown_account: int
    new_requests: int
    new: list[RequestLine]
    by_count: list[RequestLine]
    by_arr: list[RequestLine]
    shipped_count: int
    shipped: list[RequestLine]


def when(iso: str, timezone: str) -> str:
    """A period's bound as people read it in the team's zone: ``Mon Mar 3, 08:00 EST``."""
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone))
    return f"{moment:%a %b} {moment.day}, {moment:%H:%M %Z}"


def insights_post(report: InsightsReport) -> Message:
    """An area's daily insights: new feedback and its trend, requests, accounts, themes."""
    area = escape(report["area"])
    end = when(report["period_end"], report["timezone"])
    blocks = [
        _header(f"{report['area']} · daily insights"),
        _section(f"{_feedback_line(report)} in the 24 hours to {end}. {_trend(report)}"),
    ]
    if report["requests"]:
        lines = [_request_trend(r) for r in report["requests"][:LISTED]]
        blocks.append(_section(_titled("Requests asked for", lines, len(report["requests"]))))
    if report["top_accounts"]:
        lines = [
            f"• *{escape(a['name'])}*, {money(Decimal(a['arr']))} ARR: {_n(a['feedback'])}"
            for a in report["top_accounts"]
        ]
        blocks.append(_section(_titled("Top customers asking, by ARR", lines)))
    if report["themes"]:
        lines = [
            f"• “{escape(t['name'])}”: {t['mentions']} similar mentions" for t in report["themes"]
        ]
        blocks.append(_section(_titled("Recurring themes", lines)))
    for quote in report["quotes"][:QUOTES_SHOWN]:
        blocks.append(_section(_quote_block(quote)))
    start = when(report["period_start"], report["timezone"])
    blocks.append(
        _context(
            f"Feedback filed under {area}'s requests from {start} to {end}. "
            f"Area `{report['area_slug']}`."
        )
    )
    text = f"{area}: {report['feedback']} new feedback ({_trend(report).rstrip('.')})"
    return Message(text=text, blocks=blocks)


def digest_post(report: DigestReport) -> Message:
    """The weekly digest: the week's numbers, new, most requested (count, ARR), shipped."""
    end = when(report["period_end"], report["timezone"])
    totals = (
        f"*{_n(report['feedback'])}* from {_customers(report['accounts'], report['arr'])} "
        f"in the 7 days to {end} · *{_plural(report['new_requests'], 'new request')}* · "
        f"*{report['shipped_count']} shipped*"
    )
    blocks = [_header("Weekly feedback digest"), _section(escape(report["headline"]))]
    blocks.append(_section(totals))
    lists: Sequence[tuple[str, list[RequestLine], int, bool]] = (
        ("New requests", report["new"], report["new_requests"], False),
        ("Most requested this week", report["by_count"], len(report["by_count"]), True),
        ("Most ARR asking this week", report["by_arr"], len(report["by_arr"]), True),
        ("Shipped", report["shipped"], report["shipped_count"], False),
    )
    for title, lines, total, ranked in lists:
        if lines:
            shown = [_request_line(n, line, ranked) for n, line in enumerate(lines[:LISTED], 1)]
            blocks.append(_section(_titled(title, shown, total)))
    start = when(report["period_start"], report["timezone"])
    blocks.append(_context(f"Feedback filed and requests created or shipped {start} to {end}."))
    text = (
        f"Weekly feedback digest: {_plural(report['new_requests'], 'new request')}, "
        f"{report['shipped_count']} shipped, {_n(report['feedback'])}"
    )
    return Message(text=text, blocks=blocks)


# --- pieces -------------------------------------------------------------------------------


def _feedback_line(report: InsightsReport) -> str:
    line = f"*{report['feedback']} new feedback*"
    if report["accounts"]:
        line += f" from {_customers(report['accounts'], report['arr'])}"
    if report["unknown_account"]:
        unknown = report["unknown_account"]
        line += f" ({unknown} from {'an unknown account' if unknown == 1 else 'unknown accounts'})"
    if report["high_severity"]:
        line += f", {report['high_severity']} high severity"
    return line


def _trend(report: InsightsReport) -> str:
    now, before = report["feedback"], report["previous"]
    if now > before:
        return f"Up from {before} the day before."
    if now < before:
        return f"Down from {before} the day before."
    return "Same as the day before."


def _request_trend(trend: RequestTrend) -> str:
    up = " ↑" if trend["feedback"] > trend["previous"] else ""
    return (
        f"• *{_title(trend['title'])}* `{trend['slug']}`: {trend['feedback']}{up} "
        f"(the day before: {trend['previous']})"
    )


def _quote_block(quote: QuoteLine) -> str:
    text = quote["quote"]
    if len(text) > QUOTE_LIMIT:
        text = text[: QUOTE_LIMIT - 1].rstrip() + "…"
    quoted = "\n".join(f"> {line}" if line else ">" for line in escape(text).splitlines())
    source = f" · <{quote['permalink']}|message>" if quote["permalink"] else ""
    who = escape(quote["account"] or "account unknown")
    return f"{quoted}\n— {who}, {quote['severity']}, on *{_title(quote['request_title'])}*{source}"


def _request_line(position: int, line: RequestLine, ranked: bool) -> str:
    bullet = f"{position}." if ranked else "•"
    areas = f" · {escape(', '.join(line['areas']))}" if line["areas"] else ""
    asked = _n(line["feedback"])
    if line["accounts"]:
        asked += f" from {_customers(line['accounts'], line['arr'])}"
    source = f" · <{line['permalink']}|first ask>" if line["permalink"] else ""
    return f"{bullet} *{_title(line['title'])}* `{line['slug']}`{areas} · {asked}{source}"


def _customers(count: int, arr: str) -> str:
    who = _plural(count, "customer")
    return f"{who} ({money(Decimal(arr))} ARR)" if Decimal(arr) else who


def _n(feedback: int) -> str:
    return f"{feedback} feedback"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _title(title: str) -> str:
    clipped = title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1].rstrip() + "…"
    return escape(clipped)


def _titled(title: str, lines: list[str], total: int | None = None) -> str:
    more = total - len(lines) if total is not None else 0
    tail = [f"…and {more} more"] if more > 0 else []
    return "\n".join([f"*{title}*", *lines, *tail])


def _header(text: str) -> dict[str, Any]:
    clipped = text if len(text) <= 150 else text[:149] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": clipped, "emoji": False}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}
