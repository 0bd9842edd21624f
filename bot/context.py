"""What the listeners work with: the engine that runs the workflows and their collaborators."""

from __future__ import annotations

from dataclasses import dataclass

from feedback.database import Database
from feedback.settings import Settings
from workflows.deps import Deps
from workflows.engine import Engine
from workflows.slack import Slack

__all__ = ["Bot"]


@dataclass(frozen=True)
class Bot:
    """The listeners' collaborators, passed in (never module globals).

    Attributes:
        engine: Starts workflows and records decisions.
        deps: The workflows' collaborators (database, outbound Slack, matcher, settings).
        slack: Slack calls made while Slack waits for the answer: they never sleep on a
            429 (the workflows' client does, in ``deps.slack``).
    """

    engine: Engine
    deps: Deps
    slack: Slack

    @property
    def db(self) -> Database:
        """The domain database."""
        return self.deps.db

    @property
    def settings(self) -> Settings:
        """The settings read at start-up."""
        return self.deps.settings

    @property
    def emoji(self) -> str:
        """The feedback reaction people are told about (the first one configured)."""
        return self.settings.feedback_emoji.split(",")[0]
