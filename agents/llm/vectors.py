"""The embedding seam of the offline fallbacks, and a lexical embedder to fall back on.

The fallbacks accept any object with ``async def embed(texts) -> ndarray`` returning
one L2-normalised row per text (the ``agents.embedders`` embedders fit), so this
module does not import them. Without one, :class:`LexicalEmbedder` hashes words: it
only knows shared words, not meaning, but needs nothing and is deterministic.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from agents.errors import EmbedderError
from agents.llm.text import words

__all__ = ["LexicalEmbedder", "TextEmbedder", "embed_texts", "nearest"]

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]


@runtime_checkable
class TextEmbedder(Protocol):
    """Anything that embeds texts into L2-normalised rows (``agents.embedders`` fit)."""

    async def embed(self, texts: list[str]) -> npt.NDArray[Any]:
        """Embed ``texts``; returns an array of shape ``(len(texts), dim)``."""
        ...


class LexicalEmbedder:
    """Feature-hashed bag of words and word pairs: deterministic, offline, no model.

    Args:
        dim: Vector size.
    """

    name = "lexical"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    def __repr__(self) -> str:
        return f"LexicalEmbedder(dim={self.dim})"

    async def embed(self, texts: list[str]) -> Matrix:
        """Embed ``texts`` into L2-normalised rows (zero rows for texts without words).

        Args:
            texts: The texts.

        Returns:
            A float32 array of shape ``(len(texts), dim)``.
        """
        matrix = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = words(text)
            features = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
            for feature in features:
                number = int.from_bytes(hashlib.blake2b(feature.encode(),
                                                        digest_size=8).digest(), "little")
                matrix[row, number % self.dim] += 1.0 if number >> 63 else -1.0
        return _normalise(matrix)


async def embed_texts(embedder: TextEmbedder | None, texts: Sequence[str]) -> Matrix:
    """Embed ``texts`` with ``embedder`` (or :class:`LexicalEmbedder`), re-normalised.

    Args:
        embedder: The embedder, or ``None`` for the lexical one.
        texts: The texts.

    Returns:
        A float32 array with one L2-normalised (or zero) row per text. When the
        embedder fails (``EmbedderError``) the lexical embedder is used, with a warning.

    Raises:
        ValueError: When the embedder returns the wrong number of rows.
    """
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    chosen = embedder if embedder is not None else LexicalEmbedder()
    try:
        raw = await chosen.embed(list(texts))
    except EmbedderError as exc:
        logger.warning("embedder failed, comparing shared words instead: %s", exc)
        raw = await LexicalEmbedder().embed(list(texts))
    matrix = np.asarray(raw, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise ValueError(f"embedder returned shape {matrix.shape} for {len(texts)} texts")
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
