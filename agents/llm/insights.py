"""Area insights: up to four report sections from an area's open requests, with a fallback.

Sections: ``dealbreakers`` (revenue at risk), ``segments`` (who feels the pain),
``themes`` (recurring friction) and ``delivery`` (execution status). Offline, each is
computed from the numbers and themes come from clustering the linked feedback.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.embedders import Embedder
from agents.llm.client import LLMClient, with_fallback
from agents.llm.draft import ProductArea
from agents.llm.prompts import INSIGHTS_SYSTEM
from agents.llm.text import clip, sanitize_output
from agents.llm.themes import find_themes

__all__ = [
    "AccountInfo",
    "AreaInsights",
    "AreaRequest",
    "InsightSection",
    "SectionKind",
    "area_insights",
    "fallback_insights",
]

logger = logging.getLogger(__name__)

SectionKind = Literal["dealbreakers", "segments", "themes", "delivery"]
MAX_REQUESTS = 40
MAX_FEEDBACK_PER_REQUEST = 5
_BANDS = (
    (100_000.0, "Enterprise (ARR $100k+)"),
    (20_000.0, "Mid-market (ARR $20k-100k)"),
    (0.0, "SMB (ARR under $20k)"),
)
_UNPLANNED = frozenset({"open", "new", "triage", "backlog"})

Item = Annotated[str, Field(min_length=1, max_length=300)]


@dataclass(frozen=True)
class AccountInfo:
    """A customer account behind some feedback.

    Attributes:
        name: The account name.
        arr: Annual recurring revenue, if known.
    """

    name: str
    arr: float | None = None


@dataclass(frozen=True)
class AreaRequest:
    """One open request of the area, with its demand.

    Attributes:
        request_id: The request's id.
        title: The request's title.
        description: The request's description.
        status: ``open``, ``planned`` and so on.
        feedback_count: How much feedback is linked.
        feedback: Texts of (some of) the linked feedback.
        accounts: Accounts that asked, with ARR when known.
        high_severity_count: How much of the linked feedback is high severity.
    """

    request_id: str
    title: str
    description: str = ""
    status: str = "open"
    feedback_count: int = 0
    feedback: Sequence[str] = ()
    accounts: Sequence[AccountInfo] = ()
    high_severity_count: int = 0


class InsightSection(BaseModel):
    """One section of the report.

    Attributes:
        kind: ``dealbreakers``, ``segments``, ``themes`` or ``delivery``.
        title: A short heading.
        summary: One to three sentences.
        items: Up to six bullet points.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SectionKind
    title: str = Field(min_length=1, max_length=100)
    summary: str = Field(min_length=1, max_length=600)
    items: tuple[Item, ...] = Field(max_length=6)


class AreaInsights(BaseModel):
    """The insights report of one product area.

    Attributes:
        area: The area's name.
        sections: Up to four sections, each kind at most once.
        source: ``"llm"``, or ``"fallback"`` when computed offline.
    """

    model_config = ConfigDict(frozen=True)

    area: str
    sections: tuple[InsightSection, ...] = Field(max_length=4)
    source: Literal["llm", "fallback"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[InsightSection] = Field(max_length=4)


async def area_insights(
    area: str | ProductArea,
    requests: Sequence[AreaRequest],
    *,
    llm: LLMClient | None,
    embedder: Embedder | None = None,
    theme_threshold: float = 0.5,
) -> AreaInsights:
    """Write the insights report of one area from its open requests.

    Args:
        area: The area (or its name).
        requests: The area's open requests, with demand and accounts.
        llm: The LLM client, or ``None`` to compute the report offline.
        embedder: Used by the fallback to cluster feedback into themes: pass the app's;
            ``None`` means the offline local model (``get_embedder("local")``, built once).
        theme_threshold: The fallback's minimum similarity inside a theme.

    Returns:
        The report; ``source`` says whether the LLM or the fallback produced it.
    """
    name = area.name if isinstance(area, ProductArea) else area
    if not requests:
        return AreaInsights(area=name, sections=(), source="fallback")

    async def call(client: LLMClient) -> AreaInsights:
        answer = await client.structured(
            _Answer,
            task="area_insights",
            system=INSIGHTS_SYSTEM,
            data=_data(area, requests),
            check=_check,
        )
        return AreaInsights(area=name, sections=tuple(answer.sections), source="llm")

    async def offline() -> AreaInsights:
        return await fallback_insights(
            area, requests, embedder=embedder, theme_threshold=theme_threshold
        )

    return await with_fallback("area_insights", llm, call, offline)


async def fallback_insights(
    area: str | ProductArea,
    requests: Sequence[AreaRequest],
    *,
    embedder: Embedder | None = None,
    theme_threshold: float = 0.5,
) -> AreaInsights:
    """Compute the report offline: figures, ARR bands, feedback clusters, statuses.

    Args:
        area: The area (or its name).
        requests: The area's open requests.
        embedder: Embeds feedback for themes: pass the app's; ``None`` means the offline
            local model (``get_embedder("local")``, built once).
        theme_threshold: Minimum average similarity inside a theme.

    Returns:
        A report with ``source="fallback"`` and only the sections the data supports.
    """
    name = area.name if isinstance(area, ProductArea) else area
    sections = [
        _dealbreakers(requests),
        _segments(requests),
        await _themes(requests, embedder, theme_threshold),
        _delivery(requests),
    ]
    kept = tuple(section for section in sections if section is not None)
    return AreaInsights(area=name, sections=kept, source="fallback")


def _data(area: str | ProductArea, requests: Sequence[AreaRequest]) -> dict[str, Any]:
    top = sorted(requests, key=lambda r: -r.feedback_count)[:MAX_REQUESTS]
    return {
        "area": {"name": area.name, "description": area.description}
        if isinstance(area, ProductArea)
        else {"name": area},
        "totals": {
            "requests": len(requests),
            "feedback": sum(r.feedback_count for r in requests),
            "arr": _total_arr(requests),
        },
        "requests": [
            {
                "title": clip(r.title, 200),
                "description": clip(r.description, 500),
                "status": r.status,
                "feedback_count": r.feedback_count,
                "high_severity_count": r.high_severity_count,
                "accounts": [{"name": a.name, "arr": a.arr} for a in r.accounts[:20]],
                "feedback": [clip(t, 300) for t in r.feedback[:MAX_FEEDBACK_PER_REQUEST]],
            }
            for r in top
        ],
    }


def _check(answer: _Answer) -> _Answer:
    kinds = [section.kind for section in answer.sections]
    if len(set(kinds)) != len(kinds):
        raise ValueError("sections: each kind may appear at most once")
    cleaned = [
        section.model_copy(
            update={
                "title": sanitize_output(section.title) or section.kind.title(),
                "summary": sanitize_output(section.summary) or "-",
                "items": tuple(text for text in map(sanitize_output, section.items) if text),
            }
        )
        for section in answer.sections
    ]
    return _Answer(sections=cleaned)


def _dealbreakers(requests: Sequence[AreaRequest]) -> InsightSection | None:
    hot = [r for r in requests if r.high_severity_count > 0]
    if not hot:
        return None
    hot.sort(key=lambda r: (-r.high_severity_count, -_arr(r.accounts), -r.feedback_count))
    accounts = {a.name for r in hot for a in r.accounts}
    arr = _total_arr(hot)
    money = f", {_money(arr)} ARR" if arr else ""
    summary = (
        f"{len(hot)} request(s) carry high-severity feedback from {len(accounts)} "
        f"account(s){money}."
    )
    items = tuple(
        clip(
            f"{r.title}: {r.high_severity_count} high-severity, {r.feedback_count} feedback"
            + (f", {_money(_arr(r.accounts))} ARR" if _arr(r.accounts) else ""),
            300,
        )
        for r in hot[:6]
    )
    return InsightSection(
        kind="dealbreakers", title="Revenue at risk", summary=summary, items=items
    )


def _segments(requests: Sequence[AreaRequest]) -> InsightSection | None:
    accounts: dict[str, float | None] = {}
    asks: Counter[str] = Counter()
    for request in requests:
        for account in request.accounts:
            accounts[account.name] = (
                account.arr if account.arr is not None else accounts.get(account.name)
            )
            asks[account.name] += 1
    if not accounts:
        return None
    bands: dict[str, list[str]] = {}
    for name, arr in accounts.items():
        bands.setdefault(_band(arr), []).append(name)
    ranked = sorted(
        bands.items(), key=lambda kv: (-sum(accounts[n] or 0.0 for n in kv[1]), -len(kv[1]), kv[0])
    )
    items = tuple(
        f"{band}: {len(names)} account(s), {sum(asks[n] for n in names)} request link(s)"
        + (
            f", {_money(sum(accounts[n] or 0.0 for n in names))} ARR"
            if any(accounts[n] for n in names)
            else ""
        )
        for band, names in ranked
    )
    top_band = ranked[0][0]
    summary = (
        f"Most of the pain by revenue comes from {top_band} accounts."
        if top_band != "Unknown ARR"
        else f"{len(accounts)} account(s) asked; no ARR is known for them yet."
    )
    items = tuple(clip(item, 300) for item in items)
    return InsightSection(
        kind="segments", title="Who's feeling the pain", summary=summary, items=items[:6]
    )


async def _themes(
    requests: Sequence[AreaRequest], embedder: Embedder | None, threshold: float
) -> InsightSection | None:
    texts = [text for r in requests for text in r.feedback]
    if len(texts) < 2:
        texts = [f"{r.title}. {r.description}" for r in requests]
    themes = await find_themes(texts, embedder=embedder, threshold=threshold)
    if not themes:
        return None
    items = tuple(f"{clip(t.name, 200)} ({t.size} similar mentions)" for t in themes[:6])
    summary = (
        f"{len(themes)} recurring theme(s) across {len(texts)} pieces of feedback; "
        f"the largest groups {themes[0].size}."
    )
    return InsightSection(kind="themes", title="Recurring themes", summary=summary, items=items)


def _delivery(requests: Sequence[AreaRequest]) -> InsightSection:
    statuses = Counter(r.status for r in requests)
    waiting = sorted(
        (r for r in requests if r.status in _UNPLANNED), key=lambda r: -r.feedback_count
    )
    summary = ", ".join(f"{count} {status}" for status, count in statuses.most_common()) + "."
    items = tuple(
        clip(f"Not planned yet: {r.title} ({r.feedback_count} feedback)", 300)
        for r in waiting[:3]
        if r.feedback_count > 0
    )
    return InsightSection(
        kind="delivery",
        title="Delivery status",
        summary=clip(f"{len(requests)} requests: {summary}", 600),
        items=items,
    )


def _arr(accounts: Sequence[AccountInfo]) -> float:
    return sum(a.arr or 0.0 for a in accounts)


def _total_arr(requests: Sequence[AreaRequest]) -> float:
    unique = {a.name: a.arr or 0.0 for r in requests for a in r.accounts}
    return sum(unique.values())


def _band(arr: float | None) -> str:
    if arr is None or arr < 0:
        return "Unknown ARR"
    return next(label for floor, label in _BANDS if arr >= floor)


def _money(amount: float) -> str:
    if amount >= 1_000_000:
        return f"${amount / 1_000_000:.1f}M"
    if amount >= 1_000:
        return f"${amount / 1_000:.0f}k"
    return f"${amount:.0f}"
