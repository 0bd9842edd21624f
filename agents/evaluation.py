"""Evaluate and calibrate matching on labelled files in the ``match-eval/1`` format.

A file is gzipped JSON::

    {"format": "match-eval/1", "name": ..., "requests": [{"id": "r1", "texts": [...]}],
     "queries": [{"text": "...", "match": "r1" | null}]}

:func:`load_match_eval` reads and validates one (a malformed file is a
:class:`~agents.errors.MatchingDataError` naming the file and the problem);
:func:`score_file` indexes its requests with a :class:`~agents.matcher.Matcher` and
decides every query; :func:`evaluate_files` and :func:`calibrate_files` turn that into
an :class:`EvalReport` per file, or a :class:`~agents.calibration.Calibration`. The
metric definitions are in :mod:`agents.calibration`.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.calibration import (
    Calibration,
    ScoredQueries,
    calibrate,
    link_stats,
    recall_at_k,
    roc_auc,
    wilson_lower_bound,
)
from agents.embedders import Embedder, get_embedder
from agents.errors import EmbedderConfigError, MatchingDataError
from agents.matcher import MatchDecision, Matcher
from agents.thresholds import Thresholds

__all__ = [
    "FORMAT",
    "METRICS_HELP",
    "EvalQuery",
    "EvalReport",
    "EvalRequest",
    "MatchEvalSet",
    "build_embedder",
    "calibrate_files",
    "calibration_help",
    "calibration_json",
    "close_embedder",
    "evaluate_files",
    "format_calibration",
    "format_reports",
    "load_labelled_csv",
    "load_match_eval",
    "resolve_thresholds",
    "score_file",
]

FORMAT = "match-eval/1"
TOP_K = 5

_Fail = Callable[[str], MatchingDataError]


@dataclass(frozen=True)
class EvalRequest:
    """A request of a labelled file: ``texts[0]`` is the request, the rest linked feedback."""

    id: str
    texts: tuple[str, ...]


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


@dataclass(frozen=True)
class EvalReport:
    """Matching quality on one file (fractions in 0..1; ``None`` when undefined).

    Attributes:
        file: The file's name.
        recall_at_1: Right request ranked first, among queries with a match.
        recall_at_5: Right request within the first five, among queries with a match.
        auc: ROC AUC of the best score, queries with a match against those without.
        link_precision: Right links among queries decided ``link``.
        link_coverage: Queries with a match linked to the right request.
        false_link_rate: Queries without a match decided ``link``.
        ask_share: All queries decided ``ask``.
        texts_per_second: Request texts and queries embedded, indexed and decided per second.
        thresholds: The thresholds applied.
        links: Queries decided ``link``.
        precision_lower_bound: One-sided 95 % Wilson lower bound of the link precision.
        link_share: All queries decided ``link``.
        guarded: Queries whose link the specifics guard turned into a question.
    """

    file: str
    recall_at_1: float | None
    recall_at_5: float | None
    auc: float | None
    link_precision: float | None
    link_coverage: float | None
    false_link_rate: float | None
    ask_share: float | None
    texts_per_second: float
    thresholds: Thresholds
    links: int = 0
    precision_lower_bound: float | None = None
    link_share: float | None = None
    guarded: int = 0

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (without the thresholds)."""
        data = asdict(self)
        del data["thresholds"]
        return data


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


TEXT_COLUMNS = ("text", "feedback", "feedback_text", "quote")
REQUEST_COLUMNS = ("request_id", "request", "match")


def load_labelled_csv(
    path: str | Path, requests: Sequence[EvalRequest], *, name: str | None = None
) -> MatchEvalSet:
    """Read a CSV of labelled feedback exported from a workspace, against its requests.

    The CSV (UTF-8, a header line) has a text column (``text``, ``feedback``,
    ``feedback_text`` or ``quote``) and a request column (``request_id``, ``request``
    or ``match``), empty when the feedback matches no request. Feedback already filed
    is among its request's texts in a workspace: every text equal to a row's text
    (ignoring case and spacing) is held out of the requests, so a row is never matched
    against its own words. A request left with no text is dropped.

    Args:
        path: The CSV file.
        requests: The workspace's requests (``texts[0]`` the request's own text).
        name: The set's name (default: the file's name).

    Returns:
        The labelled set.

    Raises:
        MatchingDataError: The file is missing or unreadable, a column is missing, a
            row has no text, or a row names a request that is not among ``requests``.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = [c.strip().lower() for c in (rows[0].keys() if rows else [])]
    except FileNotFoundError as exc:
        raise MatchingDataError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MatchingDataError(f"{path}: cannot read the CSV ({exc})") from exc
    if not rows:
        raise MatchingDataError(f"{path}: no rows (expected a header and labelled feedback)")
    text_col = next((c for c in TEXT_COLUMNS if c in header), None)
    request_col = next((c for c in REQUEST_COLUMNS if c in header), None)
    if text_col is None or request_col is None:
        raise MatchingDataError(
            f"{path}: the header needs a text column ({', '.join(TEXT_COLUMNS)}) and a "
            f"request column ({', '.join(REQUEST_COLUMNS)}); it has {', '.join(header)}"
        )
    ids = {r.id for r in requests}
    queries = []
    for line, raw in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        text, match = row.get(text_col, ""), row.get(request_col, "") or None
        if not text:
            raise MatchingDataError(f"{path}, line {line}: the {text_col!r} column is empty")
        if match is not None and match not in ids:
            raise MatchingDataError(
                f"{path}, line {line}: request {match!r} is not a request of the workspace"
            )
        queries.append(EvalQuery(text, match))
    held_out = {_plain(q.text) for q in queries}
    kept = []
    for request in requests:
        texts = tuple(t for t in request.texts if _plain(t) not in held_out)
        if texts:
            kept.append(EvalRequest(request.id, texts))
    if not kept:
        raise MatchingDataError(f"{path}: no request is left to match against")
    return MatchEvalSet(name or path.name, path, tuple(kept), tuple(queries))


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


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


async def score_file(
    data: MatchEvalSet, embedder: Embedder, thresholds: Thresholds | None = None
) -> tuple[ScoredQueries, list[MatchDecision], float]:
    """Index a file's requests, decide each query, and collect the scores.

    Args:
        data: The labelled set.
        embedder: The embedder.
        thresholds: Override the embedder's thresholds.

    Returns:
        The scored queries, the decisions, and texts handled per second.
    """
    started = time.perf_counter()
    matcher = Matcher(embedder, thresholds=thresholds, top_k=TOP_K)
    texts = [t for r in data.requests for t in r.texts]
    vectors = await embedder.embed(texts)
    row = 0
    for request in data.requests:
        count = len(request.texts)
        matcher.index.add(request.id, vectors[row : row + count], texts=request.texts)
        row += count
    decisions = await matcher.decide_many([q.text for q in data.queries])
    elapsed = max(time.perf_counter() - started, 1e-9)
    return _scored(data, decisions), decisions, (len(texts) + len(data.queries)) / elapsed


def _scored(data: MatchEvalSet, decisions: Sequence[MatchDecision]) -> ScoredQueries:
    n = len(decisions)
    best = np.full(n, -np.inf)
    runner_up = np.full(n, -np.inf)
    rank = np.zeros(n, dtype=np.int64)
    for i, (query, decision) in enumerate(zip(data.queries, decisions, strict=True)):
        scores = [c.score for c in decision.candidates]
        if scores:
            best[i] = scores[0]
        if len(scores) > 1:
            runner_up[i] = scores[1]
        ids = [c.request_id for c in decision.candidates]
        if query.match in ids:
            rank[i] = ids.index(query.match) + 1
    matchable = np.array([q.match is not None for q in data.queries], dtype=bool)
    guarded = np.array([d.mismatch is not None for d in decisions], dtype=bool)
    return ScoredQueries(data.name, best, runner_up, rank == 1, matchable, rank, guarded)


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


async def evaluate_files(
    paths: Sequence[str | Path | MatchEvalSet],
    embedder: Embedder,
    thresholds: Thresholds | None = None,
) -> list[EvalReport]:
    """Evaluate matching on labelled files.

    Args:
        paths: ``match-eval/1`` files (or sets already loaded, e.g. by
            :func:`load_labelled_csv`).
        embedder: The embedder.
        thresholds: Override the embedder's thresholds.

    Returns:
        One report per file.

    Raises:
        MatchingDataError: A file is malformed (checked before any embedding).
        EmbedderConfigError: The embedder has no thresholds and none were given.
    """
    sets = [_load(p) for p in paths]
    reports = []
    for data in sets:
        scored, decisions, speed = await score_file(data, embedder, thresholds)
        used = decisions[0].thresholds
        stats = link_stats(scored, used)
        tiers = [d.tier.value for d in decisions]
        reports.append(
            EvalReport(
                file=data.name,
                recall_at_1=_none_if_nan(recall_at_k(scored.rank, scored.matchable, 1)),
                recall_at_5=_none_if_nan(recall_at_k(scored.rank, scored.matchable, 5)),
                auc=_none_if_nan(roc_auc(scored.best, scored.matchable)),
                link_precision=_none_if_nan(stats.link_precision),
                link_coverage=_none_if_nan(stats.link_coverage),
                false_link_rate=_none_if_nan(stats.false_link_rate),
                ask_share=_none_if_nan(stats.ask_share),
                texts_per_second=speed,
                thresholds=used,
                links=stats.links,
                precision_lower_bound=(
                    wilson_lower_bound(stats.right_links, stats.links) if stats.links else None
                ),
                link_share=tiers.count("link") / len(tiers),
                guarded=sum(bool(d.reason) and d.mismatch is not None for d in decisions),
            )
        )
    return reports


def _load(source: str | Path | MatchEvalSet) -> MatchEvalSet:
    return source if isinstance(source, MatchEvalSet) else load_match_eval(source)


async def calibrate_files(
    paths: Sequence[str | Path | MatchEvalSet],
    embedder: Embedder,
    *,
    precision: float = 0.95,
    confidence: float = 0.95,
    max_miss: float = 0.2,
    max_false_link: float = 0.02,
) -> Calibration:
    """Calibrate an embedder's thresholds on labelled files (method: :mod:`agents.calibration`).

    Args:
        paths: ``match-eval/1`` files (or loaded sets).
        embedder: The embedder.
        precision: Target link precision.
        confidence: Confidence of the precision lower bound.
        max_miss: Allowed mean share of matchable queries filed as new.
        max_false_link: Allowed false-link rate on each file.

    Returns:
        The calibration.

    Raises:
        MatchingDataError: A file is malformed.
    """
    sets = [_load(p) for p in paths]
    # Scores do not depend on thresholds; any valid ones will do for scoring.
    placeholder = Thresholds(link=1.0, ask=1.0)
    scored = [(await score_file(data, embedder, placeholder))[0] for data in sets]
    return calibrate(
        scored,
        precision=precision,
        confidence=confidence,
        max_miss=max_miss,
        max_false_link=max_false_link,
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_reports(reports: Sequence[EvalReport]) -> str:
    """Reports as a readable table, one row per file.

    Args:
        reports: The reports.

    Returns:
        The table, thresholds below it.
    """
    header = (
        "file",
        "recall@1",
        "recall@5",
        "auc",
        "links",
        "link prec",
        "lower bnd",
        "link cov",
        "false link",
        "linked",
        "asked",
        "texts/s",
    )
    rows = [header] + [
        (
            r.file,
            _fmt(r.recall_at_1),
            _fmt(r.recall_at_5),
            _fmt(r.auc),
            str(r.links),
            _fmt(r.link_precision),
            _fmt(r.precision_lower_bound),
            _fmt(r.link_coverage),
            _fmt(r.false_link_rate),
            _fmt(r.link_share),
            _fmt(r.ask_share),
            f"{r.texts_per_second:.0f}",
        )
        for r in reports
    ]
    used = sorted({repr(r.thresholds) for r in reports})
    return "\n".join([*_table(rows), "", "thresholds: " + "; ".join(used)])


def format_calibration(result: Calibration) -> str:
    """A calibration as readable text.

    Args:
        result: The calibration.

    Returns:
        The thresholds, then per-file precision, bound, coverage, false links, misses, asks.
    """
    t = result.thresholds
    status = "reached" if result.reached else "NOT reached on every file (best effort shown)"
    lines = [
        f"link >= {t.link:.3f} with a lead of >= {t.margin:.3f} over the runner-up, and the "
        f"same specifics named; ask >= {t.ask:.3f}; else new",
        f"target link precision {result.precision:.3f} at {result.confidence:.0%} "
        f"confidence and false links <= {result.max_false_link:.0%} on every file: {status}; "
        f"ask threshold keeps the mean miss rate <= {result.max_miss:.0%}",
    ]
    if result.unproven:
        lines.append(
            "no rule that links anything proves the precision on "
            + ", ".join(result.unproven)
            + " (too few or too noisy labels): held to the false-link cap only"
        )
    lines.append("")
    header = (
        "file",
        "links",
        "precision",
        "lower bnd",
        "coverage",
        "false link",
        "miss",
        "ask share",
    )
    rows = [header] + [
        (
            f.name,
            str(f.stats.links),
            _fmt(_none_if_nan(f.stats.link_precision)),
            _fmt(f.precision_lower_bound),
            _fmt(_none_if_nan(f.stats.link_coverage)),
            _fmt(_none_if_nan(f.stats.false_link_rate)),
            _fmt(_none_if_nan(f.stats.miss_rate)),
            _fmt(_none_if_nan(f.stats.ask_share)),
        )
        for f in result.files
    ]
    return "\n".join(lines + _table(rows))


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Align columns: the first to the left, the others to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


METRICS_HELP = """\
metrics (fractions in 0..1; "queries with a match" have a right request in the file):
  recall@1, recall@5  share of queries with a match whose right request ranks first /
                      within the first five candidates
  auc                 ROC AUC of the best score: queries with a match against those
                      without (the chance one with a match scores higher)
  link precision      among queries decided `link`, the share linked to the right
                      request (a link on a query without a match is wrong)
  link coverage       share of queries with a match linked to the right request
  links               queries decided `link`
  lower bnd           one-sided 95% Wilson lower bound of the link precision
  false link rate     share of queries without a match decided `link`
  linked, asked       share of all queries decided `link` / `ask` (ask share; a
                      link the specifics guard stopped, or one within the margin,
                      is asked)
  texts/s             request texts and queries embedded, indexed and decided per second
"""


def calibration_help() -> str:
    """The metric definitions and calibration method of :mod:`agents.calibration`, as plain text.

    Returns:
        The module docstring from "Metrics" on, without reStructuredText markup.
    """
    import agents.calibration

    doc = agents.calibration.__doc__ or ""
    text = doc[doc.find("Metrics") :]
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "`")


def build_embedder(
    name: str,
    *,
    model: str | None = None,
    dimensions: int | None = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Embedder:
    """Build an embedder from command-line options.

    Args:
        name: ``local``, ``openai`` or ``fake``.
        model: ``openai`` model.
        dimensions: ``openai`` vector size.
        base_url: ``openai`` API root (default: ``OPENAI_BASE_URL`` in ``environ``).
        environ: Where to read ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (the CLI passes
            ``os.environ``; nothing is read otherwise).

    Returns:
        The embedder.

    Raises:
        EmbedderConfigError: Unknown name, missing key, or a bad option.
    """
    env = environ or {}
    if name != "openai":
        if model or dimensions or base_url:
            raise EmbedderConfigError("--model, --dimensions and --base-url apply to openai only")
        return get_embedder(name)
    options: dict[str, Any] = {
        "api_key": env.get("OPENAI_API_KEY"),
        "base_url": base_url or env.get("OPENAI_BASE_URL"),
        "dimensions": dimensions,
    }
    if model:
        options["model"] = model
    return get_embedder("openai", **options)


def resolve_thresholds(
    embedder: Embedder,
    *,
    link: float | None = None,
    ask: float | None = None,
    margin: float | None = None,
) -> Thresholds:
    """The embedder's thresholds with any of their values overridden.

    Args:
        embedder: The embedder.
        link: Override of the link threshold.
        ask: Override of the ask threshold.
        margin: Override of the margin.

    Returns:
        The thresholds.

    Raises:
        EmbedderConfigError: The embedder has none and ``link`` or ``ask`` is missing, or
            the values are inconsistent.
    """
    base = embedder.thresholds
    if base is None and (link is None or ask is None):
        raise EmbedderConfigError(
            f"{embedder.name!r} has no calibrated thresholds: pass --link and --ask (find "
            f"them with `feedback-bot calibrate FILE --embedder ...`)"
        )
    try:
        return Thresholds(
            link=link if link is not None else base.link if base else 0.0,
            ask=ask if ask is not None else base.ask if base else 0.0,
            margin=margin if margin is not None else base.margin if base else 0.0,
        )
    except ValueError as exc:
        raise EmbedderConfigError(f"bad thresholds: {exc}") from exc


async def close_embedder(embedder: Embedder) -> None:
    """Release an embedder's connections, if it holds any (``openai``).

    Args:
        embedder: The embedder.
    """
    aclose = getattr(embedder, "aclose", None)
    if aclose is not None:
        await aclose()


def calibration_json(result: Calibration) -> dict[str, Any]:
    """A calibration as a JSON-ready dict (NaN becomes ``None``).

    Args:
        result: The calibration.

    Returns:
        ``thresholds``, the targets, ``reached`` and per-file ``files`` statistics.
    """

    def clean(value: float) -> float | None:
        return _none_if_nan(value)

    return {
        "thresholds": asdict(result.thresholds),
        "precision": result.precision,
        "confidence": result.confidence,
        "max_miss": result.max_miss,
        "max_false_link": result.max_false_link,
        "reached": result.reached,
        "unproven": list(result.unproven),
        "files": [
            {
                "file": f.name,
                "precision_lower_bound": f.precision_lower_bound,
                **{k: clean(v) if isinstance(v, float) else v for k, v in asdict(f.stats).items()},
            }
            for f in result.files
        ],
    }
