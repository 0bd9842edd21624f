"""Payload generators of the fake OpenAI server: embedding vectors and schema examples.

Kept apart from the HTTP plumbing so tests can compute what the fake will answer, e.g.
``fake_embedding("some text", 384)`` equals the vector ``/v1/embeddings`` returns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["example_from_schema", "fake_embedding"]


def fake_embedding(text: str, dimensions: int = 1536) -> list[float]:
    """The deterministic unit vector the fake server returns for ``text``.

    Words are hashed into signed buckets (feature hashing), so texts sharing words have a
    positive cosine similarity and identical texts identical vectors.

    Args:
        text: The input text.
        dimensions: The vector length.

    Returns:
        A list of ``dimensions`` floats with L2 norm 1.
    """
    vector = [0.0] * dimensions
    tokens = re.findall(r"\w+", text.lower()) or [text]
    for token in tokens:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "little")
        vector[number % dimensions] += 1.0 if (number >> 63) & 1 else -1.0
    norm = sum(value * value for value in vector) ** 0.5
    if norm == 0.0:  # every word cancelled out; fall back to one bucket of the full text
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest, "little") % dimensions] = 1.0
        norm = 1.0
    return [value / norm for value in vector]


def example_from_schema(schema: Mapping[str, Any], name: str = "value") -> Any:
    """Build a plausible value that satisfies a JSON schema (the default chat answer).

    Supports ``$ref`` into ``$defs``/``definitions``, ``const``, ``enum``, ``anyOf``/
    ``oneOf``/``allOf``, objects, arrays (``minItems``/``maxItems``), strings
    (``minLength``/``maxLength``), numbers (``minimum``/``maximum``), booleans and null.

    Args:
        schema: The JSON schema, e.g. ``response_format["json_schema"]["schema"]``.
        name: The property name, used to word example strings.

    Returns:
        A JSON-compatible value.
    """
    return _Example(schema).build(schema, name)


class _Example:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def build(self, schema: Mapping[str, Any], name: str, depth: int = 0) -> Any:
        if depth > 20:
            return None
        if "$ref" in schema:
            return self.build(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            if schema.get(key):
                options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
                return self.build(options[0], name, depth + 1)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        return self._typed(schema, str(kind), name, depth)

    def _typed(self, schema: Mapping[str, Any], kind: str, name: str, depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties", {})
            return {key: self.build(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            count = min(count, int(schema.get("maxItems", count)))
            item = schema.get("items", {})
            return [self.build(item, name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return _example_number(schema, integer=kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return _example_string(schema, name)

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node  # type: ignore[no-any-return]


def _example_number(schema: Mapping[str, Any], *, integer: bool) -> float | int:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        value = (low + high) / 2
    elif low is not None:
        value = low + 1
    elif high is not None:
        value = high - 1
    else:
        value = 1
    return int(value) if integer else float(value)


def _example_string(schema: Mapping[str, Any], name: str) -> str:
    if schema.get("format") == "date-time":
        return "2024-01-01T00:00:00Z"
    words = name.replace("_", " ").strip() or "value"
    text = f"Example {words}"
    minimum = int(schema.get("minLength", 0))
    while len(text) < minimum:
        text += f" {words}"
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text
