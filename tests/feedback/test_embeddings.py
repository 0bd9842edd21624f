"""Stored request embeddings: float32 little-endian bytes, upserted per embedder and text."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import select, update

from feedback import embeddings, requests
from feedback.database import Database
from feedback.schema import request_embeddings


async def _requests(db: Database, *ids: str) -> None:
    async with db.transaction() as conn:
        for request_id in ids:
            await requests.create(
                conn, request_id=request_id, title=request_id, description="", creator_id=None
            )


async def test_save_and_load_round_trip(domain_db: Database) -> None:
    await _requests(domain_db, "r1", "r2")
    vector = np.array([0.6, 0.8, 0.0], dtype=np.float64)  # stored as float32
    async with domain_db.transaction() as conn:
        await embeddings.save(
            conn, request_id="r2", embedder="e", text_id="request", text="R2", vector=vector
        )
        await embeddings.save(
            conn, request_id="r1", embedder="e", text_id="f9", text="F9", vector=vector[::-1]
        )
        await embeddings.save(
            conn, request_id="r1", embedder="other", text_id="request", text="R1", vector=vector
        )
    async with domain_db.read() as conn:
        stored = await embeddings.load(conn, "e")
        t = request_embeddings
        raw = (
            await conn.execute(
                select(t.c.vector, t.c.dim).where(t.c.request_id == "r2", t.c.embedder == "e")
            )
        ).one()
    assert [(s.request_id, s.text_id, s.text) for s in stored] == [
        ("r1", "f9", "F9"),
        ("r2", "request", "R2"),
    ]
    assert stored[1].vector.dtype == np.float32
    np.testing.assert_array_equal(stored[1].vector, vector.astype(np.float32))
    assert raw.dim == 3
    assert bytes(raw.vector) == vector.astype("<f4").tobytes()
    assert repr(stored[0]) == "StoredEmbedding(request_id='r1', text_id='f9', dim=3)"


async def test_save_replaces_the_same_text(domain_db: Database) -> None:
    await _requests(domain_db, "r1")
    async with domain_db.transaction() as conn:
        for text, vector in (("old", [1.0, 0.0]), ("new", [0.0, 1.0, 0.0])):
            await embeddings.save(
                conn,
                request_id="r1",
                embedder="e",
                text_id="request",
                text=text,
                vector=np.array(vector),
            )
    async with domain_db.read() as conn:
        [stored] = await embeddings.load(conn, "e")
    assert stored.text == "new"
    np.testing.assert_array_equal(stored.vector, [0.0, 1.0, 0.0])


async def test_delete_one_text_or_all(domain_db: Database) -> None:
    await _requests(domain_db, "r1", "r2")
    async with domain_db.transaction() as conn:
        for request_id, text_id in (("r1", "request"), ("r1", "f1"), ("r2", "request")):
            await embeddings.save(
                conn,
                request_id=request_id,
                embedder="e",
                text_id=text_id,
                text="t",
                vector=np.ones(2),
            )
        await embeddings.delete(conn, "r1", "e", "f1")
    async with domain_db.read() as conn:
        left = [(s.request_id, s.text_id) for s in await embeddings.load(conn, "e")]
    assert left == [("r1", "request"), ("r2", "request")]
    async with domain_db.read() as conn:
        assert [s.request_id for s in await embeddings.load(conn, "e", request_id="r2")] == ["r2"]
    async with domain_db.transaction() as conn:
        await embeddings.delete(conn, "r1", "e")
        await embeddings.delete(conn, "r2", "another-embedder")
    async with domain_db.read() as conn:
        assert [s.request_id for s in await embeddings.load(conn, "e")] == ["r2"]


@pytest.mark.parametrize("vector", [np.zeros((2, 2)), np.array([]), np.array([1.0, np.nan])])
async def test_bad_vectors_are_refused(
    domain_db: Database, vector: npt.NDArray[np.float64]
) -> None:
    await _requests(domain_db, "r1")
    async with domain_db.transaction() as conn:
        with pytest.raises(ValueError, match="expected one finite, non-empty vector"):
            await embeddings.save(
                conn, request_id="r1", embedder="e", text_id="request", text="t", vector=vector
            )


async def test_a_damaged_row_says_what_to_do(domain_db: Database) -> None:
    await _requests(domain_db, "r1")
    async with domain_db.transaction() as conn:
        await embeddings.save(
            conn, request_id="r1", embedder="e", text_id="request", text="t", vector=np.ones(4)
        )
        await conn.execute(update(request_embeddings).values(dim=5))
    async with domain_db.read() as conn:
        with pytest.raises(ValueError, match="damaged: 16 bytes for dim 5; delete it and embed"):
            await embeddings.load(conn, "e")
