"""Fixtures of the LLM task tests: the fake OpenAI server, a client, a tiny embedder."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest

from agents.llm import LLMClient, LLMConfig
from agents.thresholds import Thresholds
from tests.fakes import FakeOpenAIServer
from tests.fakes.pytest_plugin import FAKE_OPENAI_KEY, fake_openai

__all__ = ["Sleeps", "TopicEmbedder", "data_of", "fake_openai", "llm", "sleeps"]


class Sleeps(list[float]):
    """Records the delays the client asked to sleep, without sleeping."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class TopicEmbedder:
    """A deterministic embedder (an ``agents.embedders.Embedder``) that knows synonyms.

    One axis per topic: texts sharing no words but the same topic get the same
    direction, which the bag of words of ``FakeEmbedder`` could not do.
    """

    name = "topics"
    thresholds: Thresholds | None = None
    topics: ClassVar[dict[str, tuple[str, ...]]] = {
        "billing": ("invoice", "invoices", "billing", "payment", "charged", "refund"),
        "identity": ("sso", "saml", "login", "okta", "sign"),
        "security": ("password", "mfa", "2fa"),
        "export": ("export", "csv", "download", "spreadsheet", "excel"),
        "speed": ("slow", "latency", "timeout", "lag", "performance"),
    }

    def __init__(self) -> None:
        self.dim = len(self.topics) + 1
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            for axis, words in enumerate(self.topics.values()):
                rows[row, axis] = sum(lowered.count(word) for word in words)
            if not rows[row].any():
                rows[row, -1] = 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = rows / norms
        return result


def data_of(entry_messages: list[dict[str, Any]]) -> Any:
    """The JSON payload between <data> and </data> of a journaled data message."""
    content = entry_messages[1]["content"]
    body = content.split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0]
    return json.loads(body)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def llm(fake_openai: FakeOpenAIServer, sleeps: Sleeps) -> AsyncIterator[LLMClient]:
    config = LLMConfig(
        api_key=FAKE_OPENAI_KEY,
        base_url=fake_openai.base_url,
        model="fake-model",
        timeout=5.0,
        max_attempts=3,
        base_delay=0.01,
    )
    async with LLMClient(config, sleep=sleeps) as client:
        yield client
