"""Matching metrics and threshold calibration: pure numpy, no I/O.

Inputs are :class:`ScoredQueries`: for every labelled query, the best candidate's score,
the runner-up's, whether the best candidate is the right request, whether the query has a
right request at all, and the rank of the right request among the candidates.

Metrics (``q`` = all queries, ``m`` = queries with a match, ``u`` = queries without):

- recall@k: share of ``m`` whose right request is among the first k candidates;
- AUC: ROC AUC of the best score as a detector of "has a match" (``m`` against ``u``;
  ties count one half);
- link precision: among queries decided ``link``, the share linked to the right request
  (a link on a query of ``u`` is wrong);
- link coverage: share of ``m`` linked to the right request;
- false-link rate: share of ``u`` decided ``link``;
- ask share: share of ``q`` decided ``ask``;
- miss rate: share of ``m`` decided ``new`` (each would create a duplicate request).

Calibration method (:func:`calibrate`):

1. Link rule: link when ``best >= link`` and ``best - runner_up >= margin``, and the
   specifics guard did not stop the link (queries marked ``guarded`` never link; see
   :mod:`agents.specifics`). Candidate values form a coarse grid (link in steps of 0.005
   over the observed scores, margin in 0, 0.01, ..., 0.10); a coarse grid and round
   numbers keep the result from chasing noise.
2. A pair qualifies when, on *every* file, the lower end of the one-sided Wilson score
   interval of link precision (at ``confidence``, 95 % by default) reaches the target
   and the false-link rate stays within ``max_false_link`` (2 % by default). The bound
   demands more evidence from pairs that link few queries, and requiring it on each
   file (e.g. requests with and without linked feedback, conversational and technical
   text) keeps thresholds that hold on only one kind of corpus out.
3. Among qualifying pairs, take the one with the most coverage net of wrong links: the
   mean across files of ``(right links - WRONG_LINK_COST * wrong links) / queries with a
   match``. A wrong link hides a customer's pain under the wrong request until someone
   notices and undoes it, so it costs more than the question it saved
   (``WRONG_LINK_COST`` = 2); this is what makes the margin worth its questions. Ties
   go to the pair nearest the thresholds in force when they are given (``prefer``:
   labelled decisions, where many pairs link the same examples, should not move the
   thresholds for nothing), then to the higher link threshold, then the smaller margin.
4. The ask threshold is the highest grid value at or below the link threshold for which
   the mean miss rate across files stays within ``max_miss`` (20 % by default): below
   it, feedback becomes a new request without asking anyone.

When no pair qualifies on every file, files on which *no* pair that links anything
reaches the precision bound (too few labelled matches to prove it, or labels too noisy)
are set aside for precision but still hold the false-link cap; the pair is chosen among
the rest as above, and ``reached`` is ``False``, naming those files in ``unproven``.
When even that leaves nothing, the pair with the best worst-file bound is returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from agents.thresholds import Thresholds

__all__ = [
    "Calibration",
    "FileCalibration",
    "LinkStats",
    "ScoredQueries",
    "calibrate",
    "link_stats",
    "recall_at_k",
    "roc_auc",
    "wilson_lower_bound",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

MARGINS = tuple(round(0.01 * i, 2) for i in range(11))
STEP = 0.005
WRONG_LINK_COST = 2.0
"""How many right links one wrong link undoes, when choosing among qualifying pairs."""


@dataclass(frozen=True, repr=False)
class ScoredQueries:
    """Per-query scores of one labelled file, ready for metrics.

    Attributes:
        name: The file's name.
        best: Best candidate's score, shape ``(n,)`` (``-inf`` without candidates).
        runner_up: Second candidate's score (``-inf`` without one).
        top_correct: The best candidate is the right request.
        matchable: The query has a right request.
        rank: 1-based rank of the right request among the candidates, 0 when absent.
        guarded: The specifics guard stopped a link to the best candidate (default:
            nowhere).
    """

    name: str
    best: Floats
    runner_up: Floats
    top_correct: Bools
    matchable: Bools
    rank: npt.NDArray[np.int64]
    guarded: Bools | None = None

    def __post_init__(self) -> None:
        n = len(self.best)
        if self.guarded is None:
            object.__setattr__(self, "guarded", np.zeros(n, dtype=bool))
        arrays = (self.runner_up, self.top_correct, self.matchable, self.rank, self.guard)
        sizes = {len(a) for a in arrays}
        if sizes != {n}:
            raise ValueError(f"ScoredQueries {self.name!r}: arrays differ in length")
        if np.any(self.top_correct & ~self.matchable):
            raise ValueError(f"ScoredQueries {self.name!r}: a query without a match is correct")

    @property
    def guard(self) -> Bools:
        """``guarded``, never ``None``."""
        return self.guarded if self.guarded is not None else np.zeros(len(self.best), bool)

    def links(self, thresholds: Thresholds) -> Bools:
        """Which queries the thresholds link (the guard's included).

        Args:
            thresholds: The thresholds.

        Returns:
            A boolean mask.
        """
        return thresholds.links(self.best, self.runner_up) & ~self.guard

    def __repr__(self) -> str:
        return (
            f"ScoredQueries({self.name!r}, queries={len(self.best)}, "
            f"matchable={int(self.matchable.sum())}, guarded={int(self.guard.sum())})"
        )


@dataclass(frozen=True)
class LinkStats:
    """What a set of thresholds does on one file (fractions in 0..1; NaN when undefined).

    Attributes:
        link_precision: Right links / links.
        link_coverage: Right links / queries with a match.
        false_link_rate: Links on queries without a match / those queries.
        ask_share: Queries decided ``ask`` / all queries.
        miss_rate: Queries with a match decided ``new`` / queries with a match.
        links: Number of queries decided ``link``.
        right_links: Number of those linked to the right request.
    """

    link_precision: float
    link_coverage: float
    false_link_rate: float
    ask_share: float
    miss_rate: float
    links: int
    right_links: int


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """ROC AUC: the chance a random positive outscores a random negative (ties: 1/2).

    Args:
        scores: Shape ``(n,)``.
        labels: Booleans, shape ``(n,)``; ``True`` marks positives.

    Returns:
        The AUC in 0..1, or NaN when either class is empty.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts  # values strictly below each distinct value
    ranks = below[inverse] + (counts[inverse] + 1) / 2.0  # average 1-based rank
    u = ranks[y].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def recall_at_k(rank: npt.ArrayLike, matchable: npt.ArrayLike, k: int) -> float:
    """Share of queries with a match whose right request ranks within the first ``k``.

    Args:
        rank: 1-based rank of the right request, 0 when it is not among the candidates.
        matchable: The query has a right request.
        k: The cut-off.

    Returns:
        The recall in 0..1, or NaN when no query has a match.
    """
    r = np.asarray(rank)
    m = np.asarray(matchable, dtype=bool)
    if not m.any():
        return math.nan
    hit = (r >= 1) & (r <= k)
    return float(hit[m].mean())


def wilson_lower_bound(successes: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided lower bound of the Wilson score interval of a proportion.

    Args:
        successes: Successes.
        trials: Trials.
        confidence: One-sided confidence in ``[0.5, 1)``; 0.5 gives the point estimate.

    Returns:
        The bound in 0..1 (0 when there are no trials).
    """
    if trials == 0:
        return 0.0
    z = NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z * z / trials))


def link_stats(scored: ScoredQueries, thresholds: Thresholds) -> LinkStats:
    """Apply thresholds to one file's queries.

    Args:
        scored: The file's scored queries.
        thresholds: The thresholds.

    Returns:
        The resulting statistics.
    """
    linked = scored.links(thresholds)
    asked = (np.asarray(scored.best) >= thresholds.ask) & ~linked
    right = int((linked & scored.top_correct).sum())
    links = int(linked.sum())
    m = scored.matchable
    new = ~linked & ~asked
    return LinkStats(
        link_precision=_ratio(right, links),
        link_coverage=_ratio(right, int(m.sum())),
        false_link_rate=_ratio(int((linked & ~m).sum()), int((~m).sum())),
        ask_share=_ratio(int(asked.sum()), len(m)),
        miss_rate=_ratio(int((new & m).sum()), int(m.sum())),
        links=links,
        right_links=right,
    )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


@dataclass(frozen=True)
class FileCalibration:
    """The calibrated thresholds' effect on one file.

    Attributes:
        name: The file's name.
        stats: The statistics at the calibrated thresholds.
        precision_lower_bound: Wilson lower bound of the link precision.
    """

    name: str
    stats: LinkStats
    precision_lower_bound: float


@dataclass(frozen=True)
class Calibration:
    """Thresholds for a target link precision, and what they give on each file.

    Attributes:
        thresholds: The calibrated thresholds.
        precision: The target link precision.
        confidence: Confidence of the precision lower bound.
        max_miss: The allowed mean miss rate behind the ask threshold.
        reached: Every file's precision lower bound reaches the target, and every
            file's false-link rate stays within ``max_false_link``.
        files: Per-file results.
        max_false_link: The allowed false-link rate on each file.
        unproven: Files set aside for precision because no rule that links anything
            reaches the bound on them (they still hold the false-link cap).
    """

    thresholds: Thresholds
    precision: float
    confidence: float
    max_miss: float
    reached: bool
    files: tuple[FileCalibration, ...]
    max_false_link: float = 0.02
    unproven: tuple[str, ...] = ()


def calibrate(
    files: Sequence[ScoredQueries],
    *,
    precision: float = 0.95,
    confidence: float = 0.95,
    max_miss: float = 0.2,
    max_false_link: float = 0.02,
    ask_at_most: float | None = None,
    prefer: Thresholds | None = None,
) -> Calibration:
    """Find thresholds reaching a link precision on every file (method: module docstring).

    Args:
        files: Scored queries of one or more labelled files.
        precision: Target link precision in (0, 1).
        confidence: One-sided confidence of the precision bound (0.5: point estimate).
        max_miss: Allowed mean share of matchable queries filed as new.
        max_false_link: Allowed false-link rate on each file (1 turns the cap off).
        ask_at_most: Cap the ask threshold (labelled decisions cannot show what falls
            below the ask threshold in force, so they must not raise it).
        prefer: The thresholds in force: among equally good pairs, the nearest wins.

    Returns:
        The calibration.

    Raises:
        ValueError: No files, no scores, or a parameter out of range.
    """
    if not files or not any(len(f.best) for f in files):
        raise ValueError("calibrate needs at least one file with queries")
    if not (0 < precision < 1 and 0.5 <= confidence < 1 and 0 <= max_miss <= 1):
        raise ValueError("need 0 < precision < 1, 0.5 <= confidence < 1, 0 <= max_miss <= 1")
    if not 0 <= max_false_link <= 1:
        raise ValueError("need 0 <= max_false_link <= 1")
    grid = _grid(files)
    search = _Search(files, grid, precision, confidence, max_false_link, prefer)
    link, margin, reached, unproven = search.best_rule()
    ask = _ask_threshold(files, grid, link, max_miss)
    if ask_at_most is not None:
        ask = min(ask, ask_at_most)
    thresholds = Thresholds(link=link, ask=min(ask, link), margin=margin)
    results = []
    for f in files:
        stats = link_stats(f, thresholds)
        bound = wilson_lower_bound(stats.right_links, stats.links, confidence)
        results.append(FileCalibration(f.name, stats, bound))
    return Calibration(
        thresholds,
        precision,
        confidence,
        max_miss,
        reached,
        tuple(results),
        max_false_link=max_false_link,
        unproven=unproven,
    )


def _grid(files: Sequence[ScoredQueries]) -> Floats:
    scores = np.concatenate([f.best[np.isfinite(f.best)] for f in files])
    if scores.size == 0:
        raise ValueError("calibrate needs queries with at least one candidate")
    low = math.floor(float(scores.min()) / STEP) * STEP
    high = math.ceil(float(scores.max()) / STEP) * STEP
    return np.round(np.arange(low, high + STEP / 2, STEP), 3)


@dataclass(frozen=True)
class _Pair:
    """What one (link, margin) pair does across the files."""

    link: float
    margin: float
    bounds: tuple[float | None, ...]  # per file; None when it links nothing there
    false_link_ok: bool
    coverage: float
    net: float  # mean (right - WRONG_LINK_COST * wrong) / matchable

    def proven(self, precision: float, skip: frozenset[int] = frozenset()) -> bool:
        return (
            self.false_link_ok
            and self.coverage > 0
            and all(b is None or b >= precision for i, b in enumerate(self.bounds) if i not in skip)
        )


class _Search:
    """The grid search of the link rule (steps 1 to 3 of the module docstring)."""

    def __init__(
        self,
        files: Sequence[ScoredQueries],
        grid: Floats,
        precision: float,
        confidence: float,
        max_false_link: float,
        prefer: Thresholds | None = None,
    ) -> None:
        self.files, self.precision, self.prefer = files, precision, prefer
        self.pairs = [
            self._evaluate(link, margin, confidence, max_false_link)
            for margin in MARGINS
            for link in grid.tolist()
        ]

    def _evaluate(
        self, link: float, margin: float, confidence: float, max_false_link: float
    ) -> _Pair:
        bounds: list[float | None] = []
        coverages, nets, false_link_ok = [], [], True
        for f in self.files:
            linked = (f.best >= link) & (f.best - f.runner_up >= margin) & ~f.guard
            right = int((linked & f.top_correct).sum())
            links = int(linked.sum())
            bounds.append(wilson_lower_bound(right, links, confidence) if links else None)
            matchable = max(int(f.matchable.sum()), 1)
            coverages.append(right / matchable)
            nets.append((right - WRONG_LINK_COST * (links - right)) / matchable)
            unmatched = int((~f.matchable).sum())
            if unmatched and int((linked & ~f.matchable).sum()) / unmatched > max_false_link:
                false_link_ok = False
        return _Pair(
            link,
            margin,
            tuple(bounds),
            false_link_ok,
            float(np.mean(coverages)),
            float(np.mean(nets)),
        )

    def best_rule(self) -> tuple[float, float, bool, tuple[str, ...]]:
        """The chosen (link, margin), whether it reaches the target, and unproven files."""
        chosen = self._choose(frozenset())
        if chosen is not None:
            return chosen.link, chosen.margin, True, ()
        skip = frozenset(
            i
            for i in range(len(self.files))
            if not any(
                p.bounds[i] is not None and p.bounds[i] >= self.precision  # type: ignore[operator]
                for p in self.pairs
            )
        )
        chosen = self._choose(skip) if len(skip) < len(self.files) else None
        if chosen is not None:
            names = tuple(self.files[i].name for i in sorted(skip))
            return chosen.link, chosen.margin, False, names
        fallback = max(self.pairs, key=lambda p: (_worst(p), p.coverage, p.link))
        return fallback.link, fallback.margin, False, ()

    def _choose(self, skip: frozenset[int]) -> _Pair | None:
        qualifying = [p for p in self.pairs if p.proven(self.precision, skip)]
        if not qualifying:
            return None
        return max(
            qualifying, key=lambda p: (round(p.net, 12), -self._distance(p), p.link, -p.margin)
        )

    def _distance(self, pair: _Pair) -> float:
        """How far a pair is from the preferred thresholds (0 without a preference)."""
        if self.prefer is None:
            return 0.0
        return round(abs(pair.link - self.prefer.link) + abs(pair.margin - self.prefer.margin), 6)


def _worst(pair: _Pair) -> float:
    if pair.coverage == 0:
        return 0.0  # a rule that links nothing right proves nothing
    return min((b for b in pair.bounds if b is not None), default=1.0)


def _ask_threshold(
    files: Sequence[ScoredQueries], grid: Floats, link: float, max_miss: float
) -> float:
    """The highest grid value <= link whose mean miss rate stays within ``max_miss``."""
    for ask in grid[grid <= link][::-1].tolist():
        misses = [
            float(((f.best < ask) & f.matchable).sum()) / max(int(f.matchable.sum()), 1)
            for f in files
        ]
        if float(np.mean(misses)) <= max_miss:
            return float(ask)
    return float(grid[0])
