"""Metrics and calibration on tiny hand-made arrays with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.calibration import (
    ScoredQueries,
    calibrate,
    link_stats,
    recall_at_k,
    roc_auc,
    wilson_lower_bound,
)
from agents.thresholds import Thresholds


def scored(
    best: list[float],
    runner_up: list[float] | float,
    correct: list[bool],
    matchable: list[bool],
    name: str = "hand",
) -> ScoredQueries:
    n = len(best)
    second = np.full(n, runner_up) if isinstance(runner_up, float) else np.array(runner_up)
    top = np.array(correct)
    return ScoredQueries(
        name, np.array(best), second, top, np.array(matchable), np.where(top, 1, 0).astype(np.int64)
    )


def test_roc_auc_known_answers() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([0.1, 0.2, 0.3], [False, True, True]) == 1.0
    assert roc_auc([0.3, 0.2, 0.1], [False, True, True]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5  # ties count half
    assert math.isnan(roc_auc([0.1, 0.2], [True, True]))


def test_recall_at_k() -> None:
    rank = [1, 2, 0, 6, 0]
    matchable = [True, True, True, True, False]
    assert recall_at_k(rank, matchable, 1) == 0.25
    assert recall_at_k(rank, matchable, 5) == 0.5
    assert math.isnan(recall_at_k([0], [False], 1))


def test_wilson_lower_bound() -> None:
    assert wilson_lower_bound(50, 100, 0.975) == pytest.approx(0.4038, abs=1e-4)  # textbook
    assert wilson_lower_bound(9, 10, 0.5) == pytest.approx(0.9)  # 50 %: the point estimate
    assert wilson_lower_bound(10, 10, 0.95) < wilson_lower_bound(100, 100, 0.95) < 1.0
    assert wilson_lower_bound(0, 0) == 0.0


def test_link_stats_follow_the_documented_definitions() -> None:
    data = scored(
        best=[0.9, 0.85, 0.7, 0.6, 0.95],
        runner_up=0.0,
        correct=[True, False, False, False, False],
        matchable=[True, True, True, True, False],
    )
    stats = link_stats(data, Thresholds(link=0.8, ask=0.65))
    assert stats.links == 3 and stats.right_links == 1
    assert stats.link_precision == pytest.approx(1 / 3)  # the link without a match is wrong
    assert stats.link_coverage == pytest.approx(1 / 4)
    assert stats.false_link_rate == 1.0
    assert stats.ask_share == pytest.approx(1 / 5)
    assert stats.miss_rate == pytest.approx(1 / 4)


def test_calibrate_picks_the_widest_precise_link_rule() -> None:
    data = scored(
        best=[0.9, 0.85, 0.7, 0.6],
        runner_up=0.0,
        correct=[True, True, False, False],
        matchable=[True, True, True, False],
    )
    result = calibrate([data], precision=0.9, confidence=0.5, max_miss=0.34)
    assert result.reached
    assert result.thresholds == Thresholds(link=0.85, ask=0.85, margin=0.0)
    assert result.files[0].stats.link_coverage == pytest.approx(2 / 3)
    no_misses = calibrate([data], precision=0.9, confidence=0.5, max_miss=0.0)
    assert no_misses.thresholds.ask == 0.7


def test_calibrate_uses_the_margin_when_two_requests_are_close() -> None:
    data = scored(
        best=[0.9, 0.9], runner_up=[0.5, 0.88], correct=[True, False], matchable=[True, True]
    )
    result = calibrate([data], precision=0.9, confidence=0.5)
    assert result.thresholds.link == 0.9
    assert result.thresholds.margin == 0.03  # the smallest grid margin above the 0.02 lead


def test_calibrate_must_hold_on_every_file() -> None:
    easy = scored(
        best=[0.9, 0.8], runner_up=0.0, correct=[True, True], matchable=[True, True], name="easy"
    )
    hard = scored(
        best=[0.9, 0.8], runner_up=0.0, correct=[True, False], matchable=[True, True], name="hard"
    )
    result = calibrate([easy, hard], precision=0.9, confidence=0.5)
    assert result.thresholds.link == 0.9  # 0.8 would do on "easy" only
    assert [f.name for f in result.files] == ["easy", "hard"]


def test_calibrate_says_when_the_target_is_out_of_reach() -> None:
    data = scored(best=[0.9, 0.8], runner_up=0.0, correct=[False, False], matchable=[True, False])
    result = calibrate([data], precision=0.95)
    assert not result.reached


def test_calibrate_rejects_nonsense() -> None:
    data = scored(best=[0.9], runner_up=0.0, correct=[True], matchable=[True])
    with pytest.raises(ValueError, match="precision"):
        calibrate([data], precision=1.5)
    with pytest.raises(ValueError, match="at least one file"):
        calibrate([])


def test_scored_queries_validate_their_arrays() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        scored(best=[0.9, 0.8], runner_up=[0.1], correct=[True, True], matchable=[True, True])
    with pytest.raises(ValueError, match="without a match is correct"):
        scored(best=[0.9], runner_up=0.0, correct=[True], matchable=[False])


def test_guarded_queries_never_link() -> None:
    data = scored(best=[0.95, 0.9], runner_up=0.0, correct=[False, True], matchable=[True, True])
    guarded = ScoredQueries(
        "guarded",
        data.best,
        data.runner_up,
        data.top_correct,
        data.matchable,
        data.rank,
        np.array([True, False]),
    )
    assert link_stats(data, Thresholds(link=0.85, ask=0.5)).links == 2
    stats = link_stats(guarded, Thresholds(link=0.85, ask=0.5))
    assert (stats.links, stats.right_links, stats.ask_share) == (1, 1, 0.5)
    assert calibrate([guarded], precision=0.9, confidence=0.5).thresholds.link == 0.9
    assert "guarded=1" in repr(guarded)


def test_the_false_link_rate_is_capped_on_every_file() -> None:
    # 100 right links at 0.91, but 3 of 50 queries without a match score 0.92: precision
    # 0.97 would do, 6 % false links would not
    best = [0.91] * 100 + [0.92] * 3 + [0.5] * 47
    correct = [True] * 100 + [False] * 50
    matchable = [True] * 100 + [False] * 50
    data = scored(best=best, runner_up=0.0, correct=correct, matchable=matchable)
    capped = calibrate([data], precision=0.9, confidence=0.5)
    loose = calibrate([data], precision=0.9, confidence=0.5, max_false_link=1.0)
    assert loose.reached and loose.thresholds.link == 0.91
    assert not capped.reached and capped.max_false_link == 0.02


def test_a_margin_is_worth_a_few_questions_when_it_stops_more_wrong_links() -> None:
    # 60 clear right links; 6 close calls (lead 0.01): 2 right, 4 wrong
    best = [0.9] * 66
    runner_up = [0.5] * 60 + [0.89] * 6
    correct = [True] * 62 + [False] * 4
    data = scored(best=best, runner_up=runner_up, correct=correct, matchable=[True] * 66)
    result = calibrate([data], precision=0.9, confidence=0.5)
    assert result.thresholds.margin == 0.02  # the smallest margin above the 0.01 lead


def test_files_that_cannot_prove_precision_hold_only_the_false_link_cap() -> None:
    big = scored(
        best=[0.9] * 80, runner_up=0.0, correct=[True] * 80, matchable=[True] * 80, name="big"
    )
    tiny = scored(
        best=[0.95, 0.2], runner_up=0.0, correct=[True, False], matchable=[True, False], name="tiny"
    )
    result = calibrate([big, tiny], precision=0.95)
    assert not result.reached and result.unproven == ("tiny",)
    assert result.thresholds.link == 0.9  # proven on "big"; one right link proves nothing
    assert result.files[0].precision_lower_bound >= 0.95


def test_ties_go_to_the_thresholds_in_force_when_given() -> None:
    # every link in (0.5, 0.9] and every margin links the same queries: a tie
    data = scored(
        [0.9] * 60 + [0.5] * 20, -math.inf, [True] * 60 + [False] * 20, [True] * 60 + [False] * 20
    )

    alone = calibrate([data])
    near = calibrate([data], prefer=Thresholds(link=0.7, ask=0.5, margin=0.02))

    assert (alone.thresholds.link, alone.thresholds.margin) == (0.9, 0.0)
    assert (near.thresholds.link, near.thresholds.margin) == (0.7, 0.02)
    assert near.reached
