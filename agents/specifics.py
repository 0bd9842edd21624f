"""The specifics guard: no automatic link to a request that names something else.

Embeddings read "Upgrade Netty to 4.1.77" and "Upgrade Netty to 4.1.89" as nearly the
same sentence, yet they are two requests. Before a ``link``, :func:`compare` looks at
what the feedback and the candidate's best-matching text name *specifically*, each
specific of one of three kinds:

- ``number``: versions and numbers: ``4.1.77``, ``v2``, ``#1234``, ``3D``, ``2022``;
- ``identifier``: ``dotted.names``, ``snake_case``, ``paths/like/this``,
  ``Class::method``, ``call()``, hyphenated component names (``jackson-databind``,
  ``HADOOP-1234``) and ``[tags]``;
- ``name``: capitalised product or vendor names (``Netty``, ``Apple Pay``; at the start
  of a sentence too, unless the word is a common English word: "Okta SSO" names Okta,
  "Customers want" names nothing), ``CamelCase`` (``HubSpot``, ``iOS``,
  ``FooBarService``), acronyms (``SSO``), ``C++``, and words with digits (``IPv6``,
  ``S3``).

Not specifics, because two reports of the same pain vary in them or they name nothing:
Slack mentions, channels and links, URLs, e-mail addresses and emoji codes; greetings
and sign-offs ("Hi @Sam", "Thanks, Bob", "Sent from my iPhone"); amounts, dates, times,
quarters and priorities (``Q1 2025``, ``P1``); business shorthand (``ETA``, ``EOD``,
``TBD``, ``FYI``); quantities and counts (``30s``, ``10 MB``, ``40 agents``, ``2-3
deals``, ``1000+ users``, but not "Chrome 120 crashes"); everyday compounds
(``built-in``, ``multi-currency``); SHOUTED TEXT; in Title Case Text, capitalised
common words ("Missing Sort Arrows In Column Headers" names nothing; "... In Hadoop"
names Hadoop). Emoji end a sentence.

The rule: every specific of the candidate's first sentence (a request's title; the
first sentence of feedback already linked to it) must be named by the feedback. A
specific only the feedback names stops a link only when it conflicts, that is when the
candidate names a specific of the same kind that the feedback does not ("4.1.77"
against "4.1.89"), and that candidate specific stops it anyway. So "We need PDF export,
thanks Bob" links to "Export dashboards to PDF" and "Deploy on Kubernetes 1.29" to
"Deploy on Kubernetes", but "Upgrade Netty to 4.1.77" does not link to "Upgrade Netty
to 4.1.89", nor "Okta SSO" to "Azure SSO". The :class:`Mismatch` lists the candidate's
specifics the feedback does not name and the feedback's own of the same kinds, and its
``str`` says what differs ("4.1.77 vs 4.1.89").

A specific is named by a text when its letters and digits, without case and punctuation,
are spelled there by one to eight consecutive words (digits and letters count as words
of their own): ``jackson-databind`` by "Jackson Databind", ``Wi-Fi`` by "WiFi",
``Java17`` by "Java 17", ``OAuth 2.0`` by "OAuth2" (a version's trailing ``.0`` does not
count), ``Salesforce’s`` by "Salesforce", ``C++`` by "c++" but not by "C#"; a name by
its plural or singular ("Google Sheet", "Google Sheets"); an acronym by its words'
initials ("SSO", "single sign-on"). ``4.1.7`` is not named by "4.1.77".

Pure Python (``re`` only). Time is linear in the text (no pattern backtracks beyond a
few characters, and spans are tracked in a byte array), and :func:`compare` reads at
most :data:`LIMIT` characters of each side: about 0.1 ms for a paragraph. ::

    >>> str(compare("Upgrade Netty to 4.1.77", "Upgrade Netty to 4.1.89"))
    '4.1.77 vs 4.1.89'
    >>> compare("bump the netty dependency to 4.1.77", "Upgrade Netty to 4.1.77") is None
    True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, cast

from agents._words import (
    BUSINESS,
    COMMON_COMPOUNDS,
    COMMON_WORDS,
    COMPOUND_PREFIXES,
    COMPOUND_SUFFIXES,
    FUNCTION_WORDS,
    NOT_NAMES,
    NOT_PLURALS,
    NOT_SPECIFIC,
    TINY_WORDS,
    VERSION_WORDS,
)

__all__ = ["LIMIT", "Mismatch", "compare", "key", "names", "specifics"]

Kind = Literal["number", "identifier", "name"]
_KINDS: frozenset[Kind] = frozenset(("number", "identifier", "name"))

LIMIT = 1500
"""Characters of each text that :func:`compare` reads: specifics come early, and a
pasted log must not cost more than a paragraph."""
SHOWN = 3
"""Specifics named per side in a reason; the rest are counted ("and 4 more")."""
SHOWN_CHARS = 40
"""A specific longer than this is cut in a reason."""
_MAX_JOIN = 8
"""A specific may be spelled over at most this many words of the other text."""
_LOOK_BACK = 8
"""Characters looked at before a word to tell whether a sentence starts there."""


@dataclass(frozen=True)
class Mismatch:
    """What one text names specifically and the other does not.

    Attributes:
        feedback_only: Specifics of the feedback the candidate does not name, of the
            kinds the candidate names and the feedback does not, as written.
        candidate_only: Specifics of the candidate's title the feedback does not name.
    """

    feedback_only: tuple[str, ...]
    candidate_only: tuple[str, ...]

    def __str__(self) -> str:
        return f"{_listed(self.feedback_only)} vs {_listed(self.candidate_only)}"

    @property
    def reason(self) -> str:
        """A sentence for a person: what differs, at most :data:`SHOWN` specifics a side.

        Each specific is shown as code (between backticks), so that Slack shows the
        customer's ``*``, ``_`` and ``~`` as written instead of formatting them.
        """
        left = _listed(self.feedback_only, code=True)
        right = _listed(self.candidate_only, code=True)
        if self.feedback_only and self.candidate_only:
            return f"They name different specifics: {left} vs {right}."
        if self.feedback_only:
            return f"The feedback names {left}; the request does not."
        return f"The request names {right}; the feedback does not."


def _listed(found: tuple[str, ...], *, code: bool = False) -> str:
    """``a, b, c and 2 more``: the first :data:`SHOWN`, each cut to :data:`SHOWN_CHARS`."""
    if not found:
        return "nothing"
    shown = []
    for specific in found[:SHOWN]:
        text = " ".join(specific.split()).replace("`", "'")
        text = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
        shown.append(f"`{text}`" if code else text)
    more = len(found) - SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# --- what a specific is -----------------------------------------------------------------

_UNITS = (
    r"(?i:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|mos?|years?|"
    r"yrs?|times|bn|%|percent|pct|ms|kb|mb|gb|tb|kib|mib|gib|tib|px|pt|em|dollars?|usd|eur|"
    r"euros?|gbp|pounds?|cents?|am|pm|st|nd|rd|th)|[shdmkxKM]"
)
"""Units after a number make a quantity; single letters only as written: 3d, not 3D."""
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_GREETING = (
    r"hi|hello|hey|dear|thanks|thank\s+you|thx|ty|cheers|regards|kind\s+regards|"
    r"best\s+regards|many\s+thanks"
)
_NAME_WORD = r"@?[A-Z][\w'’.-]*+(?:[ ][A-Z][\w'’-]*+)?"
_IGNORED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (triggers, re.compile(pattern))
    for triggers, pattern in (
        ("<", r"<[@#!][^<>\n]{0,200}>|<(?:https?|mailto):[^<>\n]{0,1000}>"),  # Slack markup
        ("http|www.", r"\b(?:https?://|www\.)[^\s<>]++"),  # links
        ("@", r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++"),  # e-mail addresses
        ("@", r"(?<![\w@])@[\w.-]++"),  # @mentions
        (":", r":[a-z0-9_+'-]{1,40}:"),  # emoji codes
        # Hi Sam, Thanks Bob (the look-ahead lets the engine skip to a possible first letter)
        ("", rf"(?=[HhDdTtCcRrKkBbMm])(?i:\b(?:{_GREETING}))\b[\s,!.:;–—-]{{0,3}}{_NAME_WORD}"),
        ("best", rf"(?i:\bbest)\s*,\s*{_NAME_WORD}"),  # Best, Bob
        ("sent", r"(?i:\bsent\s+from\s+my\b)[^\n.!?]{0,30}"),  # Sent from my iPhone
        (  # amounts: $20, £1,200.50, 20€
            "$|£|€|¥",
            r"[$£€¥]\s?\d[\d,]*+(?:\.\d+)?[kKmM]?|(?<![\w.,])\d[\d,]*+(?:\.\d+)?\s?[$£€¥]",
        ),
        (
            "0|1|2|3|4|5|6|7|8|9",
            r"(?=\d)(?<![\w.,])(?:"
            r"\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b"  # dates: 12/05/2024, 2024-05-12
            r"|\d{1,2}:\d{2}(?::\d{2})?\b"  # times: 10:30
            rf"|(?i:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH})\b(?:\s+\d{{4}}\b)?)"  # 5 May
            rf"|\d[\d,]*+(?:\.\d+)?\+?\s?(?:{_UNITS})(?!\w)"  # quantities: 30s, 10 MB
            r")",
        ),
        (
            "0|1|2|3|4|5|6|7|8|9",
            r"(?=[JjFfMmAaSsOoNnDdQqHhPp])(?:"
            rf"(?i:\b(?:{_MONTH})\.?\s+\d{{1,4}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?)"  # May 5
            r"|(?i:\b(?:[QH][1-4]|P[0-4]|sev\s?[0-4]|FY\s?'?\d{2,4})\b(?:\s+'?\d{2,4}\b)?)"
            r")",
        ),
    )
)
"""Spans that are never specifics (module docstring), each pass run only when the
lowercased text holds one of its triggers (``|``-separated; none: always)."""
_COUNT = re.compile(
    r"(?=\d)(?<![\w.,#$£€¥-])\d[\d,]*+(?:\s?[-–]\s?\d[\d,]*+)?\+?\s+([a-z]{2,}s|people|staff|folks)\b"
)
"""A number before a plural noun: "40 agents", "2-3 deals", "1000+ users"."""
_NAME_BEFORE = re.compile(r"\b([A-Za-z][\w+#]*+|v)[ ]$", re.IGNORECASE)
_SHOUTING = re.compile(r"(?=[A-Z])\b[A-Z]{2,}+(?:[^\w\n]++[A-Z]++\b){2,}")
"""Three or more capitalised words in a row: shouted if any is a common word."""
_HYPHENATED = re.compile(r"\b[A-Za-z][A-Za-z0-9]*+(?:-[A-Za-z0-9]++)++")
_PATTERNS: tuple[tuple[str, re.Pattern[str], Kind], ...] = tuple(
    (triggers, re.compile(pattern), cast("Kind", kind))
    for triggers, pattern, kind in (
        ("[", r"\[[^\[\]\n]{1,40}\]", "identifier"),  # [tags]
        ("+|#", r"(?<![\w#+])[A-Za-z](?:\+\+|#)(?![\w#+])", "name"),  # C++, C#, F#
        # paths: a/b, /a/b, C:\a\b (at least two parts, one of them a letter)
        (
            "/|\\",
            r"(?<![\w/.\\-])(?:[A-Za-z]:)?[/\\]?(?:(?>[\w.-]+)[/\\])+(?>[\w.-]+)",
            "identifier",
        ),
        (":", r"(?<![\w:])\w++(?:::\w++)++(?:\(\))?", "identifier"),  # Class::method
        # call syntax: name(), obj.name(args)
        ("(", r"(?<![\w.])[A-Za-z_]\w*+(?:\(\)|(?:\.\w++)++\([^()\n]{0,30}\))", "identifier"),
        (".", r"(?<![\w.])[A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)++", "identifier"),  # org.apache
        ("_", r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b", "identifier"),  # snake_case
        # CamelCase: JavaKeyStoreProvider, iPhone, MiniYARNCluster, getValue
        (
            "",
            r"\b(?:[A-Z][a-z0-9]++(?:[A-Z][A-Za-z0-9]*+)++|[a-z]++[A-Z][A-Za-z0-9]*+)\b",
            "name",  # HubSpot and iOS as much as FooBarService: paired with names
        ),
        (".", r"(?=[vV\d])\b[vV]?\d+(?:\.\d+)+(?!\d)", "number"),  # versions: 4.1.77, v2.3
        ("#", r"(?<![\w#])#\d+\b", "number"),  # #1234
    )
)
"""Identifiers and versions, in this order, each run only when the text holds one of
its triggers (as :data:`_IGNORED`)."""
_CAPITALISED = re.compile(r"(?=[A-Z])\b[A-Z][A-Za-z0-9&]*+(?:['’][A-Za-z]+)?")
_LATE = re.compile(
    r"(?P<acronym>\b[A-Z]{2,}[0-9]*(?=s?\b))"  # SSO; ATMs names ATM
    r"|(?P<digits>\b(?=[A-Za-z]*+\d)(?=\d*+[A-Za-z])[A-Za-z0-9]{2,}+\b)"  # IPv6, S3, 2FA
    r"|(?P<number>(?<![\w.,$£€¥#])\d+(?![\w.,]?\d))"
)
"""Acronyms, words with digits and numbers: what is left once the rest is taken."""
_DIGIT = re.compile(r"\d")
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}[0-9]*s")
_MISSING_SPACE = re.compile(r"[a-z]+\.[A-Z][a-z]+")
"""``bad.This``: two sentences without a space, not a dotted identifier."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*")
_TWO_LETTERS = re.compile("[A-Za-z]{2}")
_SENTENCE_END = frozenset(".!?:;\n•*>\"“”'‘«([{…")


@dataclass(frozen=True)
class _Found:
    start: int
    kind: Kind
    text: str
    key: str


class _Spans:
    """Which characters of a text are taken: a byte per character, so checks are cheap."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.taken = bytearray(len(text))
        self.found: list[_Found] = []

    def free(self, start: int, end: int) -> bool:
        return self.taken.find(1, start, end) == -1

    def reserve(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def take(self, start: int, end: int, kind: Kind) -> None:
        if end <= start or self.taken.find(1, start, end) != -1:
            return
        written = self.text[start:end]
        k = key(written)
        if not k or k in NOT_SPECIFIC:
            return
        if "." in written and _MISSING_SPACE.fullmatch(written):
            return
        if ("/" in written or "\\" in written) and not _TWO_LETTERS.search(written):
            return  # dates and fractions: 12/05/2024, 1/2
        self.reserve(start, end)
        self.found.append(_Found(start, kind, written, k))


def key(specific: str) -> str:
    """A specific without case and punctuation: ``Jackson-Databind`` -> ``jacksondatabind``.

    A possessive, a version's trailing ``.0`` and the signs of ``C++`` and ``C#`` are
    read first: ``OAuth 2.0`` -> ``oauth2``, ``Salesforce’s`` -> ``salesforce``, ``C#``
    -> ``csharp``.

    Args:
        specific: A specific, as written.

    Returns:
        Its lowercase letters and digits.
    """
    return "".join(_TOKEN.findall(_normalised(specific)))


_TOKEN = re.compile(r"[a-z]+|[0-9]+")
_POSSESSIVE = re.compile(r"['’]s\b")
_PLUS_PLUS = re.compile(r"(?<![a-z0-9])([a-z])\+\+")
_SHARP = re.compile(r"(?<![a-z0-9])([a-z])#")
_TRAILING_ZEROS = re.compile(r"(\d)(?:\.0)+(?!\.?\d)")
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def _normalised(text: str) -> str:
    """Lowercase; a possessive, a version's trailing ``.0``, ``C++``/``C#`` read; the dots
    of a version dropped, so that it stays one word (``1.1`` is not named by ``1.1.1``)."""
    text = text.lower()
    if "'" in text or "’" in text:
        text = _POSSESSIVE.sub("", text)
    if "+" in text:
        text = _PLUS_PLUS.sub(r"\1pp", text)
    if "#" in text:
        text = _SHARP.sub(r"\1sharp", text)
    if "." in text:
        text = _VERSION_DOT.sub("", _TRAILING_ZEROS.sub(r"\1", text))
    return text


def specifics(text: str) -> tuple[str, ...]:
    """The specific things a text names, as written, in order of appearance, once each.

    Args:
        text: Any text (feedback, a request's title or description).

    Returns:
        The specifics (module docstring), deduplicated by :func:`key`.
    """
    return tuple(found.text for found in _find(text))


def _find(text: str, kinds: frozenset[Kind] = _KINDS) -> list[_Found]:
    """The specifics of ``text``; without ``"name"`` in ``kinds``, names are not looked for
    (numbers and identifiers come out the same either way)."""
    spans = _Spans(text)
    lower = text.lower()
    for triggers, pattern in _IGNORED:
        if _triggered(triggers, lower):
            for m in pattern.finditer(text):
                spans.reserve(*m.span())
    if _DIGIT.search(text) is not None:
        _reserve_counts(text, spans)
    _reserve_shouting(text, spans)
    for triggers, pattern, kind in _PATTERNS:
        if _triggered(triggers, lower):
            for m in pattern.finditer(text):
                spans.take(m.start(), m.end(), kind)
    if "-" in text:
        _take_hyphenated(text, spans)
    if "name" in kinds:
        _take_names(text, spans, title_case=_title_case(text))
    for m in _LATE.finditer(text):
        word = m.group()
        if m.lastgroup == "acronym":
            if not _shouted(word.lower()):
                spans.take(m.start(), m.end(), "name")
        elif m.lastgroup == "digits":
            digit_first = word[0].isdigit() or word[0] in "vV"
            spans.take(m.start(), m.end(), "number" if digit_first else "name")
        else:
            spans.take(m.start(), m.end(), "number")
    seen: set[str] = set()
    result = []
    for found in sorted(spans.found, key=lambda f: f.start):
        if found.key not in seen:
            seen.add(found.key)
            result.append(found)
    return result


def _triggered(triggers: str, lower: str) -> bool:
    return not triggers or any(t in lower for t in triggers.split("|"))


def _reserve_counts(text: str, spans: _Spans) -> None:
    """Counts ("40 agents"), unless a name or a word like "version" comes first."""
    for m in _COUNT.finditer(text):
        if m.group(1) in NOT_PLURALS:
            continue
        before = _NAME_BEFORE.search(text, max(0, m.start() - 30), m.start())
        if before is not None:
            word = before.group(1)
            if word.lower() in VERSION_WORDS:
                continue
            if word[0].isupper() and word.lower() not in FUNCTION_WORDS:
                continue  # Chrome 120 crashes, Python 3 docs
        spans.reserve(m.start(), m.end(1))


def _reserve_shouting(text: str, spans: _Spans) -> None:
    for m in _SHOUTING.finditer(text):
        words = re.findall(r"[A-Z]+", m.group())
        if any(_shouted(word.lower()) for word in words):
            spans.reserve(*m.span())


def _take_hyphenated(text: str, spans: _Spans) -> None:
    """Component names ("jackson-databind"), not everyday compounds ("built-in")."""
    for m in _HYPHENATED.finditer(text):
        parts = m.group().split("-")
        lower = [p.lower() for p in parts]
        if "-".join(lower) in COMMON_COMPOUNDS or lower[0] in COMPOUND_PREFIXES:
            spans.reserve(*m.span())
            continue
        while len(parts) > 1 and parts[-1].lower() in COMPOUND_SUFFIXES:
            parts.pop()  # Okta-based: Okta
        end = m.start() + len("-".join(parts))
        if len(parts) > 1:
            spans.take(m.start(), end, "identifier")
        spans.reserve(end, m.end())


def _take_names(text: str, spans: _Spans, *, title_case: bool) -> None:
    """Runs of capitalised words, neighbours joined: "Apple Pay", "Okta SSO", "Netty".

    In Title Case Text every word reads as a sentence start: common words are skipped.
    """
    run: list[int] = []  # [start, end] of the run being read, empty between runs
    for m in _CAPITALISED.finditer(text):
        start, end = m.span()
        word = m.group()
        possessive = False
        if "'" in word or "’" in word:
            base, _, tail = word.replace("’", "'").partition("'")
            word, end, possessive = base, start + len(base), tail.lower() == "s"
            if not possessive:  # a contraction: Don't, I'm
                run = _taken(run, spans)
                continue
        if not _name_like(text, start, end, word, spans, title_case):
            run = _taken(run, spans)
            continue
        if _PLURAL_ACRONYM.fullmatch(word):
            end -= 1  # ATMs: ATM
        if run and text[run[1] : start] == " ":
            run[1] = end
        else:
            _taken(run, spans)
            run = [start, end]
        if possessive:  # Salesforce's Lightning UI: two names
            run = _taken(run, spans)
    _taken(run, spans)


def _taken(run: list[int], spans: _Spans) -> list[int]:
    """Take a finished run of capitalised words as a name; returns the next (empty) run."""
    if run:
        spans.take(run[0], run[1], "name")
    return []


def _name_like(text: str, start: int, end: int, word: str, spans: _Spans, title_case: bool) -> bool:
    lower = word.lower()
    if len(word) < 2 or lower in NOT_NAMES or not spans.free(start, end):
        return False
    if word.isupper() and _shouted(lower):
        return False  # PLEASE, THANKS
    return not ((title_case or _sentence_start(text, start)) and _common(lower))


def _shouted(word: str) -> bool:
    """A capitalised common word (PLEASE, OK) or business shorthand (ETA), not an
    acronym; two letters are acronyms (AD, UI, IT) unless a tiny word."""
    if word in BUSINESS:
        return True
    return word in TINY_WORDS if len(word) < 3 else _common(word)


def _common(word: str) -> bool:
    """A common English word, or one of its plural, past or -ing forms."""
    if word in COMMON_WORDS:
        return True
    for suffix, stems in (("ies", ("y",)), ("es", ("",)), ("s", ("",)), ("ed", ("", "e")),
                          ("ing", ("", "e")), ("ly", ("",))):  # fmt: skip
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            for end in stems:
                if stem + end in COMMON_WORDS:
                    return True
            doubled = len(stem) > 2 and stem[-1] == stem[-2]
            if suffix in ("ed", "ing") and doubled and stem[:-1] in COMMON_WORDS:
                return True  # stopped, adding
    return False


def _sentence_start(text: str, start: int) -> bool:
    """Whether a sentence starts at ``start``: looks back at most :data:`_LOOK_BACK` chars."""
    i, stop = start - 1, max(-1, start - _LOOK_BACK - 1)
    while i > stop and text[i] in " \t\r\ufe0f\u200d":
        i -= 1
    if i < 0 or i == stop:
        return True
    ch = text[i]
    if ch in _SENTENCE_END:
        return True
    if ch in "-–—" and (i == 0 or text[i - 1].isspace()):
        return True  # a list item
    return unicodedata.category(ch) in ("So", "Sk", "Cs")  # an emoji ends a sentence


def _title_case(text: str) -> bool:
    """Most words capitalised ("Missing Sort Arrows In Column Headers"): caps say nothing."""
    words: list[str] = [w for w in _WORD.findall(text) if len(w) > 3][1:]  # first: always
    if len(words) < 3:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised >= 0.75 * len(words)


# --- naming and comparing ---------------------------------------------------------------


class _Words:
    """A text's words glued together, and where each word starts, to find spelled keys."""

    def __init__(self, text: str) -> None:
        tokens = _TOKEN.findall(_normalised(text))
        self.glued = "".join(tokens)
        self.word_at = [-1] * (len(self.glued) + 1)
        position = 0
        for i, token in enumerate(tokens):
            self.word_at[position] = i
            position += len(token)
        self.word_at[position] = len(tokens)
        self.initials = "".join(token[0] for token in tokens)

    def spells(self, k: str) -> bool:
        """``k`` is spelled by 1 to :data:`_MAX_JOIN` consecutive words."""
        at = self.glued.find(k)
        while at != -1:
            first, last = self.word_at[at], self.word_at[at + len(k)]
            if first >= 0 and last >= 0 and last - first <= _MAX_JOIN:
                return True
            at = self.glued.find(k, at + 1)
        return False

    def names(self, specific: str, kind: Kind, k: str | None = None) -> bool:
        """As written, as a plural (a name: or singular), or (an acronym) by initials."""
        k = key(specific) if k is None else k
        if not k or self.spells(k) or (kind != "number" and self.spells(k + "s")):
            return True
        if kind != "name":
            return False
        if self.spells(k + "es") or (k.endswith("s") and self.spells(k[:-1])):
            return True
        if " " in specific.strip():  # SAML2 SSO is named by "SSO via SAML 2.0"
            return all(self.names(word, "name") for word in specific.split())
        return bool(_ACRONYM.fullmatch(specific)) and k in self.initials


def _kind_of(specific: str) -> Kind:
    if any(c.isdigit() for c in specific) and not specific[0].isalpha():
        return "number"
    if re.search(r"[._/\\:()\[\]-]|[a-z][A-Z]", specific):
        return "identifier"
    return "name"


def names(text: str, specific: str) -> bool:
    """Whether ``text`` names ``specific``: its key spelled by one or more consecutive words.

    Args:
        text: The text to look in.
        specific: A specific, as :func:`specifics` returns it.

    Returns:
        ``True`` when, without case and punctuation, some run of up to eight
        consecutive words of ``text`` reads as ``specific`` (or as its plural; a name's
        singular too; an acronym's initials).
    """
    return _Words(text).names(specific, _kind_of(specific))


def compare(feedback: str, candidate: str) -> Mismatch | None:
    """Check that the feedback names what the candidate names (the rule: module docstring).

    Args:
        feedback: The incoming feedback (its first :data:`LIMIT` characters count).
        candidate: The candidate request's best-matching text: its title and
            description, or feedback already linked to it (first :data:`LIMIT` too).

    Returns:
        ``None`` when nothing stops a link, else the :class:`Mismatch`.
    """
    feedback, candidate = feedback[:LIMIT], candidate[:LIMIT]
    in_title = _find(_first_sentence(candidate.strip().split("\n", 1)[0]))
    if not in_title:
        return None
    said = _Words(feedback)
    candidate_only = [f for f in in_title if not said.names(f.text, f.kind, f.key)]
    if not candidate_only:
        return None
    kinds = frozenset(f.kind for f in candidate_only)
    offered = _Words(candidate)
    feedback_only = [
        f
        for f in _find(feedback, kinds)
        if f.kind in kinds and not offered.names(f.text, f.kind, f.key)
    ]
    return Mismatch(tuple(f.text for f in feedback_only), tuple(f.text for f in candidate_only))


def _first_sentence(text: str) -> str:
    match = re.search(r"[.!?](?:\s|$)", text)
    return text[: match.start() + 1] if match else text
