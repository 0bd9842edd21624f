"""Keeping the request set healthy: ``sync-embeddings``, ``find-related``, ``semantic-search``.

- **sync-embeddings**: embed every request (its title and description, and the words
  of each piece of feedback filed under it) with the configured embedder, dropping
  what is no longer filed there, in batches
  (each batch a step: the run's steps show the progress, and a crash resumes after
  the last batch done). Run it after switching embedders; every worker's index
  follows the stored vectors.
- **find-related**: likely duplicates across the whole set, stored as related links
  (both ways) for a person to look at; nothing is ever merged automatically.
- **semantic-search**: a query, and the closest requests with their scores, status
  and demand.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from feedback import embeddings, items
from feedback import requests as requests_db
from feedback._util import insert_ignore
from feedback.schema import related_requests
from feedback.schema import requests as requests_table
from workflows.deps import Deps, current
from workflows.engine import RunRecord, step, workflow
from workflows.matching import REQUEST_TEXT, matching_text, sync_index

__all__ = [
    "BATCH",
    "find_related",
    "rank_requests",
    "semantic_search",
    "sync_embeddings",
    "sync_progress",
]

logger = logging.getLogger(__name__)

BATCH = 64


@workflow("sync-embeddings")
async def sync_embeddings() -> dict[str, Any]:
    """Re-embed every request with the configured embedder, a batch per step."""
    request_ids = await list_requests()
    done = 0
    for start in range(0, len(request_ids), BATCH):
        done += await embed_batch(request_ids[start : start + BATCH])
    return {"requests": len(request_ids), "texts": done}


def sync_progress(run: RunRecord) -> tuple[int, int] | None:
    """How far a ``sync-embeddings`` run is, from its steps: (batches embedded, batches
    in all); ``None`` until it has listed the requests."""
    listed = next((s for s in run.steps if s.name == "list_requests"), None)
    if listed is None or listed.status != "completed":
        return None
    total = -(-len(listed.result) // BATCH)
    done = sum(1 for s in run.steps if s.name == "embed_batch" and s.status == "completed")
    return done, total


@workflow("find-related")
async def find_related(limit: int = 3) -> dict[str, Any]:
    """Propose likely duplicates as related links, for every request."""
    pairs = await relate_all(limit)
    return {"pairs": pairs}


@workflow("semantic-search")
async def semantic_search(query: str, limit: int = 10) -> list[dict[str, Any]]:
    """The requests closest to ``query``, best first, with score, status and demand."""
    return await search(query, limit)


# --- steps ----------------------------------------------------------------------------


@step
async def list_requests() -> list[str]:
    """Every request id, oldest first."""
    async with current().db.read() as conn:
        rows = await conn.execute(
            select(requests_table.c.id).order_by(requests_table.c.created_at, requests_table.c.id)
        )
        return [str(r) for r in rows.scalars()]


@step(max_attempts=5)
async def embed_batch(request_ids: list[str]) -> int:
    """Embed one batch of requests with all their texts; returns how many texts."""
    deps = current()
    texts: list[tuple[str, str, str]] = []  # request, text id, text
    async with deps.db.read() as conn:
        found = await requests_db.get_many(conn, request_ids, with_areas=False)
        for request_id in request_ids:
            if request_id not in found:
                continue
            texts.append((request_id, REQUEST_TEXT, found[request_id].text))
            for item in await items.for_request(conn, request_id):
                texts.append((request_id, item.id, matching_text(item)))
    vectors = await deps.embedder.embed([t for _, _, t in texts])
    current_ids: dict[str, set[str]] = {}
    for request_id, text_id, _ in texts:
        current_ids.setdefault(request_id, set()).add(text_id)
    async with deps.db.transaction() as conn:
        for (request_id, text_id, text), vector in zip(texts, vectors, strict=True):
            await embeddings.save(
                conn,
                request_id=request_id,
                embedder=deps.embedder.name,
                text_id=text_id,
                text=text,
                vector=vector,
            )
        for request_id, keep in current_ids.items():  # feedback no longer filed there
            stored = await embeddings.load(conn, deps.embedder.name, request_id=request_id)
            for row in stored:
                if row.text_id not in keep:
                    await embeddings.delete(conn, request_id, deps.embedder.name, row.text_id)
    logger.info("sync-embeddings: %d texts of %d requests", len(texts), len(found))
    return len(texts)


@step(max_attempts=5)
async def relate_all(limit: int) -> list[dict[str, Any]]:
    """Pairs of requests whose own texts score above the ask threshold."""
    deps = current()
    await sync_index(deps)
    async with deps.db.read() as conn:
        rows = list(
            await conn.execute(
                select(requests_table.c.id, requests_table.c.title, requests_table.c.description)
            )
        )
    texts = {
        rid: f"{title}. {description}".strip() if description else title
        for rid, title, description in rows
    }
    ids = list(texts)
    decisions = await deps.matcher.decide_many([texts[rid] for rid in ids]) if ids else []
    floor = deps.matcher.thresholds.ask
    pairs: dict[tuple[str, str], float] = {}
    for rid, decision in zip(ids, decisions, strict=True):
        close = [c for c in decision.candidates if c.request_id != rid and c.score >= floor]
        for candidate in close[:limit]:
            key = (min(rid, candidate.request_id), max(rid, candidate.request_id))
            if candidate.request_id in texts:
                pairs[key] = max(pairs.get(key, 0.0), candidate.score)
    async with deps.db.transaction() as conn:
        for (a, b), score in pairs.items():
            for one, other in ((a, b), (b, a)):
                await insert_ignore(
                    conn,
                    related_requests,
                    {"request_id": one, "related_id": other, "score": float(score)},
                )
    return [{"a": a, "b": b, "score": round(s, 3)} for (a, b), s in sorted(pairs.items())]


@step(max_attempts=3)
async def search(query: str, limit: int) -> list[dict[str, Any]]:
    """Rank requests for a query by meaning."""
    return await rank_requests(current(), query, limit)


async def rank_requests(deps: Deps, query: str, limit: int = 10) -> list[dict[str, Any]]:
    """Requests ranked by meaning for ``query``, with score, status, slug and demand.

    What ``/feedback search`` answers with, inline (one embedding and an index scan).
    """
    await sync_index(deps)
    vector = (await deps.embedder.embed([query]))[0]
    hits = deps.matcher.index.search(vector, limit)
    async with deps.db.read() as conn:
        found = await requests_db.get_many(conn, [h.request_id for h in hits], with_areas=False)
        demand = await requests_db.demand(conn, list(found))
    return [
        {
            "request_id": h.request_id,
            "title": found[h.request_id].title,
            "slug": found[h.request_id].slug,
            "status": found[h.request_id].status,
            "score": round(float(h.score), 3),
            "customers": demand.get(h.request_id, requests_db.Demand()).accounts,
            "arr": str(demand.get(h.request_id, requests_db.Demand()).arr),
        }
        for h in hits
        if h.request_id in found
    ]
