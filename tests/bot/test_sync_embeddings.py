"""``feedback-bot sync-embeddings``: starts the durable run and follows it with a progress bar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import delete

from agents import Embedder
from bot.cli import build_parser
from feedback.schema import request_embeddings
from tests.workflows.harness import Product, running_product
from workflows.engine import RunStatus
from workflows.upkeep import BATCH, sync_embeddings, sync_progress


@pytest.fixture
async def product(db_url: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    async with running_product(db_url, local_embedder) as running:
        yield running


async def _command(*argv: str) -> int:
    args = build_parser().parse_args(["sync-embeddings", *argv])
    status: int = await args.handler(args)
    return status


async def test_it_follows_the_run_to_its_end_with_progress(
    product: Product, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with product.deps.db.transaction() as conn:  # as after switching embedders
        await conn.execute(delete(request_embeddings))

    # the product's worker (this test's loop) runs it, as serve's or a worker would
    assert await _command("--database-url", db_url) == 0

    out, err = capsys.readouterr()
    [started, done] = out.splitlines()
    assert started.startswith("started run sync-embeddings:")
    assert done == "embedded 3 texts of 3 requests"
    assert err.endswith("sync-embeddings: batches [" + "#" * 30 + "] 1/1\n")
    run = await product.engine.get_run(started.removeprefix("started run "))
    assert run.status == RunStatus.COMPLETED
    assert sync_progress(run) == (1, 1)


async def test_without_waiting_it_only_starts_the_run(
    product: Product, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _command("--database-url", db_url, "--no-wait") == 0

    [started] = capsys.readouterr().out.splitlines()
    run_id = started.removeprefix("started run ")
    assert (await product.engine.handle(run_id).result(timeout=60))["requests"] == 3


async def test_progress_counts_embedded_batches_once_the_requests_are_listed(
    product: Product,
) -> None:
    handle = await product.engine.start(sync_embeddings, run_id="sync-embeddings:p")
    await handle.result(timeout=60)
    run = await product.engine.get_run("sync-embeddings:p")
    listed, batch = run.steps

    assert sync_progress(run) == (1, 1)
    assert sync_progress(replace(run, steps=())) is None
    assert sync_progress(replace(run, steps=(listed,))) == (0, 1)
    listed_many = replace(listed, result=["r"] * (2 * BATCH + 1))
    assert sync_progress(replace(run, steps=(listed_many, batch, batch))) == (2, 3)
