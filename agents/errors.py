"""Errors of the ``agents`` layer.

::

    AgentsError                      base of every error raised by ``agents``
    ├── EmbedderError                an embedder could not produce embeddings
    │   ├── EmbedderConfigError      bad or missing configuration (model file, API key, name)
    │   └── EmbedderUnavailable      the embedding service failed after retries
    ├── MatchingDataError            an evaluation or calibration file is malformed
    ├── LLMUnavailable               no LLM configured, or the service failed after retries
    └── LLMOutputInvalid             the model's answer did not validate, even after repair

Foreign errors (``openai``, ``onnxruntime``) are mapped to these at the boundary and
re-raised ``from`` the original, so callers never need to import a vendor's classes.
"""

from __future__ import annotations


class AgentsError(Exception):
    """Base class of every error raised by the ``agents`` package."""


class EmbedderError(AgentsError):
    """An embedder could not produce embeddings."""


class EmbedderConfigError(EmbedderError):
    """The embedder is misconfigured: fix the setting named in the message."""


class EmbedderUnavailable(EmbedderError):
    """The embedding service kept failing after the allowed retries."""


class MatchingDataError(AgentsError):
    """A matching evaluation or calibration file is malformed."""


class LLMUnavailable(AgentsError):
    """No LLM is configured, or it kept failing after the allowed retries."""


class LLMOutputInvalid(AgentsError):
    """The model's answer did not match the expected schema, even after a repair attempt."""
