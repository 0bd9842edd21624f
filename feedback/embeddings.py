"""Stored embeddings of requests: one vector per request, embedder and text.

::

    await embeddings.save(conn, request_id=r.id, embedder=embedder.name,
                          text_id="request", text=r.text, vector=vector)
    for stored in await embeddings.load(conn, embedder.name):
        index.add(stored.request_id, stored.vector)

Vectors are stored as float32 little-endian bytes with their length (``dim``). Vectors
of different embedders are never compared, so every call names the embedder.
``text_id`` is ``"request"`` for the title and description, else the id of a feedback
item whose words were added to the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback._util import upsert, utcnow
from feedback.schema import request_embeddings

__all__ = ["REQUEST_TEXT", "StoredEmbedding", "delete", "load", "save"]

REQUEST_TEXT = "request"
"""The ``text_id`` of a request's own title and description."""

_FLOAT32_LE = np.dtype("<f4")


@dataclass(frozen=True, eq=False)
class StoredEmbedding:
    """One stored vector.

    Attributes:
        request_id: The request it belongs to.
        text_id: ``"request"``, or the feedback id whose text it embeds.
        text: The text that was embedded.
        vector: float32, shape ``(dim,)``.
    """

    request_id: str
    text_id: str
    text: str
    vector: npt.NDArray[np.float32]

    def __repr__(self) -> str:
        return (
            f"StoredEmbedding(request_id={self.request_id!r}, text_id={self.text_id!r}, "
            f"dim={self.vector.shape[0]})"
        )


async def save(
    conn: AsyncConnection,
    *,
    request_id: str,
    embedder: str,
    text_id: str,
    text: str,
    vector: npt.NDArray[np.floating[Any]],
) -> None:
    """Store a vector, replacing the one stored for the same request, embedder and text id.

    Args:
        conn: A connection in a write transaction.
        request_id: The request.
        embedder: The embedder's name (``Embedder.name``).
        text_id: ``"request"`` or a feedback id.
        text: The text that was embedded.
        vector: One finite vector (1-D).

    Raises:
        ValueError: The vector is not 1-D, is empty, or is not finite.
    """
    row = np.asarray(vector)
    if row.ndim != 1 or row.shape[0] == 0 or not np.all(np.isfinite(row)):
        raise ValueError(
            f"embedding of request {request_id!r}: expected one finite, non-empty vector, "
            f"got shape {row.shape}"
        )
    await upsert(
        conn,
        request_embeddings,
        {
            "request_id": request_id,
            "embedder": embedder,
            "text_id": text_id,
            "text": text,
            "dim": int(row.shape[0]),
            "vector": row.astype(_FLOAT32_LE).tobytes(),
            "updated_at": utcnow(),
        },
        keys=("request_id", "embedder", "text_id"),
    )


async def load(
    conn: AsyncConnection, embedder: str, *, request_id: str | None = None
) -> list[StoredEmbedding]:
    """Every vector stored for an embedder (or for one request), by request and text id.

    Args:
        conn: A connection.
        embedder: The embedder's name.
        request_id: Only this request's vectors.

    Raises:
        ValueError: A stored vector's bytes do not match its ``dim`` (a damaged row).
    """
    t = request_embeddings
    query = select(t.c.request_id, t.c.text_id, t.c.text, t.c.dim, t.c.vector).where(
        t.c.embedder == embedder
    )
    if request_id is not None:
        query = query.where(t.c.request_id == request_id)
    rows = await conn.execute(query.order_by(t.c.request_id, t.c.text_id))
    return [
        StoredEmbedding(request_id, text_id, text, _vector(request_id, dim, bytes(blob)))
        for request_id, text_id, text, dim, blob in rows
    ]


async def delete(
    conn: AsyncConnection, request_id: str, embedder: str, text_id: str | None = None
) -> None:
    """Remove a request's vectors for an embedder (one text's, or all of them).

    Args:
        conn: A connection in a write transaction.
        request_id: The request.
        embedder: The embedder's name.
        text_id: Only this text's vector; ``None``: every vector of the request.
    """
    t = request_embeddings
    statement = sql_delete(t).where(t.c.request_id == request_id, t.c.embedder == embedder)
    if text_id is not None:
        statement = statement.where(t.c.text_id == text_id)
    await conn.execute(statement)


def _vector(request_id: str, dim: int, blob: bytes) -> npt.NDArray[np.float32]:
    if len(blob) != dim * _FLOAT32_LE.itemsize:
        raise ValueError(
            f"request_embeddings row of request {request_id!r} is damaged: {len(blob)} bytes "
            f"for dim {dim}; delete it and embed the request again"
        )
    return np.frombuffer(blob, dtype=_FLOAT32_LE).astype(np.float32)


async def changed_since(
    conn: AsyncConnection, embedder: str, since: datetime | None
) -> dict[str, datetime]:
    """The latest change of each request whose vectors changed after ``since`` (all: None)."""
    t = request_embeddings
    query = (
        select(t.c.request_id, func.max(t.c.updated_at))
        .where(t.c.embedder == embedder)
        .group_by(t.c.request_id)
    )
    if since is not None:
        query = query.where(t.c.updated_at > since)
    rows = await conn.execute(query)
    return {str(request_id): when for request_id, when in rows}


async def touch(conn: AsyncConnection, request_id: str, embedder: str) -> None:
    """Mark a request's vectors as changed (after one was deleted), so indexes reload it."""
    t = request_embeddings
    await conn.execute(
        sql_update(t)
        .where(t.c.request_id == request_id, t.c.embedder == embedder)
        .values(updated_at=utcnow())
    )
