"""Each worker's index follows what the others file (the stored embeddings are the truth)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents import CachedEmbedder, FakeEmbedder, Matcher, Tier
from feedback import requests as requests_db
from feedback.database import Database
from feedback.settings import Settings
from workflows.deps import Deps
from workflows.matching import REQUEST_TEXT, IndexSync, forget_text, index_text, sync_index


def _worker(db: Database) -> Deps:
    """The collaborators of one worker process, as far as matching goes."""
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    slack: Any = None  # matching never calls Slack
    return Deps(
        db=db,
        slack=slack,
        matcher=Matcher(CachedEmbedder(FakeEmbedder())),
        settings=settings,
        index_sync=IndexSync(every=0.0),
    )


async def _request(db: Database, request_id: str, title: str) -> None:
    async with db.transaction() as conn:
        await requests_db.create(
            conn, request_id=request_id, title=title, description="", creator_id=None
        )


async def test_a_request_filed_by_one_worker_is_matched_by_another(domain_db: Database) -> None:
    first, second = _worker(domain_db), _worker(domain_db)
    await _request(domain_db, "r1", "export dashboards to pdf")

    await index_text(first, "r1", REQUEST_TEXT, "export dashboards to pdf")
    before = await second.matcher.decide("export dashboards to pdf")
    reloaded = await sync_index(second)
    after = await second.matcher.decide("export dashboards to pdf")

    assert before.tier is Tier.NEW
    assert reloaded == 1
    assert after.tier is Tier.LINK and after.request_id == "r1"
    assert await sync_index(second) == 0  # nothing new since


async def test_feedback_unlinked_by_one_worker_leaves_the_others_index(
    domain_db: Database,
) -> None:
    first, second = _worker(domain_db), _worker(domain_db)
    await _request(domain_db, "r1", "single sign on")
    await index_text(first, "r1", REQUEST_TEXT, "single sign on")
    await index_text(first, "r1", "f1", "okta login for our whole company")
    await sync_index(second)
    assert (await second.matcher.decide("okta login for our whole company")).tier is Tier.LINK

    await forget_text(first, "r1", "f1")
    await sync_index(second)

    assert (await second.matcher.decide("okta login for our whole company")).tier is not Tier.LINK


async def test_a_worker_looks_at_most_every_so_often(domain_db: Database) -> None:
    first, second = _worker(domain_db), _worker(domain_db)
    second.index_sync.every = timedelta(hours=1).total_seconds()
    await sync_index(second)  # looks now, then not for an hour
    await _request(domain_db, "r1", "dark mode")
    await index_text(first, "r1", REQUEST_TEXT, "dark mode")

    assert await sync_index(second) == 0


async def test_workers_take_up_applied_thresholds(domain_db: Database) -> None:
    from agents import Thresholds
    from feedback import thresholds as thresholds_db
    from workflows.matching import sync_thresholds

    worker = _worker(domain_db)
    defaults = worker.matcher.thresholds
    assert await sync_thresholds(worker, force=True) == defaults
    assert worker.thresholds_sync.source == "defaults"

    async with domain_db.transaction() as conn:
        await thresholds_db.apply(
            conn,
            embedder=worker.embedder.name,
            link=0.91,
            ask=0.6,
            margin=0.03,
            source="decisions (150 examples)",
            actor="feedback-bot calibrate",
            before=None,
        )
    assert await sync_thresholds(worker) == defaults  # it looked less than `every` ago
    used = await sync_thresholds(worker, force=True)

    assert used == Thresholds(link=0.91, ask=0.6, margin=0.03)
    assert worker.matcher.thresholds == used
    assert worker.thresholds_sync.source.startswith("decisions (150 examples), applied ")
