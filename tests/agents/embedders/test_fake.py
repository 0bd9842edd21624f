"""The fake embedder other layers test with: deterministic, word overlap only."""

from __future__ import annotations

import numpy as np
import pytest

from agents.embedders.fake import FakeEmbedder


async def test_deterministic_unit_rows() -> None:
    embedder = FakeEmbedder(dim=64)
    first = await embedder.embed(["Export the report to CSV", "dark mode"])
    again = await FakeEmbedder(dim=64).embed(["Export the report to CSV", "dark mode"])
    assert first.shape == (2, 64) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert np.linalg.norm(first, axis=1) == pytest.approx([1.0, 1.0])


async def test_shared_words_score_higher_than_none() -> None:
    texts = ["export report csv", "csv report export now", "dark mode"]
    a, b, c = await FakeEmbedder().embed(texts)
    assert float(a @ b) > 0.7
    assert float(a @ c) < float(a @ b)
    assert float(a @ a) == pytest.approx(1.0)


async def test_empty_input_and_empty_text() -> None:
    embedder = FakeEmbedder(dim=16)
    assert (await embedder.embed([])).shape == (0, 16)
    assert np.linalg.norm((await embedder.embed([""]))[0]) == pytest.approx(1.0)
    assert embedder.name == "fake:hashed-words-16"
    assert embedder.calls == [[], [""]]
