"""Plain-text tables and JSON documents for the operator CLI (:mod:`workflows.cli`).

Pure functions from engine records to strings or JSON-ready values; no I/O. Times in
tables are UTC, to the second; JSON carries full ISO 8601 datetimes and enum values.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from workflows.engine import EventRecord, HookRecord, RunRecord, StepRecord

# Event types whose ``data`` is an encoded error (see ``encode_error`` in the engine).
_ERROR_EVENTS = frozenset({"step_failed", "run_failed", "run_cancelled", "run_crashed"})
_RUN_FIELDS = tuple(
    f.name for f in dataclasses.fields(RunRecord) if f.name not in ("steps", "events", "children")
)
CELL_WIDTH = 60  # a truncated table cell, in characters
HEADER_WIDTH = 200  # a truncated value in the header block of ``runs show``


# -- JSON ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Convert ``value`` into plain JSON values.

    Datetimes become ISO 8601 strings, enums their values, bytes base64, dataclasses and
    pydantic models dicts; anything else unknown becomes its ``repr``.
    """
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"))
    return repr(value)


def dumps(document: Any) -> str:
    """Indented JSON text of a document built by the ``*_json`` functions."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def run_json(run: RunRecord, *, detail: bool = False) -> dict[str, Any]:
    """A run as JSON; with ``detail``, also its steps, events and children."""
    out: dict[str, Any] = {name: jsonable(getattr(run, name)) for name in _RUN_FIELDS}
    if detail:
        out["children"] = list(run.children)
        out["steps"] = [step_json(step) for step in run.steps]
        out["events"] = [event_json(event) for event in run.events]
    return out


def step_json(step: StepRecord) -> dict[str, Any]:
    """A step as JSON, with its duration in seconds."""
    out = {f.name: jsonable(getattr(step, f.name)) for f in dataclasses.fields(step)}
    out["duration_seconds"] = step.duration
    return out


def event_json(event: EventRecord) -> dict[str, Any]:
    """An event as JSON; its stored ``data`` text is parsed when it is JSON."""
    out = {f.name: jsonable(getattr(event, f.name)) for f in dataclasses.fields(event)}
    out["data"] = _parse(event.data)
    return out


def hook_json(hook: HookRecord) -> dict[str, Any]:
    """A live hook as JSON."""
    return {f.name: jsonable(getattr(hook, f.name)) for f in dataclasses.fields(hook)}


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- tables -------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, under an upper-case header row."""
    lines = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def runs_table(runs: Sequence[RunRecord]) -> str:
    """The ``runs list`` table, or a line saying there are none."""
    if not runs:
        return "no runs match"
    headers = ("RUN ID", "WORKFLOW", "STATUS", "CREATED (UTC)", "UPDATED (UTC)", "COMPLETED (UTC)")
    rows = (
        (
            run.run_id,
            run.workflow,
            str(run.status),
            when(run.created_at),
            when(run.updated_at),
            when(run.completed_at),
        )
        for run in runs
    )
    return table(headers, rows)


def hooks_table(hooks: Sequence[HookRecord]) -> str:
    """The ``hooks list`` table, or a line saying there are none."""
    if not hooks:
        return "no live hooks"
    headers = ("TOKEN", "RUN ID", "WORKFLOW", "CREATED (UTC)", "BUFFERED")
    rows = (
        (clip(hook.token), hook.run_id, hook.workflow, when(hook.created_at), str(hook.buffered))
        for hook in hooks
    )
    return table(headers, rows)


def run_detail(run: RunRecord) -> str:
    """The ``runs show`` text: a header block, the steps table, the event history."""
    steps = (
        table(
            ("POS", "NAME", "STATUS", "ATTEMPTS", "DURATION", "RESULT / ERROR"),
            (_step_row(step) for step in run.steps),
        )
        if run.steps
        else "(no steps yet)"
    )
    events = table(
        ("ID", "AT (UTC)", "TYPE", "POS", "NAME", "ATTEMPT", "DETAIL"),
        (_event_row(event) for event in run.events),
    )
    return "\n\n".join((_header(run), "Steps\n" + steps, "Events\n" + events))


def _header(run: RunRecord) -> str:
    fields: list[tuple[str, str | None]] = [
        ("Run", run.run_id),
        ("Workflow", run.workflow),
        ("Status", str(run.status)),
        ("Created", when(run.created_at) + " UTC"),
        ("Started", _utc(run.started_at)),
        ("Updated", when(run.updated_at) + " UTC"),
        ("Completed", _utc(run.completed_at)),
        ("Wakes at", _utc(run.wake_at)),
        ("Parent", run.parent_run_id),
        ("Children", ", ".join(run.children) or None),
        ("Owner", run.owner),
        ("Recoveries", str(run.recoveries) if run.recoveries else None),
        ("Args", clip(compact(run.args), HEADER_WIDTH)),
        ("Result", clip(compact(run.result), HEADER_WIDTH) if run.status == "completed" else None),
        ("Error", clip(error_summary(run.error), HEADER_WIDTH) if run.error else None),
    ]
    shown = [(label, value) for label, value in fields if value]
    width = max(len(label) for label, _ in shown) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in shown)


def _step_row(step: StepRecord) -> tuple[str, ...]:
    if step.error is not None:
        outcome = error_summary(step.error)
    elif step.status == "completed":
        outcome = compact(step.result)
    else:
        outcome = ""
    return (
        str(step.position),
        clip(step.name, 32),
        step.status,
        str(step.attempts),
        duration(step.duration),
        clip(outcome),
    )


def _event_row(event: EventRecord) -> tuple[str, ...]:
    return (
        str(event.id),
        when(event.at),
        event.type,
        _text(event.position),
        clip(event.name or "", 32),
        _text(event.attempt),
        clip(_event_detail(event)),
    )


def _event_detail(event: EventRecord) -> str:
    data = _parse(event.data)
    if event.type in _ERROR_EVENTS and isinstance(data, dict) and "message" in data:
        return error_summary(data)
    return "" if event.data is None else event.data


# -- cells --------------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    """A UTC datetime to the second, or ``-``."""
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else when(moment) + " UTC"


def duration(seconds: float | None) -> str:
    """A short human duration: ``850ms``, ``2.4s``, ``3m05s``, ``2h10m``; ``-`` if unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds >= 0.001 else "<1ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def error_summary(error: Mapping[str, Any]) -> str:
    """``Type: message`` of an encoded error, without the module path."""
    type_name = str(error.get("type", "Error")).rpartition(":")[2].rpartition(".")[2]
    return f"{type_name}: {error.get('message', '')}"


def compact(value: Any) -> str:
    """A value as one line of compact JSON."""
    return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)


def clip(text: str, width: int = CELL_WIDTH) -> str:
    """``text`` on one line, cut to ``width`` characters with a trailing ``…``."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _text(value: int | None) -> str:
    return "-" if value is None else str(value)
