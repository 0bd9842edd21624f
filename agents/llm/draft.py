"""Draft a new feature request (title, description, product area), with an offline fallback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.embedders import Embedder
from agents.llm.client import LLMClient, with_fallback
from agents.llm.extract import ExtractedItem
from agents.llm.prompts import DRAFT_SYSTEM
from agents.llm.text import clean_slack_text, clip, extractive_summary, sentences
from agents.llm.vectors import embed_texts, nearest

__all__ = [
    "ProductArea",
    "RequestDraft",
    "draft_request",
    "fallback_draft",
    "nearest_area",
    "title_from",
]

logger = logging.getLogger(__name__)

TITLE_MIN = 10
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
MAX_FEEDBACK_CHARS = 4000


@dataclass(frozen=True)
class ProductArea:
    """A product area requests belong to.

    Attributes:
        name: The area's name, unique among areas.
        description: What the area covers; helps pick it.
    """

    name: str
    description: str = ""


class RequestDraft(BaseModel):
    """A proposed new feature request.

    Attributes:
        title: 10 to 200 characters.
        description: What is needed and why.
        area: The chosen area's name, or ``None`` when no area fits or none was given.
        source: ``"llm"``, or ``"fallback"`` when drafted offline.
    """

    model_config = ConfigDict(frozen=True)

    title: str = Field(min_length=TITLE_MIN, max_length=TITLE_MAX)
    description: str = Field(max_length=DESCRIPTION_MAX)
    area: str | None
    source: Literal["llm", "fallback"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(
        min_length=TITLE_MIN, max_length=TITLE_MAX, description="The requested capability, concise."
    )
    description: str = Field(
        min_length=1, max_length=DESCRIPTION_MAX, description="What the customer needs and why."
    )
    area: str | None = Field(description="One of the listed area names, exactly.")


async def draft_request(
    feedback: str | ExtractedItem,
    *,
    areas: Sequence[ProductArea],
    llm: LLMClient | None,
    embedder: Embedder | None = None,
) -> RequestDraft:
    """Draft a new request from feedback, choosing its product area from ``areas``.

    Args:
        feedback: The feedback text, or one extracted item (its summary and pain).
        areas: The product areas to choose from.
        llm: The LLM client, or ``None`` to draft offline.
        embedder: Used by the fallback to pick the nearest area: pass the app's;
            ``None`` means the offline local model (``get_embedder("local")``, built once).

    Returns:
        The draft; ``source`` says whether the LLM or the fallback produced it.
    """
    summary, pain = _parts(feedback)

    async def call(client: LLMClient) -> RequestDraft:
        data = {
            "feedback": {"summary": summary, "pain": pain},
            "areas": [{"name": a.name, "description": a.description} for a in areas],
        }
        answer = await client.structured(
            _Answer,
            task="draft_request",
            system=DRAFT_SYSTEM,
            data=data,
            check=lambda answer: _check_area(answer, areas),
        )
        return RequestDraft(
            title=answer.title.strip(),
            description=answer.description.strip(),
            area=answer.area,
            source="llm",
        )

    async def offline() -> RequestDraft:
        return await fallback_draft(feedback, areas=areas, embedder=embedder)

    return await with_fallback("draft_request", llm, call, offline)


async def fallback_draft(
    feedback: str | ExtractedItem,
    *,
    areas: Sequence[ProductArea],
    embedder: Embedder | None = None,
) -> RequestDraft:
    """Draft offline: title from the summary's first sentence, nearest area by embedding.

    Args:
        feedback: The feedback text, or one extracted item.
        areas: The product areas to choose from.
        embedder: Embeds feedback and areas: pass the app's; ``None`` means the offline
            local model (``get_embedder("local")``, built once).

    Returns:
        A draft with ``source="fallback"``; its ``area`` is ``None`` when no embedder
        could embed the texts.
    """
    summary, pain = _parts(feedback)
    description = pain if summary.rstrip("…") in pain else f"{summary}\n\n{pain}"
    area = await nearest_area(f"{summary}\n{pain}", areas, embedder=embedder)
    return RequestDraft(
        title=title_from(summary or pain),
        description=clip(description, DESCRIPTION_MAX) or "No description given.",
        area=area.name if area else None,
        source="fallback",
    )


async def nearest_area(
    text: str, areas: Sequence[ProductArea], *, embedder: Embedder | None = None
) -> ProductArea | None:
    """Pick the area whose name and description are most similar to ``text``.

    Args:
        text: The feedback or request text.
        areas: The candidate areas.
        embedder: The embedder: pass the app's; ``None`` means the offline local model
            (``get_embedder("local")``, built once). Should it fail, the local model
            stands in (see :func:`~agents.llm.vectors.embed_texts`).

    Returns:
        The nearest area, or ``None`` when there are no areas, no similarity at all, or
        no embedder could embed the texts (logged as a warning).
    """
    if not areas:
        return None
    vectors = await embed_texts(embedder, [text] + [_area_text(a) for a in areas])
    if vectors is None:
        return None
    best = nearest(vectors[0], vectors[1:])
    return areas[best[0]] if best else None


def title_from(text: str) -> str:
    """Derive a request title of 10 to 200 characters from a summary.

    Args:
        text: A summary or description.

    Returns:
        Its first sentence, without a trailing full stop, capitalised and fitted to
        the length limits.
    """
    first = next(iter(sentences(clean_slack_text(text))), "").rstrip(" .")
    title = clip(first, TITLE_MAX)
    if len(title) < TITLE_MIN:
        title = f"Customer request: {title}" if title else "Customer feedback to triage"
    return title[0].upper() + title[1:]


def _parts(feedback: str | ExtractedItem) -> tuple[str, str]:
    if isinstance(feedback, ExtractedItem):
        return feedback.summary, feedback.pain
    text = clip(clean_slack_text(feedback), MAX_FEEDBACK_CHARS)
    return extractive_summary([text], limit=500), text


def _area_text(area: ProductArea) -> str:
    return f"{area.name}: {area.description}" if area.description else area.name


def _check_area(answer: _Answer, areas: Sequence[ProductArea]) -> _Answer:
    if not areas:
        return answer.model_copy(update={"area": None})
    lookup = {area.name.casefold(): area.name for area in areas}
    chosen = lookup.get((answer.area or "").strip().casefold())
    if chosen is None:
        raise ValueError("area: must be exactly one of the listed area names")
    return answer.model_copy(update={"area": chosen})
