"""sync-embeddings, find-related and semantic-search, end to end on both databases."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from feedback import requests as requests_db
from feedback.schema import related_requests, request_embeddings
from tests.workflows.harness import ACME_CHANNEL, DANA, LINK_TEXT, SAM, Product
from workflows.matching import REQUEST_TEXT, index_text
from workflows.upkeep import find_related, semantic_search, sync_embeddings


async def _stored(product: Product) -> set[tuple[str, str]]:
    async with product.deps.db.read() as conn:
        rows = await conn.execute(
            select(request_embeddings.c.request_id, request_embeddings.c.text_id).where(
                request_embeddings.c.embedder == product.deps.embedder.name
            )
        )
        return {(r, t) for r, t in rows}


async def test_sync_embeddings_embeds_every_request_and_its_feedback(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()
    [item] = await product.items()
    expected = {(r, REQUEST_TEXT) for r in product.backlog.values()} | {
        (product.backlog["pdf"], item["id"])
    }
    # as after switching embedders: nothing stored for the one now configured
    async with product.deps.db.transaction() as conn:
        await conn.execute(delete(request_embeddings))

    result = await (await product.engine.start(sync_embeddings, run_id="sync-embeddings:1")).result(
        timeout=60
    )

    assert result == {"requests": 3, "texts": 4}
    assert await _stored(product) == expected
    run = await product.engine.get_run("sync-embeddings:1")
    assert [s.name for s in run.steps] == ["list_requests", "embed_batch"]


async def test_find_related_proposes_near_duplicates_and_merges_nothing(
    product: Product,
) -> None:
    async with product.deps.db.transaction() as conn:
        await requests_db.create(
            conn,
            request_id="req-pdf-2",
            title="PDF export of dashboards",
            description="Download dashboards as PDF files for board meetings.",
            creator_id=None,
        )
    await index_text(
        product.deps,
        "req-pdf-2",
        REQUEST_TEXT,
        "PDF export of dashboards. Download dashboards as PDF files for board meetings.",
    )

    result = await (await product.engine.start(find_related, run_id="find-related:1")).result(
        timeout=60
    )

    pairs = {(p["a"], p["b"]) for p in result["pairs"]}
    assert pairs == {tuple(sorted(("req-pdf-2", product.backlog["pdf"])))}
    async with product.deps.db.read() as conn:
        links = (await conn.execute(select(func.count()).select_from(related_requests))).scalar()
        statuses = {r.status for r in (await requests_db.get_many(conn, ["req-pdf-2"])).values()}
    assert links == 2 and statuses == {"open"}  # linked both ways, nothing merged or closed


async def test_semantic_search_ranks_requests_by_meaning(product: Product) -> None:
    results = await (
        await product.engine.start(semantic_search, "pdf of my dashboards", 2, run_id="search:1")
    ).result(timeout=30)

    assert results[0]["request_id"] == product.backlog["pdf"]
    assert results[0]["score"] > results[1]["score"]
    assert results[0]["status"] == "open" and results[0]["slug"] == "export-dashboards-to-pdf"
