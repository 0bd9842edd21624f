"""Strict JSON schemas: every property required, no extras, lengths in descriptions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.llm.schema import response_format, strict_json_schema


class Inner(BaseModel):
    default: str = Field(default="x", max_length=5)  # a property named like a keyword


class Outer(BaseModel):
    title: str = Field(min_length=10, max_length=200, description="The title.")
    note: str | None = Field(default=None, max_length=50)
    items: list[Inner] = Field(default_factory=list, max_length=3)


def test_objects_are_closed_and_fully_required() -> None:
    schema = strict_json_schema(Outer)
    assert schema["required"] == ["title", "note", "items"]
    assert schema["additionalProperties"] is False
    inner = schema["$defs"]["Inner"]
    assert inner["required"] == ["default"]
    assert inner["additionalProperties"] is False
    assert "default" in inner["properties"]  # property names survive


def test_unsupported_keywords_move_into_descriptions() -> None:
    schema = strict_json_schema(Outer)
    title = schema["properties"]["title"]
    assert "minLength" not in title
    assert "maxLength" not in title
    assert title["description"] == "The title (10 to 200 characters)."
    assert "default" not in schema["properties"]["note"]
    assert schema["properties"]["items"]["maxItems"] == 3
    assert '"default": "x"' not in str(schema)


def test_response_format_shape() -> None:
    fmt = response_format(Outer, "outer")
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "outer"
    assert fmt["json_schema"]["strict"] is True
