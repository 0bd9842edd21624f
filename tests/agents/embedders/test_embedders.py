"""The embedder registry: pick by name, fail with a message that names the choices."""

from __future__ import annotations

import pytest

from agents.embedders import EMBEDDERS, Embedder, get_embedder
from agents.errors import EmbedderConfigError


def test_every_registered_embedder_fits_the_protocol() -> None:
    assert EMBEDDERS == ("local", "openai", "fake")
    built = [get_embedder("local"), get_embedder("openai", api_key="sk-x"), get_embedder("fake")]
    for embedder in built:
        assert isinstance(embedder, Embedder)
        assert embedder.dim > 0 and ":" in embedder.name
    assert "not loaded" in repr(built[0])  # building loads nothing


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(EmbedderConfigError, match="choose one of local, openai, fake"):
        get_embedder("bert")


def test_bad_option_is_a_config_error() -> None:
    with pytest.raises(EmbedderConfigError, match="bad option for the 'fake' embedder"):
        get_embedder("fake", colour="blue")
    with pytest.raises(EmbedderConfigError, match="needs an API key"):
        get_embedder("openai")
