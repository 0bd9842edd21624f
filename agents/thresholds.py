"""Match tiers and the thresholds that decide them (pure; no I/O).

A scorer (an embedder's cosine similarity, or an LLM judge's confidence) ranks the
candidate requests for a piece of feedback. Its :class:`Thresholds` turn the best score
and the runner-up's into a :class:`Tier`:

- ``link``: best >= ``link`` and best - runner-up >= ``margin``: attach the feedback;
- ``ask``: otherwise, best >= ``ask``: put the best candidates to a human;
- ``new``: below ``ask``: draft a new request.

The margin asks a human when two requests are about equally close, since linking to
either would be a coin toss. Thresholds belong to the scorer: derive them from labelled
data with :func:`agents.calibration.calibrate`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Thresholds", "Tier"]


class Tier(enum.StrEnum):
    """What the bot does with a piece of feedback."""

    LINK = "link"
    """Attach it to the best request at once."""
    ASK = "ask"
    """Ask a human to pick among the best requests or file a new one."""
    NEW = "new"
    """Draft a new request."""


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds of one scorer.

    Args:
        link: Lowest best score that links at once.
        ask: Lowest best score that asks a human; below it the bot drafts a new request.
        margin: Lowest lead of the best request over the runner-up for a link; with a
            smaller lead the decision is ``ask``.

    Raises:
        ValueError: A value is not finite, ``ask > link``, or ``margin < 0``.
    """

    link: float
    """Lowest best score that links at once."""
    ask: float
    """Lowest best score that asks a human."""
    margin: float = 0.0
    """Lowest lead of the best request over the runner-up for a link."""

    def __post_init__(self) -> None:
        values = (self.link, self.ask, self.margin)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ValueError(f"thresholds must be finite numbers, got {self!r}")
        if self.ask > self.link:
            raise ValueError(
                f"the ask threshold ({self.ask:g}) is above the link threshold "
                f"({self.link:g}): nothing could ever be sent to a human; lower ask"
            )
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin:g}")

    def __repr__(self) -> str:
        return f"Thresholds(link={self.link:.3f}, ask={self.ask:.3f}, margin={self.margin:.3f})"

    def tier(self, best: float | None, runner_up: float | None = None) -> Tier:
        """The tier for one best score and the runner-up's score.

        Args:
            best: The best candidate's score, or ``None`` when there is no candidate.
            runner_up: The second candidate's score, or ``None`` when there is none.

        Returns:
            The tier.
        """
        if best is None:
            return Tier.NEW
        lead = math.inf if runner_up is None else best - runner_up
        if best >= self.link and lead >= self.margin:
            return Tier.LINK
        return Tier.ASK if best >= self.ask else Tier.NEW

    def links(
        self, best: npt.NDArray[np.floating], runner_up: npt.NDArray[np.floating]
    ) -> npt.NDArray[np.bool_]:
        """Which of many queries link: the vectorised ``tier(...) == Tier.LINK``.

        Args:
            best: Best scores, shape ``(n,)``.
            runner_up: Runner-up scores, shape ``(n,)`` (``-inf`` when there is none).

        Returns:
            A boolean mask of shape ``(n,)``.
        """
        best = np.asarray(best, dtype=np.float64)
        lead = best - np.asarray(runner_up, dtype=np.float64)
        return (best >= self.link) & (lead >= self.margin)

    def asks(
        self, best: npt.NDArray[np.floating], runner_up: npt.NDArray[np.floating]
    ) -> npt.NDArray[np.bool_]:
        """Which of many queries go to a human: the vectorised ``tier(...) == Tier.ASK``.

        Args:
            best: Best scores, shape ``(n,)``.
            runner_up: Runner-up scores, shape ``(n,)`` (``-inf`` when there is none).

        Returns:
            A boolean mask of shape ``(n,)``.
        """
        above = np.asarray(best, dtype=np.float64) >= self.ask
        return above & ~self.links(best, runner_up)
