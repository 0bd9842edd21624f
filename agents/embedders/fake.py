"""A FAKE embedder for tests of other layers: hashed bag of words, no meaning.

Each lower-cased word is hashed (BLAKE2b, stable across processes and platforms) to a
signed bucket; the vector is the L2-normalised bucket counts. Texts sharing words score
high, identical texts score 1.0, texts sharing none score about 0. It knows no synonyms:
never use it to judge matching quality.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agents.errors import EmbedderConfigError
from agents.thresholds import Thresholds

__all__ = ["FAKE_THRESHOLDS", "FakeEmbedder"]

FAKE_THRESHOLDS = Thresholds(link=0.8, ask=0.5, margin=0.0)
"""Round numbers for tests: most words shared links, about half asks."""

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Deterministic hashing bag-of-words embedder (a test double, not a model).

    Args:
        dim: Length of each vector.
    """

    dim: int

    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            raise EmbedderConfigError(f"dim must be at least 2, got {dim}")
        self.dim = dim
        self.name = f"fake:hashed-words-{dim}"
        self.thresholds: Thresholds | None = FAKE_THRESHOLDS
        self.calls: list[list[str]] = []
        """Every batch embedded so far, for tests that count calls."""

    def __repr__(self) -> str:
        return f"FakeEmbedder(dim={self.dim})"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts by hashing their words.

        Args:
            texts: The texts; may be empty.

        Returns:
            A float32 array of shape ``(len(texts), dim)`` with unit rows.

        Raises:
            TypeError: An item is not a string.
        """
        batch = list(texts)
        self.calls.append(batch)
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        for row, text in enumerate(batch):
            if not isinstance(text, str):
                raise TypeError(f"texts[{row}] is {type(text).__name__}, expected str")
            out[row] = self._vector(text)
        return out

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()) or [text]:
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            number = int.from_bytes(digest, "little")
            vector[number % self.dim] += 1.0 if number >> 63 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # no words (or they cancelled out): one bucket for the whole text
            vector[len(text) % self.dim] = 1.0
            return vector
        return vector / norm
