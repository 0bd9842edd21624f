"""The JSON codec: supported values round-trip; others fail naming where."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from workflows.engine import SerializationError, StepRetriesExhausted, StoredError
from workflows.engine._serialization import decode_error, dumps, encode_error, loads


@dataclasses.dataclass
class Point:
    x: int
    when: datetime


class Model(pydantic.BaseModel):
    name: str
    tags: list[str]


class CustomError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def test_values_round_trip() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    value = {
        "n": [1, 2.5, None, True, "x"],
        "when": when,
        "blob": b"\x00\xff",
        "point": Point(3, when),
        "model": Model(name="a", tags=["b"]),
        "$weird": 1,
    }
    assert loads(dumps(value, "v")) == value


def test_a_dict_with_a_single_dollar_key_is_not_read_as_a_tag() -> None:
    assert loads(dumps({"$dt": "not a date"}, "v")) == {"$dt": "not a date"}


def test_tuples_come_back_as_lists() -> None:
    assert loads(dumps((1, 2), "v")) == [1, 2]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"a": [object()]}, "v['a'][0] has type object"),
        (datetime(2026, 1, 1), "naive datetime"),
        ({1: "x"}, "non-string key"),
        (float("nan"), "NaN"),
        ({1, 2}, "type set"),
    ],
)
def test_unsupported_values_fail_loudly_naming_the_path(value: object, fragment: str) -> None:
    with pytest.raises(SerializationError, match="v") as info:
        dumps(value, "v")
    assert fragment in str(info.value)


def test_errors_round_trip_with_type_and_message() -> None:
    restored = decode_error(encode_error(ValueError("bad value")))
    assert type(restored) is ValueError
    assert str(restored) == "bad value"


def test_errors_with_custom_init_keep_type_and_message() -> None:
    restored = decode_error(encode_error(CustomError(7, "nope")))
    assert type(restored) is CustomError
    assert str(restored) == "7: nope"


def test_exhausted_retries_keep_their_cause() -> None:
    restored = decode_error(encode_error(StepRetriesExhausted("charge", 3, KeyError("k"))))
    assert isinstance(restored, StepRetriesExhausted)
    assert restored.attempts == 3 and restored.step == "charge"
    assert isinstance(restored.cause, KeyError)


def test_unimportable_error_types_become_stored_errors() -> None:
    record = encode_error(ValueError("x"))
    record["type"] = "gone.module:VanishedError"
    restored = decode_error(record)
    assert isinstance(restored, StoredError)
    assert restored.type_name == "gone.module.VanishedError"
    assert restored.message == "x"


def test_aware_datetimes_keep_their_instant() -> None:
    now = datetime.now(UTC)
    assert loads(dumps(now, "v")) == now
