"""What ``feedback-bot calibrate --from-decisions``, ``--apply`` and ``status`` do.

Thresholds learn from the workspace: every question a person answered and every Undo of
an automatic link is a labelled example (:func:`feedback.thresholds.examples`).
:func:`calibrate_from_decisions` derives thresholds from them with the same method and
precision bound as for files (:func:`agents.calibration.calibrate`), prints what would
change, and puts them in force only when asked to (``--apply``): an audit entry that
the workers read within :attr:`workflows.matching.ThresholdsSync.every` seconds.

Until :data:`MIN_EXAMPLES` examples exist, :data:`MIN_NEGATIVES` of them saying the
best candidate was wrong, or while they do not prove the target, the thresholds in
force stay; among equally good thresholds, those nearest the ones in force win.
Thresholds equal to those in force are not applied again (no second audit entry);
``--reset`` puts the embedder's defaults back (:func:`reset_to_defaults`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from agents import Thresholds, get_embedder
from agents.calibration import Calibration, LinkStats, ScoredQueries, calibrate, link_stats
from agents.calibration import wilson_lower_bound as bound
from agents.evaluation import EvalRequest, MatchEvalSet, load_labelled_csv
from feedback import embeddings, migrate
from feedback import thresholds as thresholds_db
from feedback.database import Database
from feedback.errors import ConfigurationError

__all__ = [
    "MIN_EXAMPLES",
    "MIN_NEGATIVES",
    "InForce",
    "apply_calibration",
    "calibrate_from_decisions",
    "in_force",
    "load_sources",
    "reset_to_defaults",
    "scored_examples",
    "status",
    "status_lines",
]

MIN_EXAMPLES = 100
"""Labelled decisions needed before thresholds are derived from them. The precision
bound at 95 % confidence needs at least 52 right links and no wrong one to reach 0.95;
with about half of the examples in the link region, fewer than 100 cannot prove any
rule, so the defaults stay."""

MIN_NEGATIVES = 10
"""Of those, examples where the best candidate was not the right request (another was,
or none): without them the examples cannot tell where links go wrong, and any link
threshold below the scores seen would look perfect."""

ACTOR = "feedback-bot calibrate"


@dataclass(frozen=True)
class InForce:
    """The thresholds an embedder matches with now, and where they came from."""

    embedder: str
    thresholds: Thresholds
    source: str


async def in_force(db: Database, embedder: str) -> InForce:
    """The thresholds in force for ``embedder``: the last applied, else its defaults.

    Raises:
        EmbedderConfigError: Unknown embedder name (``local``, ``openai``, ``fake``).
    """
    async with db.read() as conn:
        newest = await thresholds_db.history(conn, embedder, limit=1)
    defaults = "the embedder's defaults (calibrated on the dev files)"
    if not newest:
        return InForce(embedder, _defaults(embedder), defaults)
    found = newest[0]
    when = f"{found.at:%Y-%m-%d %H:%M} UTC"
    if found.reset:
        return InForce(embedder, _defaults(embedder), f"{defaults}; reset {when} by {found.actor}")
    return InForce(
        embedder,
        Thresholds(link=found.link, ask=found.ask, margin=found.margin),
        f"{found.source}; applied {when} by {found.actor}",
    )


def _scorer(embedder: str) -> str:
    """A scorer's name as given (``openai:text-embedding-3-small:1536``), or a kind's."""
    return embedder if ":" in embedder else get_embedder(embedder).name


def _defaults(embedder: str) -> Thresholds:
    kind = embedder.split(":", 1)[0]
    found = get_embedder(kind).thresholds if kind in ("local", "fake") else None
    if found is None:
        raise ConfigurationError(
            f"{embedder!r} has no default thresholds: calibrate it on labelled files and "
            f"apply them (`feedback-bot calibrate FILE --embedder ... --apply`)"
        )
    return found


def scored_examples(examples: Sequence[thresholds_db.Example]) -> ScoredQueries:
    """Labelled decisions as one "file" of scored queries for :func:`calibrate`."""
    correct = np.array([e.top_correct for e in examples], dtype=bool)
    return ScoredQueries(
        name="decisions",
        best=np.array([e.best for e in examples], dtype=np.float64),
        runner_up=np.array(
            [-np.inf if e.runner_up is None else e.runner_up for e in examples], dtype=np.float64
        ),
        top_correct=correct,
        matchable=np.array([e.matchable for e in examples], dtype=bool),
        rank=correct.astype(np.int64),
        guarded=np.array([e.guarded for e in examples], dtype=bool),
    )


async def calibrate_from_decisions(db: Database, args: argparse.Namespace, embedder: str) -> int:
    """Derive thresholds from the workspace's decisions; print; apply with ``--apply``.

    Args:
        db: The workspace's database.
        args: ``precision``, ``confidence``, ``max_miss``, ``max_false_link``,
            ``settled_days``, ``apply``.
        embedder: Whose decisions (the scorer's name, e.g. ``local:all-MiniLM-L6-v2-int8``,
            or an embedder kind such as ``local``).

    Returns:
        0 when thresholds were derived (and applied, with ``--apply``), 1 when the
        defaults stay (too few decisions, or the target not proven).
    """
    embedder = _scorer(embedder)
    now = await in_force(db, embedder)
    async with db.read() as conn:
        found = await thresholds_db.examples(conn, settled=timedelta(days=args.settled_days))
    mine = [e for e in found if e.scorer == embedder]
    kinds = thresholds_db.counts(mine)
    print(
        f"{len(mine)} labelled decisions for {embedder}: {kinds['ask']} answered questions, "
        f"{kinds['undo']} undone links, {kinds['kept']} links kept for "
        f">= {args.settled_days:g} days"
        + (
            f" ({len(found) - len(mine)} more scored by other scorers)"
            if len(found) > len(mine)
            else ""
        )
    )
    print(f"in force: {now.thresholds!r} ({now.source})")
    if len(mine) < MIN_EXAMPLES:
        print(
            f"at least {MIN_EXAMPLES} are needed before thresholds are derived from "
            f"decisions: the thresholds in force stay"
        )
        return 1
    negatives = sum(not e.top_correct for e in mine)
    if negatives < MIN_NEGATIVES:
        print(
            f"{negatives} of them say the best candidate was wrong or no request fit: at "
            f"least {MIN_NEGATIVES} are needed to tell where links go wrong, so the "
            f"thresholds in force stay"
        )
        return 1
    result = calibrate(
        [scored_examples(mine)],
        precision=args.precision,
        confidence=args.confidence,
        max_miss=args.max_miss,
        max_false_link=args.max_false_link,
        ask_at_most=now.thresholds.ask,  # decisions cannot see what falls below it
        prefer=now.thresholds,
    )
    print()
    print(format_change(scored_examples(mine), now.thresholds, result))
    if not result.reached:
        print(
            f"\nthese decisions do not prove link precision >= {args.precision:g} at "
            f"{args.confidence:.0%} confidence: the thresholds in force stay"
        )
        return 1
    source = (
        f"decisions ({len(mine)} examples: {kinds['ask']} answers, {kinds['undo']} undos, "
        f"{kinds['kept']} kept links)"
    )
    return await _apply_or_say(db, args, embedder, now, result, source)


async def apply_calibration(
    db: Database, args: argparse.Namespace, embedder: str, result: Calibration, files: Sequence[str]
) -> int:
    """``calibrate FILE... --apply``: put file-calibrated thresholds in force."""
    now = await in_force(db, embedder)
    if not result.reached:
        print("the target is not reached on every file: nothing applied")
        return 1
    names = ", ".join(Path(f).name for f in files)
    return await _apply_or_say(db, args, embedder, now, result, f"files ({names})")


async def _apply_or_say(
    db: Database,
    args: argparse.Namespace,
    embedder: str,
    now: InForce,
    result: Calibration,
    source: str,
) -> int:
    new = result.thresholds
    if _same(new, now.thresholds):
        print(f"\n{new!r} already in force: nothing applied")
        return 0
    if not args.apply:
        print(f"\nnot applied (dry run): add --apply to put {new!r} in force")
        return 0
    async with db.transaction() as conn:
        await thresholds_db.apply(
            conn,
            embedder=embedder,
            link=new.link,
            ask=new.ask,
            margin=new.margin,
            source=source,
            actor=ACTOR,
            before=_audited(now),
            details={
                "precision": result.precision,
                "confidence": result.confidence,
                "files": [
                    {
                        "name": f.name,
                        "links": f.stats.links,
                        "precision_lower_bound": f.precision_lower_bound,
                    }
                    for f in result.files
                ],
            },
        )
    print(f"\napplied {new!r} for {embedder} (source: {source}); workers use them within 30 s")
    return 0


def _same(one: Thresholds, other: Thresholds) -> bool:
    return all(
        round(a, 3) == round(b, 3)
        for a, b in ((one.link, other.link), (one.ask, other.ask), (one.margin, other.margin))
    )


async def reset_to_defaults(db: Database, embedder: str) -> int:
    """``calibrate --reset``: put the embedder's own defaults back in force (an audit entry).

    Args:
        db: The workspace's database.
        embedder: The scorer's name, or an embedder kind such as ``local``.

    Returns:
        0 (also when the defaults are in force already: nothing is written then).
    """
    embedder = _scorer(embedder)
    now = await in_force(db, embedder)
    if now.source.startswith("the embedder's defaults"):
        print(f"{embedder}: the defaults {now.thresholds!r} are already in force: nothing reset")
        return 0
    async with db.transaction() as conn:
        await thresholds_db.reset(
            conn,
            embedder=embedder,
            actor=ACTOR,
            before=_audited(now),
        )
    print(
        f"reset {embedder} to its defaults {_defaults(embedder)!r} (until now: "
        f"{now.thresholds!r}, {now.source}); workers use them within 30 s"
    )
    return 0


def format_change(scored: ScoredQueries, before: Thresholds, result: Calibration) -> str:
    """What the new thresholds would change on the labelled decisions, as a table."""
    after = result.thresholds
    rows = [("", "in force", "derived")]
    old, new = link_stats(scored, before), link_stats(scored, after)
    rows += [
        ("link >=", f"{before.link:.3f}", f"{after.link:.3f}"),
        ("margin >=", f"{before.margin:.3f}", f"{after.margin:.3f}"),
        ("ask >=", f"{before.ask:.3f}", f"{after.ask:.3f}"),
        ("link precision", _pct(old.link_precision), _pct(new.link_precision)),
        ("  95% lower bound", _pct(_lower(old)), _pct(_lower(new))),
        ("share linked", _pct(old.links / len(scored.best)), _pct(new.links / len(scored.best))),
        ("share asked", _pct(old.ask_share), _pct(new.ask_share)),
        ("false links", _pct(old.false_link_rate), _pct(new.false_link_rate)),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a.ljust(width)}  {b:>9}  {c:>9}" for a, b, c in rows)


def _lower(stats: LinkStats) -> float:
    return bound(stats.right_links, stats.links) if stats.links else math.nan


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


async def load_sources(
    files: Sequence[str], embedder: str, database_url: str | None
) -> list[str | MatchEvalSet]:
    """The files of ``eval-matching``/``calibrate``: CSVs are read against the workspace.

    A ``.csv`` file (feedback text and request id or empty, or what ``feedback-bot
    export`` writes) is matched against the requests stored for ``embedder`` in the
    database, its own rows held out by feedback id or by text
    (:func:`agents.labelled.load_labelled_csv`); other files are ``match-eval/1``.

    Raises:
        ConfigurationError: A CSV was given but no request is stored for the embedder.
        MatchingDataError: A CSV is malformed (the line is named).
    """
    if not any(f.lower().endswith(".csv") for f in files):
        return list(files)
    from feedback.settings import load_settings

    url = database_url or load_settings().database_url
    await migrate.ensure_current(url)
    async with Database(url) as db, db.read() as conn:
        stored = await embeddings.load(conn, embedder)
    if not stored:
        raise ConfigurationError(
            f"no request is embedded with {embedder} in the database: import the requests "
            f"(`feedback-bot requests import`) or run sync-embeddings first"
        )
    return [
        load_labelled_csv(f, _requests(stored)) if f.lower().endswith(".csv") else f for f in files
    ]


def _requests(stored: Sequence[embeddings.StoredEmbedding]) -> list[EvalRequest]:
    by_request: dict[str, list[embeddings.StoredEmbedding]] = {}
    for row in stored:
        by_request.setdefault(row.request_id, []).append(row)
    found = []
    for request_id, rows in by_request.items():
        rows.sort(key=lambda r: (r.text_id != "request", r.text_id))  # its own text first
        found.append(
            EvalRequest(request_id, tuple(r.text for r in rows), tuple(r.text_id for r in rows))
        )
    return found


def status_lines(overview: dict[str, Any]) -> list[str]:
    """``feedback-bot status`` as lines (``overview`` from :func:`status`)."""
    lines = [
        f"database:   {overview['database']} (revision {overview['revision'] or 'none'})",
        f"embedder:   {overview['embedder']}",
        f"thresholds: {overview['thresholds']!r}",
        f"  from:     {overview['source']}",
    ]
    if overview.get("earlier"):
        lines.append(f"  earlier:  {overview['earlier']}")
    requests, feedback = overview["requests"], overview["feedback"]
    lines += [
        f"requests:   {sum(requests.values())} ({_counts(requests)})",
        f"feedback:   {sum(feedback.values())} ({_counts(feedback)})",
        f"  matched:  {_counts(overview['tiers'])}",
        f"questions:  {overview['pending']} waiting for a person",
        f"runs:       {overview['waiting']} waiting, {overview['running']} running or due, "
        f"{overview['failed']} failed or crashed",
    ]
    return lines


def _earlier(newest: Sequence[thresholds_db.ActiveThresholds]) -> str:
    """What was in force before the thresholds in force now, and until when."""
    if len(newest) < 2:
        return ""
    before, until = newest[1], f"until {newest[0].at:%Y-%m-%d}"
    if before.reset:
        return f"the embedder's defaults ({until})"
    return (
        f"link {before.link:.3f}, ask {before.ask:.3f}, margin {before.margin:.3f} "
        f"({before.source}, {until})"
    )


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(values.items())) or "none"


async def status(url: str, embedder: str) -> dict[str, Any]:
    """Everything ``feedback-bot status`` shows, read from the database and the engine.

    ``embedder`` is the scorer's name, or an embedder kind such as ``local``.
    """
    from sqlalchemy.engine import make_url

    from feedback import overview as overview_db
    from workflows.engine import Engine, RunStatus

    embedder = _scorer(embedder)
    revision = await migrate.current(url)
    await migrate.ensure_current(url)
    async with Database(url) as db:
        now = await in_force(db, embedder)
        async with db.read() as conn:
            counts = await overview_db.overview(conn)
            earlier = await thresholds_db.history(conn, embedder, limit=2)
    async with Engine(url) as engine:
        runs = (await engine.count_runs()).runs

    def total(*statuses: RunStatus) -> int:
        return sum(n for (_, s), n in runs.items() if s in statuses)

    return {
        "database": make_url(url).render_as_string(hide_password=True),
        "revision": revision,
        "embedder": embedder,
        "thresholds": now.thresholds,
        "source": now.source,
        "earlier": _earlier(earlier),
        "requests": counts.requests,
        "feedback": counts.feedback,
        "tiers": counts.tiers,
        "pending": counts.pending,
        "waiting": total(RunStatus.WAITING),
        "running": total(RunStatus.RUNNING, RunStatus.PENDING),
        "failed": total(RunStatus.FAILED, RunStatus.CRASHED),
    }


def _audited(now: InForce) -> dict[str, Any]:
    """The thresholds in force, as the audit entry records what they replace."""
    return {
        "link": now.thresholds.link,
        "ask": now.thresholds.ask,
        "margin": now.thresholds.margin,
        "source": now.source,
    }
