"""An embedder that remembers recent texts: the same text is embedded once.

A worker embeds the same words more than once (the feedback when it is matched and
again when it is indexed; an area's description at every draft), so the app wraps its
embedder in :class:`CachedEmbedder`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agents.embedders import Embedder
from agents.thresholds import Thresholds

__all__ = ["CachedEmbedder"]


class CachedEmbedder:
    """Wraps an embedder with a least-recently-used cache of vectors by text.

    Args:
        inner: The embedder that does the work.
        size: How many texts to remember.
    """

    def __init__(self, inner: Embedder, *, size: int = 2048) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.thresholds: Thresholds | None = inner.thresholds
        self.size = size
        self._vectors: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, size={self.size})"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts, asking the inner embedder only for those not remembered."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = await self.inner.embed(missing)
            for text, vector in zip(missing, fresh, strict=True):
                self._vectors[text] = vector
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vector = self._vectors.get(text)
            if vector is None:  # evicted by this very call (a batch larger than the cache)
                vector = (await self.inner.embed([text]))[0]
            else:
                self._vectors.move_to_end(text)
            out[row] = vector
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
        return out
