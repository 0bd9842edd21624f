"""Labelled matching data: the ``match-eval/1`` format and CSVs exported from a workspace.

A ``match-eval/1`` file is gzipped JSON::

    {"format": "match-eval/1", "name": ..., "requests": [{"id": "r1", "texts": [...]}],
     "queries": [{"text": "...", "match": "r1" | null}]}

:func:`load_match_eval` reads and validates one (a malformed file is a
:class:`~agents.errors.MatchingDataError` naming the file and the problem).

:func:`load_labelled_csv` reads a workspace's labelled feedback (UTF-8, a header line,
comma-separated, fields with commas quoted) in one of two layouts:

- **plain**: a text column (``text``, ``feedback``, ``feedback_text`` or ``quote``) and a
  request column (``request_id``, ``request`` or ``match``), empty when the feedback
  matches no request; optionally a ``feedback_id`` (or ``id``) column;
- **export**: what ``feedback-bot export --format csv`` writes (``feedback.export``):
  each row's ``feedback_quote`` (the customer's words; ``feedback_summary`` when there
  is no quote) belongs to its ``request_id``. A request without feedback is a row with
  empty feedback columns, and is skipped.

Every row is checked: as many fields as the header, a text, a known request. Any
problem is a :class:`~agents.errors.MatchingDataError` that names the file and the line
(a record spanning lines is named by its first). A column named twice is an error, not
the last one silently winning, and a quote left open is an error, not the rest of the
file swallowed into one field.

Feedback already filed is among its request's texts in a workspace, so a row must not
be matched against its own words: with feedback ids, the request texts stored for those
ids are held out (whatever words were embedded for them); without, every text equal to
a row's text (ignoring case and spacing) is.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import MatchingDataError

__all__ = [
    "FORMAT",
    "ID_COLUMNS",
    "REQUEST_COLUMNS",
    "TEXT_COLUMNS",
    "EvalQuery",
    "EvalRequest",
    "MatchEvalSet",
    "load_labelled_csv",
    "load_match_eval",
]

FORMAT = "match-eval/1"

_Fail = Callable[[str], MatchingDataError]


@dataclass(frozen=True)
class EvalRequest:
    """A request of a labelled file: ``texts[0]`` is the request, the rest linked feedback.

    Attributes:
        id: The request.
        texts: Its texts.
        text_ids: The stored id of each text (``"request"`` or a feedback id), when
            known (a workspace's requests); empty otherwise.
    """

    id: str
    texts: tuple[str, ...]
    text_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalQuery:
    """Incoming feedback and the id of the request it belongs to (``None``: no match)."""

    text: str
    match: str | None


@dataclass(frozen=True, repr=False)
class MatchEvalSet:
    """A validated ``match-eval/1`` file.

    Attributes:
        name: The set's name (from the file, else the file name).
        path: Where it was read from.
        requests: Its requests.
        queries: Its queries.
    """

    name: str
    path: Path
    requests: tuple[EvalRequest, ...]
    queries: tuple[EvalQuery, ...]

    def __repr__(self) -> str:
        matchable = sum(q.match is not None for q in self.queries)
        return (
            f"MatchEvalSet({self.name!r}, requests={len(self.requests)}, "
            f"queries={len(self.queries)}, with_match={matchable})"
        )


def load_match_eval(path: str | Path) -> MatchEvalSet:
    """Read and validate a ``match-eval/1`` file.

    Args:
        path: The gzipped JSON file.

    Returns:
        The validated set.

    Raises:
        MatchingDataError: The file is missing, not gzipped JSON, or not ``match-eval/1``.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError as exc:
        raise MatchingDataError(f"{path}: no such file") from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise MatchingDataError(f"{path}: not a gzip file ({exc})") from exc
    except OSError as exc:
        raise MatchingDataError(f"{path}: cannot read the file ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MatchingDataError(f"{path}: not valid JSON inside the gzip ({exc})") from exc
    return _parse(path, doc)


def _parse(path: Path, doc: Any) -> MatchEvalSet:
    def fail(problem: str) -> MatchingDataError:
        return MatchingDataError(f"{path}: {problem} (expected the {FORMAT} format)")

    if not isinstance(doc, dict):
        raise fail(f"top level is {type(doc).__name__}, not an object")
    if doc.get("format") != FORMAT:
        raise fail(f"'format' is {doc.get('format')!r}, not {FORMAT!r}")
    raw_requests, raw_queries = doc.get("requests"), doc.get("queries")
    if not isinstance(raw_requests, list) or not raw_requests:
        raise fail("'requests' must be a non-empty list")
    if not isinstance(raw_queries, list) or not raw_queries:
        raise fail("'queries' must be a non-empty list")
    requests = tuple(_request(fail, i, r) for i, r in enumerate(raw_requests))
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise fail(f"request ids repeat: {sorted({i for i in ids if ids.count(i) > 1})[:5]}")
    queries = tuple(_query(fail, i, q, set(ids)) for i, q in enumerate(raw_queries))
    name = doc.get("name") if isinstance(doc.get("name"), str) else path.name
    return MatchEvalSet(name or path.name, path, requests, queries)


def _request(fail: _Fail, i: int, raw: Any) -> EvalRequest:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise fail(f"requests[{i}] needs a non-empty string 'id'")
    texts = raw.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise fail(f"requests[{i}] ({raw['id']!r}) needs 'texts', a non-empty list of strings")
    return EvalRequest(raw["id"], tuple(texts))


def _query(fail: _Fail, i: int, raw: Any, ids: set[str]) -> EvalQuery:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise fail(f"queries[{i}] needs a string 'text'")
    if "match" not in raw:
        raise fail(f"queries[{i}] needs 'match' (a request id, or null for no match)")
    match = raw["match"]
    if match is not None and match not in ids:
        raise fail(f"queries[{i}] matches {match!r}, which is not a request id")
    return EvalQuery(raw["text"], match)


TEXT_COLUMNS = ("text", "feedback", "feedback_text", "quote")
REQUEST_COLUMNS = ("request_id", "request", "match")
ID_COLUMNS = ("feedback_id", "id")
_EXPORT_TEXT = ("feedback_quote", "feedback_summary")
"""An export's text columns, in order of preference: the customer's words first."""


@dataclass(frozen=True)
class _Row:
    line: int
    text: str
    match: str | None
    feedback_id: str | None


def load_labelled_csv(
    path: str | Path, requests: Sequence[EvalRequest], *, name: str | None = None
) -> MatchEvalSet:
    """Read a CSV of labelled feedback exported from a workspace, against its requests.

    Args:
        path: The CSV file (layouts: module docstring).
        requests: The workspace's requests (``texts[0]`` the request's own text;
            ``text_ids`` the stored ids, when known).
        name: The set's name (default: the file's name).

    Returns:
        The labelled set, the CSV's own rows held out of the requests (a request left
        with no text is dropped).

    Raises:
        MatchingDataError: The file is missing or unreadable, the header lacks a
            column or names one twice, or a row is malformed (the line is named).
    """
    path = Path(path)
    rows = list(_rows(path, {r.id for r in requests}))
    if not rows:
        raise MatchingDataError(
            f"{path}: no rows of labelled feedback (expected a header and rows; an export "
            f"has them only for feedback filed under a request)"
        )
    by_id = {row.feedback_id for row in rows if row.feedback_id}
    by_text = {_plain(row.text) for row in rows}
    kept = []
    for request in requests:
        ids = request.text_ids or ("",) * len(request.texts)
        texts = tuple(
            text
            for text, text_id in zip(request.texts, ids, strict=True)
            if not (text_id in by_id if by_id else _plain(text) in by_text)
        )
        if texts:
            kept.append(EvalRequest(request.id, texts))
    if not kept:
        raise MatchingDataError(f"{path}: no request is left to match against")
    queries = tuple(EvalQuery(row.text, row.match) for row in rows)
    return MatchEvalSet(name or path.name, path, tuple(kept), queries)


def _rows(path: Path, ids: set[str]) -> Iterator[_Row]:
    """Each labelled row, checked; a request's empty row in an export is skipped."""
    records = _records(path)
    _, header = next(records, (0, []))
    if not header:
        raise MatchingDataError(f"{path}: no header (expected text,request_id and rows)")
    columns = _columns(path, [cell.strip().lower() for cell in header])
    for line, values in records:
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) != len(header):
            hint = (
                'a comma inside a text must be quoted: "Dark mode, please"'
                if len(values) > len(header)
                else "with no request, end the line with a comma: Dark mode please,"
            )
            raise MatchingDataError(
                f"{path}, line {line}: {len(values)} field{'s' * (len(values) != 1)}, the "
                f"header has {len(header)} ({hint})"
            )
        row = _row(path, line, columns, [v.strip() for v in values], ids)
        if row is not None:
            yield row


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record; a quote left open or a stray one is an error."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            while True:
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise MatchingDataError(
                        f"{path}, line {line}: {_quote_problem(str(exc))} ({exc})"
                    ) from exc
                yield line, values
    except FileNotFoundError as exc:
        raise MatchingDataError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MatchingDataError(f"{path}: cannot read the CSV as UTF-8 text ({exc})") from exc


def _quote_problem(error: str) -> str:
    if "unexpected end of data" in error:
        return 'a quote (") opened on this line is never closed'
    return 'a quote (") in the middle of a field: quote the whole field and double the quote'


@dataclass(frozen=True)
class _Columns:
    """Where each field is: ``texts`` in order of preference; ``export`` for that layout."""

    texts: tuple[int, ...]
    request: int
    feedback_id: int | None
    export: bool


def _columns(path: Path, header: list[str]) -> _Columns:
    seen: dict[str, int] = {}
    for i, column in enumerate(header):
        if column and column in seen:
            raise MatchingDataError(
                f"{path}: column {column!r} appears twice (columns {seen[column] + 1} and "
                f"{i + 1}): rename or drop one"
            )
        seen[column] = i
    ids = next((seen[c] for c in ID_COLUMNS if c in seen), None)
    if "request_id" in seen and any(c in seen for c in _EXPORT_TEXT):
        texts = tuple(seen[c] for c in _EXPORT_TEXT if c in seen)
        return _Columns(texts, seen["request_id"], ids, export=True)
    text = next((c for c in TEXT_COLUMNS if c in seen), None)
    request = next((c for c in REQUEST_COLUMNS if c in seen), None)
    if text is None or request is None:
        hint = (
            " (is it separated by semicolons or tabs? It must be separated by commas)"
            if any(";" in c or "\t" in c for c in header)
            else ""
        )
        raise MatchingDataError(
            f"{path}: the header needs a text column ({', '.join(TEXT_COLUMNS)}) and a "
            f"request column ({', '.join(REQUEST_COLUMNS)}), or the columns of "
            f"`feedback-bot export`; it has {', '.join(header) or 'none'}{hint}"
        )
    return _Columns((seen[text],), seen[request], ids, export=False)


def _row(path: Path, line: int, columns: _Columns, values: list[str], ids: set[str]) -> _Row | None:
    text = next((values[i] for i in columns.texts if values[i]), "")
    match = values[columns.request] or None
    feedback_id = values[columns.feedback_id] if columns.feedback_id is not None else None
    if columns.export and not feedback_id and not text:
        return None  # a request without feedback
    if not text:
        what = f"feedback {feedback_id!r} has no" if columns.export else "the 'text' field is"
        raise MatchingDataError(
            f"{path}, line {line}: {what} {'words' if columns.export else 'empty'}"
        )
    if match is not None and match not in ids:
        raise MatchingDataError(
            f"{path}, line {line}: request {match!r} is not a request of the workspace"
        )
    return _Row(line, text, match, feedback_id or None)


def _plain(text: str) -> str:
    return " ".join(text.lower().split())
