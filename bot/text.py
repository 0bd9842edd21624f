"""What people typed, as text the bot can keep: no control characters, no Slack markup."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["clean", "field", "plain"]

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def clean(text: str) -> str:
    """``text`` without control characters (a NUL, say), newlines and tabs kept."""
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def plain(text: str) -> str:
    """Slack's message text as a person reads it: ``<url|label>`` becomes the label,
    ``<@U123>`` and ``<#C123|name>`` become ``@U123`` and ``#name``, ``<!here>`` becomes
    ``@here``, and ``&lt;`` ``&gt;`` ``&amp;`` their characters."""

    def show(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return (label and f"@{label}") or target
        if target.startswith("#"):
            return f"#{label}" if label else target
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        return label or target

    unlinked = _LINK.sub(show, text)
    return clean(unlinked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def field(data: Any, *path: str) -> str | None:
    """The non-empty string at ``path`` in ``data`` (nested objects), else ``None``."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, str) and data else None
