"""JSON codec for arguments, results and errors.

Plain JSON values pass through unchanged. Other supported values are wrapped in a
one-key object whose key starts with ``$`` (``{"$dt": ...}``, ``{"$bytes": ...}``,
``{"$dc": [cls, fields]}``, ``{"$pd": [cls, data]}``); a user dict whose only key
starts with ``$`` is escaped as ``{"$map": ...}`` so it never reads back as a tag.
Tuples come back as lists. Anything else fails at the call with the path of the
offending value, never later.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib
import json
import math
import traceback
from datetime import datetime
from typing import Any

from ._errors import SerializationError, StoredError

JSON = Any
_SCALARS = (str, int, float, bool, type(None))
_ERROR_FIELDS = (
    "step",
    "attempts",
    "retry_after",
    "run_id",
    "token",
    "holder",
    "position",
    "recorded",
    "called",
    "recoveries",
)


def dumps(value: Any, where: str) -> str:
    """Encode ``value`` as JSON text.

    Args:
        value: The value to store.
        where: Names the value in errors, e.g. ``"result of step 'charge'"``.

    Raises:
        SerializationError: The value, or something inside it, is not supported.
    """
    return _ENCODER.encode(_encode(value, (where,)))


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)

_Path = tuple[Any, ...]
"""Where a value sits: ``(where,)``, or ``(parent path, index or key)``. Every value a
run stores is encoded on the hot path, so the path is spelled out only for an error."""


def _shown(path: _Path) -> str:
    keys: list[str] = []
    while len(path) == 2:
        path, key = path
        keys.append(f"[{key!r}]" if isinstance(key, str) else f"[{key}]")
    return str(path[0]) + "".join(reversed(keys))


def loads(text: str | None) -> Any:
    """Decode JSON text written by :func:`dumps` (``None`` decodes to ``None``)."""
    if text is None:
        return None
    return _decode(json.loads(text))


def _encode(value: Any, path: _Path) -> JSON:
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):  # no JSON form
            shown = "NaN" if math.isnan(value) else f"{value!r} (not finite)"
            raise SerializationError(f"{_shown(path)} is {shown}, which JSON cannot store")
        return value
    if isinstance(value, list | tuple):
        return [_encode(item, (path, i)) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return _encode_dict(value, path)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise SerializationError(
                f"{_shown(path)} is a naive datetime ({value!r}); store timezone-aware "
                "datetimes, e.g. datetime.now(timezone.utc)"
            )
        return {"$dt": value.isoformat()}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"$dc": [_class_path(type(value)), _encode_dict(fields, path)]}
    if _is_pydantic(value):
        return {"$pd": [_class_path(type(value)), value.model_dump(mode="json")]}
    raise SerializationError(
        f"{_shown(path)} has type {type(value).__qualname__}, which cannot be stored; use "
        "JSON values, timezone-aware datetimes, bytes, dataclasses or pydantic models"
    )


def _encode_dict(value: dict[Any, Any], path: _Path) -> JSON:
    out: dict[str, JSON] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise SerializationError(
                f"{_shown(path)} has a non-string key {key!r}; JSON keys are strings"
            )
        out[key] = item if type(item) is str else _encode(item, (path, key))
    if len(out) == 1 and next(iter(out)).startswith("$"):
        return {"$map": out}
    return out


def _decode(value: JSON) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        tag, payload = next(iter(value.items()))
        if tag == "$dt":
            return datetime.fromisoformat(payload)
        if tag == "$bytes":
            return base64.b64decode(payload)
        if tag == "$map":
            return {key: _decode(item) for key, item in payload.items()}
        if tag == "$dc":
            cls = _import_class(payload[0])
            return cls(**{key: _decode(item) for key, item in payload[1].items()})
        if tag == "$pd":
            return _import_class(payload[0]).model_validate(payload[1])
    return {key: _decode(item) for key, item in value.items()}


def _is_pydantic(value: Any) -> bool:
    return hasattr(type(value), "model_fields") and hasattr(value, "model_dump")


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def encode_error(exc: BaseException) -> dict[str, Any]:
    """Describe an exception as JSON: its type path, message, args and traceback."""
    args: list[Any] | None
    try:
        args = json.loads(dumps(list(exc.args), "error args"))
    except (SerializationError, ValueError):
        args = None
    record: dict[str, Any] = {
        "type": _class_path(type(exc)),
        "message": str(exc),
        "args": args,
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        record["cause"] = encode_error(cause)
    for name in _ERROR_FIELDS:
        if name in vars(exc):
            record.setdefault("fields", {})[name] = getattr(exc, name)
    return record


def decode_error(record: dict[str, Any]) -> BaseException:
    """Re-create a stored exception: its own type where it can be imported and built,
    otherwise a :class:`StoredError` carrying the type name and message."""
    from ._errors import StepRetriesExhausted

    type_path, message = record["type"], record["message"]
    try:
        cls = _import_class(type_path)
    except (ImportError, AttributeError, ValueError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        return StoredError(type_path.replace(":", "."), message)
    fields = record.get("fields") or {}
    if cls is StepRetriesExhausted:
        cause = decode_error(record["cause"]) if "cause" in record else None
        return StepRetriesExhausted(fields.get("step", "?"), fields.get("attempts", 0), cause)
    exc = _rebuild(cls, record.get("args"), message)
    for name, value in fields.items():
        with contextlib.suppress(AttributeError):
            setattr(exc, name, value)
    return exc


def _rebuild(cls: type[BaseException], args: list[Any] | None, message: str) -> BaseException:
    try:
        exc = cls(*_decode(args)) if args is not None else cls(message)
    except Exception:
        exc = cls.__new__(cls)
        exc.args = (message,)
    if str(exc) != message:  # custom __init__/__str__: keep the recorded text visible
        with contextlib.suppress(AttributeError):
            exc.args = (message,)
    return exc
