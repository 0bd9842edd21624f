"""Embeddings for the offline fallbacks: which embedder to use, and the nearest row.

The fallbacks take any :class:`~agents.embedders.Embedder`; callers pass the app's.
``None`` means :func:`default_embedder`, the offline ``local`` model (all-MiniLM-L6-v2),
because an offline fallback should compare meaning, not shared words. That model is
built on first use and then reused; it loads lazily and needs no network.

Texts are only compared with texts embedded in the same call, so when the given
embedder fails (e.g. the OpenAI one is down) the local model can stand in for it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agents.embedders import Embedder, get_embedder
from agents.errors import EmbedderError

__all__ = ["default_embedder", "embed_texts", "nearest"]

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]


@functools.cache
def default_embedder() -> Embedder:
    """The embedder the fallbacks use when given none: ``get_embedder("local")``.

    Returns:
        One :class:`~agents.embedders.local.LocalEmbedder`, built on the first call and
        returned by every later one, so its model loads at most once.
    """
    return get_embedder("local")


async def embed_texts(embedder: Embedder | None, texts: Sequence[str]) -> Matrix | None:
    """Embed ``texts`` with ``embedder``, or with the local model, re-normalised.

    Args:
        embedder: The embedder, or ``None`` for :func:`default_embedder`.
        texts: The texts.

    Returns:
        A float32 array with one L2-normalised (or zero) row per text. When
        ``embedder`` fails (``EmbedderError``) the local model embeds the texts instead;
        when that fails too, ``None``. Each failure is logged as a warning.

    Raises:
        ValueError: When the embedder returns the wrong number of rows.
    """
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    batch = list(texts)
    chosen = embedder if embedder is not None else default_embedder()
    try:
        raw = await chosen.embed(batch)
    except EmbedderError as exc:
        local = default_embedder()
        if chosen.name == local.name:
            logger.warning("the %s embedder failed; comparing nothing: %s", chosen.name, exc)
            return None
        logger.warning("the %s embedder failed, using %s instead: %s", chosen.name, local.name, exc)
        return await embed_texts(local, batch)
    matrix = np.asarray(raw, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(batch):
        raise ValueError(f"embedder returned shape {matrix.shape} for {len(batch)} texts")
    return _normalise(matrix)


def nearest(query: Matrix, candidates: Matrix) -> tuple[int, float] | None:
    """The candidate row most similar (cosine) to one query row.

    Args:
        query: One normalised vector, shape ``(dim,)`` or ``(1, dim)``.
        candidates: Normalised rows, shape ``(n, dim)``.

    Returns:
        ``(index, similarity)`` of the best candidate, or ``None`` when there are none
        or every similarity is zero or less (no signal at all).
    """
    if candidates.shape[0] == 0:
        return None
    scores = candidates @ query.reshape(-1)
    index = int(np.argmax(scores))
    score = float(scores[index])
    return (index, score) if score > 0 else None


def _normalise(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: Matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return result
