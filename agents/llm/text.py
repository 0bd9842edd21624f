"""Plain-text helpers of the offline fallbacks: Slack markup, sentences, cues, limits.

Everything here is deterministic and needs nothing beyond the standard library.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = [
    "Severity",
    "clean_slack_text",
    "clip",
    "extractive_summary",
    "find_account",
    "find_links",
    "guess_severity",
    "sanitize_output",
    "sentences",
    "slack_escape",
    "words",
]

Severity = Literal["low", "medium", "high"]

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(\w+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?>")
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NUMBER_EMOJI = re.compile(rf":({'|'.join(_NUMBERS)}|keycap_ten):")
_EMOJI = re.compile(r":(?:[a-z][a-z0-9_+\-']*|[+-]1):(?::skin-tone-\d:)?")
_EMOJI_BULLET = re.compile(r"^([ \t]*):[a-z0-9_+\-']+:[ \t]*(?=\S)", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[*•◦▪]\s+(?=\S)", re.MULTILINE)
_FORMATTING = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z\s])|\n+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_URL = re.compile(r"(?<![\w.])(?:https?://|ftp://|mailto:|www\.)[^\s|>]+", re.IGNORECASE)
_BROADCAST = re.compile(r"<!(?:channel|here|everyone|subteam\^[^>]*)(?:\|[^>]*)?>|<[@#][^>]*>")

_STOPWORD_TEXT = (
    "a an and are as at be been but by can could do does for from had has have hi hello "
    "how i if in into is it its just me my of on or our so that the their them then "
    "there these they this to too us was we were what when which who will with would "
    "you your thanks thank please hey ok okay yes no"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_PAIN_CUES = (
    "need",
    "needs",
    "want",
    "wants",
    "wish",
    "would like",
    "can't",
    "cannot",
    "can not",
    "unable",
    "missing",
    "lack",
    "broken",
    "doesn't",
    "does not",
    "don't",
    "not working",
    "blocked",
    "blocking",
    "problem",
    "issue",
    "error",
    "fail",
    "slow",
    "hard to",
    "confusing",
    "frustrat",
    "workaround",
    "support for",
    "ability to",
    "no way to",
)
_HIGH_CUES = (
    "blocker",
    "blocking",
    "blocked",
    "dealbreaker",
    "deal breaker",
    "deal-breaker",
    "churn",
    "cancel",
    "outage",
    "is down",
    "urgent",
    "asap",
    "critical",
    "escalat",
    "data loss",
    "losing data",
    "lost data",
    "loses data",
    "silently drop",
    "security risk",
    "vulnerab",
    "renewal",
    "at risk",
    "can't use",
    "cannot use",
    "unusable",
    "production is",
    "showstopper",
)
_MEDIUM_CUES = (
    "broken",
    "bug",
    "error",
    "fail",
    "slow",
    "frustrat",
    "annoying",
    "workaround",
    "can't",
    "cannot",
    "unable",
    "doesn't work",
    "not working",
    "painful",
    "confusing",
    "crash",
    "drops",
    "dropped",
    "duplicat",
    "missing",
    "wrong",
    "incorrect",
    "times out",
    "timing out",
)
_CHATTER = re.compile(r"^(?:\+1|thanks?( you)?|ty|ok(ay)?|cc\b|lgtm|same here)\W*", re.I)


def clean_slack_text(text: str) -> str:
    """Turn Slack mrkdwn into plain text.

    Mentions become ``@name`` (or ``@someone``), ``<url|label>`` becomes ``label``,
    ``<url>`` the URL, ``<#C1|general>`` ``#general``; a ``* item`` line becomes
    ``• item``, ``:one:`` ``1.``, and emoji leading two or more lines bullets; other emoji
    codes, bold/italic/strike markers and HTML entities are removed or decoded, and
    spaces are collapsed.

    Args:
        text: A Slack message text.

    Returns:
        Plain text, stripped.
    """
    text = _USER.sub(lambda m: f"@{m.group(2) or 'someone'}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1) or 'channel'}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _NUMBER_EMOJI.sub(lambda m: f" {_emoji_number(m.group(1))}. ", text)
    if len(_EMOJI_BULLET.findall(text)) >= 2:  # lines led by emoji: a list
        text = _EMOJI_BULLET.sub(r"\1• ", text)
    text = _EMOJI.sub("", text)
    text = _BULLET.sub(r"\1• ", text)  # a "* item" line is a bullet, not emphasis
    text = _FORMATTING.sub("", text)
    text = html.unescape(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _emoji_number(name: str) -> int:
    return 10 if name == "keycap_ten" else _NUMBERS.index(name) + 1


def clip(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Shorten ``text`` to at most ``limit`` characters, at a word boundary if possible.

    Args:
        text: The text.
        limit: Maximum length of the result, ellipsis included.
        ellipsis: Appended when the text was cut.

    Returns:
        ``text`` itself when short enough, else a cut version ending in ``ellipsis``.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    room = max(0, limit - len(ellipsis))
    cut = text[:room]
    space = cut.rfind(" ")
    if space > room * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ellipsis


def words(text: str) -> list[str]:
    """Lower-cased content words of ``text`` (stop words removed)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def sentences(text: str) -> list[str]:
    """Split plain text into sentences (and lines), dropping empty pieces."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def extractive_summary(texts: Sequence[str], *, max_sentences: int = 2, limit: int = 300) -> str:
    """Pick the most informative sentences of a conversation, in their original order.

    A sentence scores by how central its words are to the whole conversation, by
    pain cues ("can't", "need", "broken"...), and slightly by earliness; greetings and
    "+1" chatter score nothing.

    Args:
        texts: Plain texts (cleaned of Slack markup), first message first.
        max_sentences: How many sentences to keep.
        limit: Maximum length of the summary in characters.

    Returns:
        The summary, or ``""`` when there is no text.
    """
    pool = [s for text in texts for s in sentences(text)]
    if not pool:
        return ""
    frequency = Counter(w for s in pool for w in set(words(s)))
    scores = [_score(sentence, frequency, pos) for pos, sentence in enumerate(pool)]
    ranked = sorted(range(len(pool)), key=lambda pos: (-scores[pos], pos))
    best = [pos for pos in ranked[:max_sentences] if scores[pos] > 0] or [0]
    return clip(" ".join(pool[pos] for pos in sorted(best)), limit)


def _score(sentence: str, frequency: Counter[str], position: int) -> float:
    if _CHATTER.match(sentence) and len(words(sentence)) < 4:
        return 0.0
    content = words(sentence)
    if not content:
        return 0.0
    centrality = sum(frequency[w] for w in set(content)) / math.sqrt(len(set(content)))
    lowered = sentence.lower()
    cues = sum(1 for cue in _PAIN_CUES if cue in lowered)
    length_penalty = 0.5 if len(content) < 3 else 1.0
    return (centrality + 2.0 * cues) * length_penalty / (1.0 + 0.05 * position)


def guess_severity(text: str) -> Severity:
    """Guess severity from simple cues: blockers and churn are high, friction medium.

    Args:
        text: Plain text of the feedback.

    Returns:
        ``"high"``, ``"medium"`` or ``"low"``.
    """
    lowered = text.lower()
    if any(cue in lowered for cue in _HIGH_CUES):
        return "high"
    if any(cue in lowered for cue in _MEDIUM_CUES):
        return "medium"
    return "low"


def find_account(text: str, accounts: Iterable[str]) -> str | None:
    """Find the known account named most often in ``text`` (whole words, any case).

    Args:
        text: Plain text to search.
        accounts: Known account names.

    Returns:
        The account name as given, or ``None`` when none is mentioned.
    """
    best: tuple[int, int, str] | None = None
    for account in accounts:
        name = account.strip()
        if not name:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
        hits = pattern.findall(text)
        if hits and (best is None or (len(hits), len(name)) > best[:2]):
            best = (len(hits), len(name), account)
    return best[2] if best else None


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so text shows literally in Slack mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sanitize_output(text: str) -> str:
    """Remove broadcast mentions and user/channel tags from model-written Slack text."""
    return _SPACES.sub(" ", _BROADCAST.sub("", text)).strip()


def find_links(text: str) -> set[str]:
    """The URLs in ``text`` (plain or inside Slack ``<url|label>``), trailing punctuation cut."""
    return {url.rstrip(".,;:!?)") for url in _URL.findall(text)}
