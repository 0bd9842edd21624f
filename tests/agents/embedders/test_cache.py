"""CachedEmbedder: the same text is embedded once, and vectors stay right."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from agents import CachedEmbedder, FakeEmbedder


class Counting(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.asked += list(texts)
        return await super().embed(texts)


async def test_a_text_is_embedded_once_and_gives_the_same_vector() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner)

    first = await cached.embed(["pdf export", "sso"])
    again = await cached.embed(["sso", "pdf export", "sso"])

    assert inner.asked == ["pdf export", "sso"]
    np.testing.assert_array_equal(again, first[[1, 0, 1]])
    np.testing.assert_array_equal(first, await inner.embed(["pdf export", "sso"]))


async def test_the_least_recently_used_text_is_forgotten() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, size=2)

    await cached.embed(["a", "b"])
    await cached.embed(["a"])  # b is now the oldest
    await cached.embed(["c"])
    await cached.embed(["a", "b"])

    assert inner.asked == ["a", "b", "c", "b"]


async def test_a_batch_larger_than_the_cache_is_still_embedded() -> None:
    cached = CachedEmbedder(FakeEmbedder(), size=1)

    vectors = await cached.embed(["a", "b", "c"])

    np.testing.assert_array_equal(vectors, await FakeEmbedder().embed(["a", "b", "c"]))


def test_it_names_itself_as_the_inner_embedder() -> None:
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner)

    assert (cached.name, cached.dim, cached.thresholds) == (inner.name, inner.dim, inner.thresholds)
    with pytest.raises(ValueError, match="size"):
        CachedEmbedder(inner, size=0)
