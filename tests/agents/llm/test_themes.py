"""Clustering feedback into named themes, with an injected embedder or the local model."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from agents.embedders.fake import FakeEmbedder
from agents.errors import EmbedderConfigError, EmbedderUnavailable
from agents.llm import find_themes
from agents.llm.themes import cluster
from agents.llm.vectors import default_embedder
from agents.thresholds import Thresholds
from tests.agents.llm.conftest import TopicEmbedder

EXPORTS = ["export audit logs to csv", "audit logs export to csv please", "dark mode"]


def test_cluster_groups_by_average_similarity() -> None:
    vectors = np.array([[1, 0], [0.96, 0.28], [0, 1], [0.28, 0.96], [-1, 0]], dtype=np.float32)
    assert cluster(vectors, threshold=0.8) == [[0, 1], [2, 3], [4]]
    assert cluster(vectors, threshold=1.1) == [[0], [1], [2], [3], [4]]
    assert cluster(np.zeros((0, 2), dtype=np.float32), 0.5) == []


async def test_themes_are_named_by_their_most_central_text() -> None:
    texts = [
        "SSO login with Okta fails",
        "We need SAML SSO for Okta login",
        "Invoices show the wrong payment date",
        "SSO login is required by security",
        "Refund missing from the invoice",
        "",
    ]
    themes = await find_themes(texts, embedder=TopicEmbedder(), threshold=0.9)
    assert [t.members for t in themes] == [(0, 1, 3), (2, 4)]
    assert themes[0].name in texts[:4]
    assert themes[0].size == 3
    assert 0.9 <= themes[0].cohesion <= 1.0


async def test_a_cheap_embedder_groups_shared_words() -> None:
    embedder = FakeEmbedder()
    themes = await find_themes(EXPORTS, embedder=embedder, threshold=0.5)
    assert [t.members for t in themes] == [(0, 1)]
    assert embedder.calls == [EXPORTS]


async def test_without_an_embedder_the_local_model_is_used_and_reused() -> None:
    themes = await find_themes(EXPORTS, threshold=0.5)
    assert [t.members for t in themes] == [(0, 1)]
    assert default_embedder() is default_embedder()
    assert default_embedder().name.startswith("local:")


async def test_too_few_texts_embed_nothing() -> None:
    embedder = FakeEmbedder()
    assert await find_themes(["dark mode", "  "], embedder=embedder) == []
    assert embedder.calls == []


class BrokenEmbedder:
    dim = 8
    thresholds: Thresholds | None = None

    def __init__(self, error: Exception, name: str = "broken") -> None:
        self.error = error
        self.name = name

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise self.error


async def test_failing_embedder_falls_back_to_the_local_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenEmbedder(EmbedderUnavailable("model service down"))
    with caplog.at_level(logging.WARNING):
        themes = await find_themes(EXPORTS, embedder=broken, threshold=0.5)
    assert [t.members for t in themes] == [(0, 1)]
    assert "model service down" in caplog.text


async def test_when_no_embedder_works_there_are_no_themes(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = BrokenEmbedder(
        EmbedderConfigError("model.onnx is missing"), name=default_embedder().name
    )
    monkeypatch.setattr("agents.llm.vectors.default_embedder", lambda: local)
    with caplog.at_level(logging.WARNING):
        assert await find_themes(EXPORTS, threshold=0.5) == []
    assert "model.onnx is missing" in caplog.text
