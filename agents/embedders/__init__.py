"""Embedders behind one interface, and :func:`get_embedder` to pick one by name.

An embedder turns texts into L2-normalised float32 rows, so a dot product is a cosine
similarity::

    embedder = get_embedder("local")
    vectors = await embedder.embed(["Export to CSV", "Dark mode"])   # shape (2, 384)

- ``local`` (the default): all-MiniLM-L6-v2, int8 ONNX, offline; calibrated thresholds;
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` (``text-embedding-3-small`` by
  default); no thresholds until calibrated;
- ``fake``: a hashed bag of words for tests of other layers; knows no meaning.

Each embedder carries the :class:`~agents.thresholds.Thresholds` calibrated for its
scores (``None`` when it has none yet: run ``feedback-bot calibrate``). The heavy
imports (onnxruntime, openai) happen on an embedder's first :meth:`Embedder.embed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from agents.errors import EmbedderConfigError
from agents.thresholds import Thresholds

__all__ = ["EMBEDDERS", "Embedder", "get_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        name: Identifies the model and its settings (e.g. ``local:all-MiniLM-L6-v2-int8``);
            vectors of different names must never be compared.
        dim: Length of each vector.
        thresholds: Thresholds calibrated for this embedder's scores, or ``None``.
    """

    name: str
    dim: int
    thresholds: Thresholds | None

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts.

        Args:
            texts: The texts; may be empty.

        Returns:
            An array of shape ``(len(texts), dim)``, float32, each row of L2 norm 1.

        Raises:
            EmbedderConfigError: The embedder is misconfigured (model file, API key).
            EmbedderUnavailable: The embedding service kept failing.
            EmbedderError: Any other failure to embed.
        """
        ...


def _local(**options: Any) -> Embedder:
    from agents.embedders.local import LocalEmbedder

    return LocalEmbedder(**options)


def _openai(**options: Any) -> Embedder:
    from agents.embedders.openai import OpenAIEmbedder

    return OpenAIEmbedder(**options)


def _fake(**options: Any) -> Embedder:
    from agents.embedders.fake import FakeEmbedder

    return FakeEmbedder(**options)


_FACTORIES: dict[str, Callable[..., Embedder]] = {
    "local": _local,
    "openai": _openai,
    "fake": _fake,
}

EMBEDDERS: tuple[str, ...] = tuple(_FACTORIES)
"""The names :func:`get_embedder` accepts."""


def get_embedder(name: str = "local", **options: Any) -> Embedder:
    """Build an embedder by name.

    Args:
        name: ``"local"``, ``"openai"`` or ``"fake"``.
        **options: Passed to the embedder's constructor (e.g. ``api_key``, ``base_url``,
            ``model``, ``dimensions`` for ``openai``; ``threads`` for ``local``).

    Returns:
        The embedder. Models load lazily, on the first :meth:`Embedder.embed`.

    Raises:
        EmbedderConfigError: The name is unknown or an option is invalid.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(EMBEDDERS)
        raise EmbedderConfigError(f"unknown embedder {name!r}: choose one of {known}")
    try:
        return factory(**options)
    except TypeError as exc:
        raise EmbedderConfigError(f"bad option for the {name!r} embedder: {exc}") from exc
