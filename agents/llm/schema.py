"""JSON schemas for OpenAI structured output ("strict" mode) from pydantic models.

Strict mode wants every property required, ``additionalProperties: false`` on every
object and no ``default``; it ignores or rejects string length keywords. Length limits
stay enforced by pydantic when the answer is validated, and are repeated in the
property's description so the model knows them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["response_format", "strict_json_schema"]

_DROPPED = frozenset({"default", "minLength", "maxLength", "title"})
_CONTAINERS = frozenset({"properties", "$defs", "definitions"})


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Build the strict-mode JSON schema of a pydantic model.

    Args:
        model: The pydantic model the answer must validate against.

    Returns:
        A JSON schema with all properties required, no extra properties, no defaults,
        and string lengths moved into descriptions.
    """
    converted = _convert(model.model_json_schema())
    if not isinstance(converted, dict):  # pragma: no cover - pydantic always gives a dict
        raise TypeError(f"{model.__name__} has no object schema")
    return converted


def response_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    """Build the ``response_format`` argument for a chat completion.

    Args:
        model: The pydantic model of the answer.
        name: The schema name (letters, digits, ``_`` and ``-``).

    Returns:
        ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": True}}``.
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": strict_json_schema(model), "strict": True},
    }


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _CONTAINERS and isinstance(value, dict):
            result[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key not in _DROPPED:
            result[key] = _convert(value)
    _describe_lengths(node, result)
    if result.get("type") == "object" or "properties" in result:
        result["required"] = list(result.get("properties", {}))
        result["additionalProperties"] = False
    return result


def _describe_lengths(source: dict[str, Any], target: dict[str, Any]) -> None:
    low, high = source.get("minLength"), source.get("maxLength")
    if low is None and high is None:
        return
    if low is not None and high is not None:
        rule = f"{low} to {high} characters"
    elif high is not None:
        rule = f"at most {high} characters"
    else:
        rule = f"at least {low} characters"
    description = str(target.get("description", "")).rstrip(". ")
    target["description"] = f"{description} ({rule})." if description else f"{rule.capitalize()}."
