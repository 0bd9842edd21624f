"""Tiers from scores: the rule every decision and every metric relies on."""

from __future__ import annotations

import numpy as np
import pytest

from agents.thresholds import Thresholds, Tier

T = Thresholds(link=0.8, ask=0.6, margin=0.05)


@pytest.mark.parametrize(
    ("best", "runner_up", "tier"),
    [
        (0.9, 0.5, Tier.LINK),
        (0.8, None, Tier.LINK),  # at the threshold links; no runner-up: any lead
        (0.9, 0.87, Tier.ASK),  # two requests about equally close: a human decides
        (0.79, 0.1, Tier.ASK),
        (0.6, 0.1, Tier.ASK),
        (0.59, 0.1, Tier.NEW),
        (None, None, Tier.NEW),  # no candidate at all
    ],
)
def test_tier(best: float | None, runner_up: float | None, tier: Tier) -> None:
    assert T.tier(best, runner_up) is tier


def test_vectorised_masks_agree_with_tier() -> None:
    rng = np.random.default_rng(1)
    best = rng.uniform(0.3, 1.0, 500)
    runner_up = best - rng.uniform(0.0, 0.2, 500)
    runner_up[:10] = -np.inf
    tiers = [T.tier(b, None if np.isinf(r) else r) for b, r in zip(best, runner_up, strict=True)]
    assert T.links(best, runner_up).tolist() == [t is Tier.LINK for t in tiers]
    assert T.asks(best, runner_up).tolist() == [t is Tier.ASK for t in tiers]


def test_repr_and_values() -> None:
    assert repr(T) == "Thresholds(link=0.800, ask=0.600, margin=0.050)"
    link: str = Tier.LINK  # a StrEnum: its members are the strings themselves
    assert link == "link"


@pytest.mark.parametrize(
    ("link", "ask", "margin", "message"),
    [
        (0.7, 0.8, 0.0, "above the link threshold"),
        (0.8, 0.6, -0.1, "margin must be >= 0"),
        (float("nan"), 0.6, 0.0, "finite"),
    ],
)
def test_invalid_thresholds_are_refused(
    link: float, ask: float, margin: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Thresholds(link=link, ask=ask, margin=margin)
