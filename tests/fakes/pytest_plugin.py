"""Pytest fixtures for the local fakes.

Use them from a ``conftest.py`` by importing the fixture (re-export it in ``__all__`` so
linters see it used)::

    from tests.fakes.pytest_plugin import fake_openai

    __all__ = ["fake_openai"]

or load the whole module from the root ``tests/conftest.py`` with
``pytest_plugins = ["tests.fakes.pytest_plugin"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAIServer

__all__ = ["FAKE_OPENAI_KEY", "fake_openai"]

FAKE_OPENAI_KEY = "sk-fake-test-key"
"""The API key the ``fake_openai`` fixture accepts."""


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A running :class:`FakeOpenAIServer` accepting ``FAKE_OPENAI_KEY``, stopped after the test."""
    with FakeOpenAIServer(api_key=FAKE_OPENAI_KEY) as server:
        yield server
