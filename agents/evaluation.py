"""Evaluate and calibrate matching on labelled data.

:func:`score_file` indexes a labelled set's requests with a
:class:`~agents.matcher.Matcher` and decides every query; :func:`evaluate_files` and
:func:`calibrate_files` turn that into an :class:`EvalReport` per file, or a
:class:`~agents.calibration.Calibration`. The data (``match-eval/1`` files and workspace
CSVs) is read by :mod:`agents.labelled`, whose names are also exported here; the metric
definitions are in :mod:`agents.calibration`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
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
from agents.errors import EmbedderConfigError
from agents.labelled import (
    FORMAT,
    EvalQuery,
    EvalRequest,
    MatchEvalSet,
    load_labelled_csv,
    load_match_eval,
)
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

TOP_K = 5


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
        margin_asked: Queries asked because the runner-up was within the margin (and
            the specifics did not differ).
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
    margin_asked: int = 0

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (without the thresholds)."""
        data = asdict(self)
        del data["thresholds"]
        return data


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
                guarded=sum(d.stopped_by == "guard" for d in decisions),
                margin_asked=sum(d.stopped_by == "margin" for d in decisions),
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
