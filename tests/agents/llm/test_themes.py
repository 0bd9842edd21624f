"""Clustering feedback into named themes, with the lexical or an injected embedder."""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
import pytest

from agents.errors import EmbedderUnavailable
from agents.llm import LexicalEmbedder, find_themes
from agents.llm.themes import cluster
from tests.agents.llm.conftest import TopicEmbedder


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


async def test_lexical_embedder_without_injection() -> None:
    texts = ["export audit logs to csv", "audit logs export to csv please", "dark mode"]
    themes = await find_themes(texts, threshold=0.5)
    assert [t.members for t in themes] == [(0, 1)]
    rows = await LexicalEmbedder(dim=64).embed(["a b", "the"])
    assert np.allclose(np.linalg.norm(rows, axis=1), [1.0, 0.0])


class BrokenEmbedder:
    async def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        raise EmbedderUnavailable("model service down")


async def test_failing_embedder_falls_back_to_shared_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    texts = ["export audit logs to csv", "audit logs export to csv please", "dark mode"]
    with caplog.at_level(logging.WARNING):
        themes = await find_themes(texts, embedder=BrokenEmbedder(), threshold=0.5)
    assert [t.members for t in themes] == [(0, 1)]
    assert "model service down" in caplog.text
