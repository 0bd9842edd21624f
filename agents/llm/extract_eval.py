"""Score feedback extraction against labelled Slack threads: does it split asks right?

A labelled set (``extraction-eval/1`` JSON, e.g. ``tests/agents/data/extraction_threads.json``)
holds threads (messages with author, role and text) and, for each, the expected items,
each given as keywords that must all appear (any case) in a produced item's summary or
quote. Scoring is pure:

- a produced item *claims* the one expected item whose keywords it contains, unless it
  contains the keywords of several (it merged asks), none (noise), or only of an item
  an earlier produced item claimed (a duplicate), or it *leaks*: it carries a word of a
  colleague's or bot's message that no customer message uses;
- **split precision**: claimed produced items / produced items;
- **split recall**: claimed expected items / expected items;
- **exact count**: threads with as many produced items as expected / threads;
- **no greeting**: produced items whose summary and quote both start without a greeting
  or filler ("Hey team", "Thanks", "Quick one") / produced items;
- **account**: threads whose labelled account (where given) was found / such threads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.llm.extract import ExtractedItem, Extraction, ThreadMessage

__all__ = [
    "ExtractionReport",
    "LabelledThread",
    "ThreadScore",
    "load_extraction_set",
    "score_extractions",
    "score_thread",
]

FORMAT = "extraction-eval/1"

_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_GREETING = re.compile(
    r"^\W*(?:hey|hi|hiya|hello|howdy|yo|dear|greetings|good (?:morning|afternoon|evening)"
    r"|morning|thanks|thank you|thx|cheers|hope|quick (?:one|question)|as promised"
    r"|following up|heads up|fyi)\b",
    re.IGNORECASE,
)
_COMMON = frozenset(
    {
        "about", "after", "again", "also", "been", "being", "could", "does", "from", "have",
        "here", "into", "just", "like", "make", "more", "much", "need", "only", "other",
        "over", "really", "same", "should", "some", "than", "thank", "thanks", "that",
        "their", "them", "then", "there", "they", "this", "those", "very", "want", "what",
        "when", "where", "which", "will", "with", "would", "your", "yours",
    }
)  # fmt: skip


@dataclass(frozen=True)
class LabelledThread:
    """A thread and the items a careful reader would file from it.

    Attributes:
        id: A short unique name.
        messages: The thread, the reacted-to message first.
        expected: Keywords per expected item; an item matches when it holds them all.
        known_accounts: Account names the extractor may name.
        account: The account the text names, or ``None``; only scored when
            ``known_accounts`` is given.
        note: What the thread tests.
        split: Which part of the set it belongs to (e.g. ``"dev"``, ``"blind-1"``).
    """

    id: str
    messages: tuple[ThreadMessage, ...]
    expected: tuple[tuple[str, ...], ...]
    known_accounts: tuple[str, ...] = ()
    account: str | None = None
    note: str = ""
    split: str = "dev"


@dataclass(frozen=True)
class ThreadScore:
    """How one extraction of one thread scored.

    Attributes:
        id: The thread's id.
        produced: Items produced.
        claimed: Produced items that claimed exactly one expected item.
        expected: Items expected.
        greeting_free: Produced items that start without a greeting or filler.
        leaks: Produced items that carry a colleague's or bot's words.
        account_ok: Whether the account was right; ``None`` when not scored.
        problems: What went wrong, one line each.
    """

    id: str
    produced: int
    claimed: int
    expected: int
    greeting_free: int
    leaks: int
    account_ok: bool | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ExtractionReport:
    """Figures of an extractor on a labelled set.

    Attributes:
        threads: Threads scored.
        produced: Items produced in all.
        expected: Items expected in all.
        precision: Split precision (1.0 when nothing was produced).
        recall: Split recall (1.0 when nothing was expected).
        exact_count: Share of threads with the expected number of items.
        no_greeting: Share of produced items that start without greeting or filler.
        leaks: Produced items carrying a colleague's or bot's words.
        account_accuracy: Share of account-labelled threads with the right account,
            ``None`` when none is labelled.
        scores: Per-thread scores, in order.
    """

    threads: int
    produced: int
    expected: int
    precision: float
    recall: float
    exact_count: float
    no_greeting: float
    leaks: int
    account_accuracy: float | None
    scores: tuple[ThreadScore, ...]


def load_extraction_set(path: str | Path) -> tuple[LabelledThread, ...]:
    """Read a labelled set of threads (``extraction-eval/1`` JSON).

    Args:
        path: The JSON file.

    Returns:
        The threads, in file order.

    Raises:
        ValueError: The file is not an ``extraction-eval/1`` set.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{path}: not an {FORMAT} file (its 'format' field must say so)")
    return tuple(_thread(entry) for entry in raw["threads"])


def score_thread(thread: LabelledThread, extraction: Extraction) -> ThreadScore:
    """Score one extraction of ``thread`` (see the module docstring for the rules)."""
    foreign = _foreign_words(thread.messages)
    taken: set[int] = set()
    problems: list[str] = []
    claimed = leaks = 0
    for number, item in enumerate(extraction.items, 1):
        text = f"{item.summary}\n{item.quote}".lower()
        hits = [i for i, keys in enumerate(thread.expected) if all(k in text for k in keys)]
        leaked = sorted(foreign & set(_WORD.findall(_all_text(item).lower())))
        if leaked:
            leaks += 1
            problems.append(f"item {number} carries others' words {leaked}: {item.quote!r}")
        elif len(hits) == 1 and hits[0] not in taken:
            taken.add(hits[0])
            claimed += 1
        else:
            why = "duplicate" if hits and set(hits) <= taken else f"matches {len(hits)}"
            problems.append(f"item {number} {why}: {item.quote!r}")
    for i, keys in enumerate(thread.expected):
        if i not in taken:
            problems.append(f"missed {list(keys)}")
    account_ok = None
    if thread.known_accounts:
        account_ok = extraction.account == thread.account
        if not account_ok:
            problems.append(f"account {extraction.account!r}, expected {thread.account!r}")
    return ThreadScore(
        id=thread.id,
        produced=len(extraction.items),
        claimed=claimed,
        expected=len(thread.expected),
        greeting_free=sum(1 for item in extraction.items if not _greets(item)),
        leaks=leaks,
        account_ok=account_ok,
        problems=tuple(problems),
    )


def score_extractions(pairs: Iterable[tuple[LabelledThread, Extraction]]) -> ExtractionReport:
    """Score an extractor's answers on a labelled set.

    Args:
        pairs: Each labelled thread with the extraction produced for it.

    Returns:
        The report; see the module docstring for the definitions.
    """
    scores = tuple(score_thread(thread, extraction) for thread, extraction in pairs)
    produced = sum(s.produced for s in scores)
    expected = sum(s.expected for s in scores)
    accounts = [s.account_ok for s in scores if s.account_ok is not None]
    return ExtractionReport(
        threads=len(scores),
        produced=produced,
        expected=expected,
        precision=_ratio(sum(s.claimed for s in scores), produced),
        recall=_ratio(sum(s.claimed for s in scores), expected),
        exact_count=_ratio(sum(s.produced == s.expected for s in scores), len(scores)),
        no_greeting=_ratio(sum(s.greeting_free for s in scores), produced),
        leaks=sum(s.leaks for s in scores),
        account_accuracy=_ratio(sum(accounts), len(accounts)) if accounts else None,
        scores=scores,
    )


def _thread(entry: dict[str, Any]) -> LabelledThread:
    return LabelledThread(
        id=str(entry["id"]),
        messages=tuple(
            ThreadMessage(m["author"], m["text"], m.get("role", "customer"))
            for m in entry["messages"]
        ),
        expected=tuple(tuple(k.lower() for k in e["keywords"]) for e in entry["expected"]),
        known_accounts=tuple(entry.get("known_accounts", ())),
        account=entry.get("account"),
        note=str(entry.get("note", "")),
        split=str(entry.get("split", "dev")),
    )


def _foreign_words(messages: Sequence[ThreadMessage]) -> set[str]:
    """Words only colleagues or bots used: an item carrying one took their words."""
    customer: set[str] = set()
    others: set[str] = set()
    for message in messages:
        found = set(_WORD.findall(message.text.lower()))
        (customer if message.role == "customer" else others).update(found)
    return {w for w in others - customer if len(w) >= 4 and w not in _COMMON}


def _all_text(item: ExtractedItem) -> str:
    return f"{item.summary}\n{item.quote}\n{item.pain}"


def _greets(item: ExtractedItem) -> bool:
    return bool(_GREETING.match(item.summary) or _GREETING.match(item.quote))


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0
