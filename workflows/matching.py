"""Keep the matcher's index and the stored embeddings in step with the requests.

The database is the truth (``request_embeddings``). A worker refreshes its in-memory
index from it for a request whenever it changes that request's texts (so a re-run step
leaves the same index), and :func:`sync_index` picks up what other workers changed
since it last looked, before each match.

The matching thresholds in force live in the database too (``feedback-bot calibrate
--apply`` records them): :func:`sync_thresholds` puts the latest into the matcher, or
the embedder's defaults when none were applied.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from agents import Thresholds
from feedback import embeddings
from feedback import thresholds as thresholds_db
from feedback.items import FeedbackItem

if TYPE_CHECKING:
    from workflows.deps import Deps

__all__ = [
    "REQUEST_TEXT",
    "IndexSync",
    "ThresholdsSync",
    "forget_text",
    "index_text",
    "load_index",
    "matching_text",
    "sync_index",
    "sync_thresholds",
]

REQUEST_TEXT = "request"
OVERLAP = timedelta(seconds=5)
"""Look this far behind the last change seen: other workers' clocks and commits lag."""


@dataclass
class IndexSync:
    """Which stored version of each request this worker's index holds.

    Attributes:
        every: Look for other workers' changes at most this often, in seconds (a
            burst of matches shares one look).
    """

    every: float = 0.5
    loaded: dict[str, datetime] = field(default_factory=dict)
    seen_until: datetime | None = None
    next_look: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def saw(self, versions: dict[str, datetime]) -> None:
        """Record the stored versions now loaded."""
        self.loaded.update(versions)
        latest = max(versions.values(), default=None)
        if latest is not None and (self.seen_until is None or latest > self.seen_until):
            self.seen_until = latest


@dataclass
class ThresholdsSync:
    """Which thresholds the matcher uses, and where they came from.

    Attributes:
        every: Re-read the thresholds in force at most this often, in seconds.
        source: Where the thresholds in use came from.
    """

    every: float = 30.0
    source: str = "defaults"
    next_look: float = 0.0
    defaults: Thresholds | None = None


async def sync_thresholds(deps: Deps, *, force: bool = False) -> Thresholds:
    """Put the thresholds in force for the matcher's embedder into the matcher.

    Args:
        deps: The worker's collaborators.
        force: Read now, however recently it looked.

    Returns:
        The thresholds the matcher now uses.
    """
    sync = deps.thresholds_sync
    matcher = deps.matcher
    if sync.defaults is None:
        sync.defaults = matcher.thresholds
    if not force and time.monotonic() < sync.next_look:
        return matcher.thresholds
    sync.next_look = time.monotonic() + sync.every
    async with deps.db.read() as conn:
        found = await thresholds_db.active(conn, deps.embedder.name)
    if found is None:
        matcher.thresholds, sync.source = sync.defaults, "defaults"
    else:
        matcher.thresholds = Thresholds(link=found.link, ask=found.ask, margin=found.margin)
        sync.source = f"{found.source}, applied {found.at:%Y-%m-%d %H:%M} UTC by {found.actor}"
    return matcher.thresholds


async def load_index(deps: Deps) -> int:
    """Fill the matcher's index from every stored text of its embedder (at start-up).

    Returns:
        How many requests were indexed.
    """
    async with deps.db.read() as conn:
        versions = await embeddings.changed_since(conn, deps.embedder.name, None)
        stored = await embeddings.load(conn, deps.embedder.name)
    by_request: dict[str, list[embeddings.StoredEmbedding]] = {}
    for row in stored:
        by_request.setdefault(row.request_id, []).append(row)
    for request_id, rows in by_request.items():
        _put(deps, request_id, rows)
    deps.index_sync.saw(versions)
    return len(by_request)


async def sync_index(deps: Deps) -> int:
    """Reload the requests whose stored texts changed since this worker loaded them.

    Returns:
        How many requests were reloaded (0 when it looked less than ``every`` ago).
    """
    sync = deps.index_sync
    async with sync.lock:
        if time.monotonic() < sync.next_look:
            return 0
        sync.next_look = time.monotonic() + sync.every
        since = None if sync.seen_until is None else sync.seen_until - OVERLAP
        async with deps.db.read() as conn:
            versions = await embeddings.changed_since(conn, deps.embedder.name, since)
        changed = {rid: when for rid, when in versions.items() if sync.loaded.get(rid) != when}
        for request_id in changed:
            await _refresh(deps, request_id)
        sync.saw(changed)
    return len(changed)


def matching_text(item: FeedbackItem) -> str:
    """The words of a feedback item that are matched and indexed: its pain, in short."""
    return item.pain or item.summary or item.quote


async def index_text(deps: Deps, request_id: str, text_id: str, text: str) -> None:
    """Embed and store one text of a request (its own, or linked feedback), then re-index it."""
    vector = (await deps.embedder.embed([text]))[0]
    async with deps.db.transaction() as conn:
        await embeddings.save(
            conn,
            request_id=request_id,
            embedder=deps.embedder.name,
            text_id=text_id,
            text=text,
            vector=vector,
        )
    await _refresh(deps, request_id)


async def forget_text(deps: Deps, request_id: str, text_id: str) -> None:
    """Drop one stored text of a request (unlinked feedback), then re-index it."""
    async with deps.db.transaction() as conn:
        await embeddings.delete(conn, request_id, deps.embedder.name, text_id)
        await embeddings.touch(conn, request_id, deps.embedder.name)
    await _refresh(deps, request_id)


async def _refresh(deps: Deps, request_id: str) -> None:
    async with deps.db.read() as conn:
        rows = await embeddings.load(conn, deps.embedder.name, request_id=request_id)
    _put(deps, request_id, rows)


def _put(deps: Deps, request_id: str, rows: list[embeddings.StoredEmbedding]) -> None:
    rows.sort(key=lambda r: (r.text_id != REQUEST_TEXT, r.text_id))  # its own text first
    index = deps.matcher.index
    if not rows:
        if request_id in index:
            index.remove(request_id)
        return
    vectors = np.stack([r.vector for r in rows])
    ids = [r.text_id for r in rows]
    texts = [r.text for r in rows]
    if request_id in index:
        index.update(request_id, vectors, text_ids=ids, texts=texts)
    else:
        index.add(request_id, vectors, text_ids=ids, texts=texts)
