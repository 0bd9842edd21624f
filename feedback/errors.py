"""Errors of the domain layer.

::

    DomainError
    ├── ConfigurationError     a setting is missing or invalid (names it)
    ├── ImportFileError        a CSV file has bad rows (each with its line and reason)
    └── NotFound               a user, account, request or feedback item does not exist
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ConfigurationError", "DomainError", "ImportFileError", "NotFound", "RowError"]


class DomainError(Exception):
    """Base of the domain's errors."""


class ConfigurationError(DomainError):
    """A setting is missing or invalid; the message names it and says what to set."""


class NotFound(DomainError):
    """A record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


@dataclass(frozen=True)
class RowError:
    """One bad row of an import file.

    Attributes:
        line: The 1-based line number in the file (the header is line 1).
        reason: What is wrong, and how to fix it.
    """

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportFileError(DomainError):
    """An import file has bad rows; nothing was imported."""

    def __init__(self, path: str, errors: Sequence[RowError]) -> None:
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(
            f"{path}: {len(errors)} bad row(s), nothing imported; fix them and re-run:\n"
            f"{shown}{more}"
        )
        self.path = path
        self.errors = tuple(errors)
