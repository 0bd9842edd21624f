"""``area-insights`` and ``weekly-digest``: the daily report of each area, the weekly digest.

The scheduler computes a tick's period end and starts the run with a run id derived
from it (:func:`insights_run_id`, :func:`digest_run_id`), so a tick runs once however
many processes fire it. Periods are half-open and end at ``period_end``: the 24 hours
before it for insights, the 7 days before it for the digest.

``area-insights`` reports on every area at once: one step per area under
``asyncio.gather``. Each area's step computes the report, stores it (the first report
stored for the area and period wins) and posts the stored one to the area's channel
once (:func:`~workflows.notify.post_once`), so the step may run again at any point.
One durable call per area is what the engine allows per concurrent branch, and it
keeps a tick one run: an area that fails does not stop the others, the run then fails
naming it, and ``runs retry`` redoes only the failed areas (finished steps replay).
An area without feedback in the period is stored but not posted: a daily "nothing
new" line in every quiet channel teaches people to ignore the bot, and the stored
zero is still what the next day's trend compares with.

``weekly-digest`` builds the digest in one step and posts it in another, to
``DIGEST_CHANNEL`` when that is set; either way the run returns the numbers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from agents.llm import Digest, DigestItem, find_themes
from agents.llm import weekly_digest as write_digest
from feedback import areas as areas_db
from feedback import reports as reports_db
from feedback import requests as requests_db
from feedback.reports import PeriodItem, ReportRequest
from workflows.deps import Deps, current
from workflows.engine import step, workflow
from workflows.notify import post_once
from workflows.report_messages import (
    AccountLine,
    DigestReport,
    InsightsReport,
    QuoteLine,
    RequestLine,
    RequestTrend,
    ThemeLine,
    digest_post,
    insights_post,
)

__all__ = [
    "DAY",
    "WEEK",
    "ReportsFailed",
    "area_insights",
    "digest_run_id",
    "insights_run_id",
    "weekly_digest",
]

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
TOP_ACCOUNTS = 5
MOST_REQUESTED = 5
THEMES = 3
QUOTES = 3
LISTED = 25
"""The most new or shipped requests a digest body lists (its counts are complete)."""
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def insights_run_id(period_end: datetime) -> str:
    """The run id of the insights tick ending at ``period_end`` (in UTC, whatever its zone).

    Raises:
        ValueError: ``period_end`` is naive.
    """
    return f"area-insights:{_utc(period_end).isoformat()}"


def digest_run_id(period_end: datetime) -> str:
    """The run id of the digest tick ending at ``period_end`` (in UTC, whatever its zone).

    Raises:
        ValueError: ``period_end`` is naive.
    """
    return f"weekly-digest:{_utc(period_end).isoformat()}"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive period end {moment!r}: pass a timezone-aware time")
    return moment.astimezone(UTC)


class ReportsFailed(Exception):
    """Some areas' reports failed; the others were stored and posted.

    Attributes:
        areas: The slugs of the areas that failed.
    """

    def __init__(self, failed: dict[str, Exception]) -> None:
        said = "; ".join(f"{slug}: {type(exc).__name__}: {exc}" for slug, exc in failed.items())
        super().__init__(
            f"the insights of {len(failed)} area(s) failed ({said}). The other areas were "
            "stored and posted: fix the cause (e.g. invite the bot to the channel), then "
            "`runs retry` this run, which redoes only the failed areas"
        )
        self.areas = tuple(failed)


# --- workflows ------------------------------------------------------------------------


@workflow("area-insights")
async def area_insights(period_end: datetime) -> dict[str, Any]:
    """Report on every area for the 24 hours to ``period_end``; store and post each.

    Args:
        period_end: The end of the period (timezone-aware; excluded from it).

    Returns:
        ``period_start``, ``period_end`` (ISO, UTC), ``posted`` (how many areas were
        posted) and ``areas``: per area slug, the numbers of its report (see
        :func:`_area_summary`).

    Raises:
        ReportsFailed: Some areas failed (after every area was tried).
    """
    end = _utc(period_end)
    known = await list_areas()
    results = await asyncio.gather(
        *(area_report(area["id"], end) for area in known), return_exceptions=True
    )
    summaries: dict[str, dict[str, Any]] = {}
    failed: dict[str, Exception] = {}
    for area, result in zip(known, results, strict=True):
        if isinstance(result, Exception):
            failed[area["slug"]] = result
        elif isinstance(result, BaseException):
            raise result  # the engine's own signals (cancel, lost lease) unwind the run
        else:
            summaries[area["slug"]] = result
    if failed:
        raise ReportsFailed(failed) from next(iter(failed.values()))
    return {
        "period_start": days_before(end, 1, current().settings.timezone).isoformat(),
        "period_end": end.isoformat(),
        "posted": sum(1 for s in summaries.values() if s["posted_to"]),
        "areas": summaries,
    }


@workflow("weekly-digest")
async def weekly_digest(period_end: datetime) -> dict[str, Any]:
    """Digest the 7 days to ``period_end`` and post it to the digest channel, if set.

    Args:
        period_end: The end of the week (timezone-aware; excluded from it).

    Returns:
        The numbers: ``feedback``, ``accounts``, ``arr`` (the week's), ``new_requests``,
        ``shipped``, ``by_count`` and ``by_arr`` (slug, feedback, accounts, arr of the
        top five), and ``posted_to`` (the channel, or ``None``).
    """
    end = _utc(period_end)
    report = await build_digest(end)
    channel = await post_digest(report, end)
    return _digest_summary(report, channel)


# --- steps ----------------------------------------------------------------------------


@step
async def list_areas() -> list[dict[str, str]]:
    """Every area's id and slug, by name."""
    async with current().db.read() as conn:
        return [{"id": a.id, "slug": a.slug} for a in await areas_db.listing(conn)]


@step(max_attempts=8)
async def area_report(area_id: str, period_end: datetime) -> dict[str, Any]:
    """Compute an area's report (or read the stored one), store it, post it once.

    Returns:
        The report's numbers (:func:`_area_summary`).
    """
    deps = current()
    start = days_before(period_end, 1, deps.settings.timezone)
    async with deps.db.read() as conn:
        area = await areas_db.get(conn, area_id)
        stored = await reports_db.insights_for(conn, area_id, period_end)
    if stored is None:
        body = await _insights(deps, area, start, period_end)
        async with deps.db.transaction() as conn:
            stored = await reports_db.store_insights(
                conn, area_id=area_id, period_start=start, period_end=period_end, body=dict(body)
            )
    report = cast(InsightsReport, stored.body)
    posted_to = None
    if area.channel_id and report["feedback"]:
        key = f"insights:{area.id}:{period_end.isoformat()}"
        posted_to, _ = await post_once(key, area.channel_id, insights_post(report))
    return _area_summary(report, posted_to)


@step(max_attempts=5)
async def build_digest(period_end: datetime) -> DigestReport:
    """Read the week's numbers and lists, and write the headline (LLM or template)."""
    deps = current()
    start = days_before(period_end, 7, deps.settings.timezone)
    async with deps.db.read() as conn:
        week = await reports_db.totals(conn, start, period_end)
        new = await reports_db.created_in(conn, start, period_end)
        shipped = await reports_db.shipped_in(conn, start, period_end)
        by_count = await reports_db.requests_asked(
            conn, start, period_end, by="count", limit=MOST_REQUESTED
        )
        by_arr = await reports_db.requests_asked(
            conn, start, period_end, by="arr", limit=MOST_REQUESTED
        )
        listed = [r.id for r in new[:LISTED] + shipped[:LISTED]]
        ranked = [r.request_id for r in by_count + by_arr]
        demand = await requests_db.demand(conn, listed + ranked)
        links = await reports_db.first_permalinks(conn, [r.id for r in new[:LISTED]])
        names = await reports_db.area_names(conn, ranked)
    digest = await _headline(deps, start, new, shipped, by_count, demand)
    return {
        "period_start": start.isoformat(),
        "period_end": period_end.isoformat(),
        "timezone": deps.settings.timezone,
        "headline": digest.headline,
        "headline_source": digest.source,
        "feedback": week.feedback,
        "accounts": week.accounts,
        "arr": _money(week.arr),
        "unknown_account": week.unknown,
        "new_requests": len(new),
        "new": [_request_line(r, demand, links.get(r.id)) for r in new[:LISTED]],
        "by_count": [_asked_line(a, names) for a in by_count],
        "by_arr": [_asked_line(a, names) for a in by_arr],
        "shipped_count": len(shipped),
        "shipped": [_request_line(r, demand, None) for r in shipped[:LISTED]],
    }


@step(max_attempts=8)
async def post_digest(report: DigestReport, period_end: datetime) -> str | None:
    """Post the digest once to ``DIGEST_CHANNEL``; ``None`` when that is not set."""
    channel = current().settings.digest_channel
    if not channel:
        logger.info("weekly digest to %s not posted: DIGEST_CHANNEL is not set", period_end)
        return None
    posted_to, _ = await post_once(f"digest:{period_end.isoformat()}", channel, digest_post(report))
    return posted_to


def days_before(instant: datetime, days: int, zone: str) -> datetime:
    """The same wall-clock time ``days`` earlier in ``zone``: the previous tick.

    Across a daylight-saving change a day is 23 or 25 hours, so consecutive reports
    cover every hour once (a fixed 24 h would skip or repeat one).
    """
    tz = ZoneInfo(zone)
    local = instant.astimezone(tz).replace(tzinfo=None) - timedelta(days=days)
    return local.replace(tzinfo=tz).astimezone(UTC)


# --- the insights report --------------------------------------------------------------


async def _insights(
    deps: Deps, area: areas_db.Area, start: datetime, end: datetime
) -> InsightsReport:
    before = days_before(start, 1, deps.settings.timezone)
    async with deps.db.read() as conn:
        items = await reports_db.feedback_in(conn, start, end, area_id=area.id)
        now = await reports_db.totals(conn, start, end, area_id=area.id)
        previous = await reports_db.totals(conn, before, start, area_id=area.id)
        asked = await reports_db.requests_asked(conn, start, end, area_id=area.id)
        asked_before = await reports_db.requests_asked(conn, before, start, area_id=area.id)
        top = await reports_db.accounts_asking(
            conn, start, end, area_id=area.id, limit=TOP_ACCOUNTS
        )
    was = {a.request_id: a.feedback for a in asked_before}
    return {
        "area": area.name,
        "area_slug": area.slug,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "timezone": deps.settings.timezone,
        "feedback": now.feedback,
        "previous": previous.feedback,
        "accounts": now.accounts,
        "arr": _money(now.arr),
        "unknown_account": now.unknown,
        "high_severity": sum(1 for i in items if i.severity == "high"),
        "requests": [
            RequestTrend(
                request_id=a.request_id,
                slug=a.slug,
                title=a.title,
                feedback=a.feedback,
                previous=was.get(a.request_id, 0),
            )
            for a in asked
        ],
        "top_accounts": [
            AccountLine(account_id=a.id, name=a.name, arr=_money(a.arr), feedback=a.feedback)
            for a in top
        ],
        "themes": await _themes(deps, items),
        "quotes": _quotes(items),
    }


async def _themes(deps: Deps, items: list[PeriodItem]) -> list[ThemeLine]:
    """Groups of similar feedback (the agents' offline clustering), largest first."""
    found = await find_themes([i.summary or i.quote for i in items], embedder=deps.embedder)
    return [
        ThemeLine(
            name=theme.name,
            mentions=theme.size,
            requests=sorted({items[m].request_slug for m in theme.members}),
        )
        for theme in found[:THEMES]
    ]


def _quotes(items: list[PeriodItem]) -> list[QuoteLine]:
    """The feedback to show: most severe first, then the largest account, then oldest."""
    ranked = sorted(
        items,
        key=lambda i: (_SEVERITY_RANK.get(i.severity, 3), -(i.arr or 0), i.created_at, i.id),
    )
    return [
        QuoteLine(
            feedback_id=i.id,
            quote=i.quote,
            account=i.account_name,
            severity=i.severity,
            request_title=i.request_title,
            request_slug=i.request_slug,
            permalink=i.permalink,
        )
        for i in ranked[:QUOTES]
    ]


def _area_summary(report: InsightsReport, posted_to: str | None) -> dict[str, Any]:
    """The numbers a run returns for one area."""
    return {
        "feedback": report["feedback"],
        "previous": report["previous"],
        "accounts": report["accounts"],
        "arr": report["arr"],
        "unknown_account": report["unknown_account"],
        "requests": {r["slug"]: [r["feedback"], r["previous"]] for r in report["requests"]},
        "trending_up": [r["slug"] for r in report["requests"] if r["feedback"] > r["previous"]],
        "top_accounts": [a["name"] for a in report["top_accounts"]],
        "themes": [t["mentions"] for t in report["themes"]],
        "posted_to": posted_to,
    }


# --- the digest -----------------------------------------------------------------------


async def _headline(
    deps: Deps,
    start: datetime,
    new: list[ReportRequest],
    shipped: list[ReportRequest],
    by_count: list[reports_db.Asked],
    demand: dict[str, requests_db.Demand],
) -> Digest:
    """The digest's headline: the LLM's when one is configured, else the template's."""
    return await write_digest(
        week_of=start.date(),
        new=[_digest_item(r, demand) for r in new],
        shipped=[_digest_item(r, demand) for r in shipped],
        trending=[
            DigestItem(
                a.title,
                feedback_count=demand.get(a.request_id, requests_db.Demand()).feedback,
                new_feedback_count=a.feedback,
            )
            for a in by_count
        ],
        llm=deps.llm,
    )


def _digest_item(request: ReportRequest, demand: dict[str, requests_db.Demand]) -> DigestItem:
    asked = demand.get(request.id, requests_db.Demand())
    return DigestItem(
        request.title,
        feedback_count=asked.feedback,
        area=request.areas[0] if request.areas else None,
    )


def _request_line(
    request: ReportRequest, demand: dict[str, requests_db.Demand], permalink: str | None
) -> RequestLine:
    asked = demand.get(request.id, requests_db.Demand())
    return RequestLine(
        request_id=request.id,
        slug=request.slug,
        title=request.title,
        areas=list(request.areas),
        feedback=asked.feedback,
        accounts=asked.accounts,
        arr=_money(asked.arr),
        permalink=permalink,
    )


def _asked_line(asked: reports_db.Asked, names: dict[str, tuple[str, ...]]) -> RequestLine:
    return RequestLine(
        request_id=asked.request_id,
        slug=asked.slug,
        title=asked.title,
        areas=list(names.get(asked.request_id, ())),
        feedback=asked.feedback,
        accounts=asked.accounts,
        arr=_money(asked.arr),
        permalink=None,
    )


def _digest_summary(report: DigestReport, posted_to: str | None) -> dict[str, Any]:
    """The numbers a digest run returns."""

    def ranked(lines: list[RequestLine]) -> list[dict[str, Any]]:
        return [
            {
                "slug": line["slug"],
                "feedback": line["feedback"],
                "accounts": line["accounts"],
                "arr": line["arr"],
            }
            for line in lines
        ]

    return {
        "period_start": report["period_start"],
        "period_end": report["period_end"],
        "feedback": report["feedback"],
        "accounts": report["accounts"],
        "arr": report["arr"],
        "unknown_account": report["unknown_account"],
        "new_requests": report["new_requests"],
        "new": [line["slug"] for line in report["new"]],
        "shipped": report["shipped_count"],
        "shipped_slugs": [line["slug"] for line in report["shipped"]],
        "by_count": ranked(report["by_count"]),
        "by_arr": ranked(report["by_arr"]),
        "posted_to": posted_to,
    }


def _money(amount: Decimal) -> str:
    """ARR as an exact decimal string with cents (the same on SQLite and PostgreSQL)."""
    return f"{amount:.2f}"
