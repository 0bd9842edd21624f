"""Split a customer's Slack messages into distinct asks, offline, with plain-text rules.

The offline extraction (:func:`agents.llm.extract.fallback_extraction`) files one item
per ask. The rules, in order:

1. Each message is cut into *pieces*: list items (``1.``, ``b)``, ``-``, ``•``, inline
   ``1) … 2) …``, ``Two asks: X, and Y``), else sentences; a sentence is cut again
   before ``, and also`` / ``; also`` and a comma-led ``another thing`` or ``separately``.
   Slack quotes (``> …``) are context, never an ask.
2. From the start of a piece, greetings (``Hey team,``), mentions, openers (``quick
   one:``, ``heads up:``; ``Bug:`` and ``Feature idea:`` also mark an ask) and reply
   words (``Ok thanks,``, ``Yes,``, ``Thanks for the demo,``) are stripped, and so are
   cue words, remembered as *weak* (``also``, ``and``, ``secondly``) or *strong*
   (``another thing``, ``unrelated``, ``p.s.``).
3. A piece is *filler* when nothing is left, when it is a closer (``hope you're well``,
   ``let me know``) or praise, or when it opened with reply words and asks nothing
   new (``Yes exactly, that would solve it``). It is an *ask* when it carries a request
   or problem cue (``could we``, ``we'd love``, ``need``, ``doesn't``, ``times out``…),
   is a list item, follows a strong cue, or opens a message with a weak cue.
   Anything else is *context*.
4. A new ask starts at the first ask of a customer message, at a list item, at a cue
   (unless ``Also, it should…`` refers back), and at every ask after an announcement
   (``Found a few issues.``). A reply that asks (``ok, if it's US only that's a
   dealbreaker``) adds context to the previous ask unless it says ``also`` or
   ``another``, and so does a later message's ask that restates an earlier one (two
   content words in common, no cue). Context joins the open ask's quote; context before
   the first ask, a list's intro and replies go to the ask's ``context``.

Colleagues' and bots' messages never reach this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agents.llm.text import sentences, words

__all__ = ["Ask", "split_asks"]

Cue = Literal["none", "weak", "strong"]
Kind = Literal["ask", "context", "reply", "filler"]

_I = re.IGNORECASE
_LIST_ITEM = re.compile(
    r"^\s*(?:\d{1,2}[.)]|[a-h][.)]|[A-H]\)|\((?:\d{1,2}|[a-h])\)|[-•◦▪‣])\s+(?=\S)"
)
_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s))(\d{1,2})[.)]\s+(?=\S)")
_GREETING = re.compile(
    r"^(?:@[\w.\-]+[\s,:]*)*"
    r"(?:(?i:hey|hi|hello|hiya|howdy|yo|dear|greetings|good (?:morning|afternoon|evening|day)"
    r"|morning|afternoon|evening)\b"
    r"(?:\s+(?:(?i:team|all|everyone|everybody|folks|guys|there|y'all|friends|both)\b"
    r"|@[\w.\-]+|[A-Z][\w\-]*)){0,2}[\s!,.:;\-–—]*)?"
    r"(?:@[\w.\-]+[\s,:]*)*"
)
_OPENER = re.compile(
    r"^(?:(?:heads[- ]?up|fyi|as promised|as discussed)\b\s*[:,\-–—!]*"
    r"|sorry (?:to (?:bother|bug|ping)(?: you)?(?: again)?|for the (?:noise|ping))"
    r"[\s,.!]*(?:but\b)?"
    r"|(?:however|honestly|anyway|basically|so|well|also fyi)\s*,"
    r"|(?:quick (?:one|question|q|note|thing)|following up(?: on [^:,.!?]{1,60})?|question"
    r"|(?P<announce>(?:one|a|small|quick|tiny|little|another) (?:request|ask|suggestion)"
    r"(?: though)?|feature (?:request|idea)|bug report|bug|idea|suggestion|request))"
    r"\s*[:,\-–—!]+)\s*",
    _I,
)
_REPLY = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|yeah|yep|yup|sure|exactly|agreed|great|awesome|perfect|nice|cool"
    r"|amazing|sounds good|got it|noted|makes sense|same here|thanks|thank you|thx|ty"
    r"|cheers|much appreciated|appreciate it|\+1(?! (?:on|for)\b))"
    r"(?: please| so much| again| exactly| a lot)?(?![\w'])[\s,.!;:\-–—]*)+"
    r"(?:(?:for|to) [^,.!?]*[,.!?]*\s*)?",
    _I,
)
_STRONG_CUE = (
    r"another thing|one more thing|(?:and )?one last thing|unrelated(?:ly)?|separately"
    r"|on (?:a|another) (?:different|separate|unrelated|side) note|p\.?\s?s\.?|also unrelated"
    r"|side ?note|btw|by the way|while (?:you're|you are) at it"
)
_WEAK_CUE = (
    r"(?:and |oh and |oh,? )?also|oh and|and lastly|lastly|and finally|finally|additionally"
    r"|plus(?=,)|(?:first|second|third|fourth)(?:ly)?(?=\s*[,:])|(?:then|next)(?=,)|and(?=\s)"
)
_CUE = re.compile(rf"^(?:(?P<strong>{_STRONG_CUE})|(?P<weak>{_WEAK_CUE}))\b\s*[,:;.\-–—]*\s*", _I)
_INLINE_CUE = re.compile(
    rf"(?:,?\s+and also\s+|;\s*(?:and\s+)?also\s+|[,;]\s*(?:and\s+)?(?={_STRONG_CUE}\b))", _I
)
_CLOSER = re.compile(
    r"^(?:hope (?:you|all|everyone|things|the)\b|have a (?:good|great|nice|lovely)\b"
    r"|let me know\b|lmk\b|happy to (?:jump|hop|chat|help|walk|discuss|share)\b"
    r"|talk (?:soon|later|tomorrow|next)\b|speak soon\b|see you\b|thanks in advance\b"
    r"|many thanks\b|no worries\b"
    r"|(?:love|loving|really like|kudos|great job|nice work|well done)\b(?!.*\b(?:but|only"
    r"|though|however)\b))",
    _I,
)
_NEW_POINT = re.compile(r"\b(?:also|another|separately|as well|additionally)\b", _I)
_REQUEST = re.compile(
    r"\b(?:can|could|would|will)\s+(?:we|you|it|they|i|there|this|that|someone|users?|admins?"
    r"|managers?|guests?)\b"
    r"|^(?:can|could|would|will|is there|is it possible|are there|any (?:way|chance|plans?)"
    r"|do you (?:support|have|plan)|does (?:it|the \w+) support|when will|how (?:can|do) (?:we|i))"
    r"\b.*\?$"
    r"|\b(?:we|i|they|team|users|customers|people)(?:'d| would)(?: \w+ly)? (?:like|love|prefer"
    r"|appreciate)\b"
    r"|\bwould (?:\w+ly )?(?:love|like|appreciate)\b|^\+1 (?:on|for)\b"
    r"|\b(?:would|it'd|that'd) (?:be|make it) (?:so |really |very |super |extremely )?"
    r"(?:great|nice|good|helpful|useful|awesome|amazing|lovely|handy|ideal|easier|better)\b"
    r"(?! to (?:see|meet|catch|chat|talk|connect|hear))"
    r"|\bwould (?:really |greatly )?(?:help|save)\b|\bif (?:we|you|i) could\b"
    r"|(?<!\bno )\b(?:need|needs|require|requires|want|wants|wish|must|should)\b"
    r"|\b(?:please|pls|let us|support for|ability to|option to|(?:a|any) way to|possible to)\b"
    r"|\b(?:any (?:update|news|progress|eta)|roadmap|feature request)\b",
    _I,
)
_PROBLEM = re.compile(
    r"\b(?:can'?t|cannot|can not|couldn'?t|unable|doesn'?t|does not|don'?t|didn'?t|isn'?t"
    r"|won'?t|aren'?t|wasn'?t|not (?:possible|able|\w+ing)|no longer|never(?! mind)"
    r"|stop(?:s|ped)? \w+ing)\b"
    r"|\b(?:broken|bug|buggy|errors?|fail|fails|failed|failing|failure|crash(?:es|ed|ing)?"
    r"|missing|misses|lost|loses|drops?|dropped|wrong|incorrect|slow|sluggish|lag(?:gy)?"
    r"|times? out|timing out|timeouts?|stuck|duplicates?|ignores?|glitch\w*|outage|empty"
    r"|blank|twice"
    r"|disappear\w*|vanish\w*|too (?:short|long|slow|small|big|many|few|hard|low|high"
    r"|expensive|complex|complicated|limited|strict|granular)|hard to|difficult|confusing"
    r"|annoy\w*|frustrat\w*|painful|pain|struggl\w*|blocker|blocking|blocked|dealbreaker|still"
    r"|keeps? \w+ing)\b",
    _I,
)
_MULTI = (
    r"(?P<count>two|three|four|five|a few|a couple(?: of)?|couple of|several|some|\d) "
    r"(?:more |quick |small |big |main |new )?(?:things|requests|asks|issues|items|points|bugs"
    r"|ideas|suggestions|questions|problems|features)\b"
)
_ANNOUNCEMENT = re.compile(rf"\b{_MULTI}", _I)
_ANNOUNCED_LIST = re.compile(rf"^(?P<intro>[^:]*\b{_MULTI}[^:]*:)\s*(?P<rest>\S.*)$", _I)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5}
_ANAPHORA = re.compile(r"\b(?:it|this|that|these|those|them)\b", _I)
_TRAILING_EG = re.compile(r",?\s*\b(?:e\.g|i\.e|eg|ie)\.?\s*:?$", _I)
_PRONOUN_START = re.compile(r"^(?:it|they|this|that|these|those)\b(?! would| will|'d|'ll)", _I)


@dataclass(frozen=True)
class Ask:
    """One distinct ask of a customer, in the customer's words.

    Attributes:
        quote: The customer's words for this ask, greetings, filler and cue words removed.
        summary: The piece of ``quote`` that states the ask best (a request if any).
        context: The customer's words around it: a list's intro, context before the ask,
            or later replies that only add to it; may be empty.
    """

    quote: str
    summary: str
    context: str = ""


@dataclass
class _Piece:
    text: str
    cue: Cue = "none"
    listed: bool = False
    quoted: bool = False
    reply: bool = False
    intro: bool = False
    announces: bool = False
    kind: Kind = "context"


@dataclass
class _Draft:
    quote: list[_Piece] = field(default_factory=list)
    context: list[str] = field(default_factory=list)


def split_asks(messages: Sequence[str]) -> list[Ask]:
    """Split the customer's messages of a thread into distinct asks.

    Args:
        messages: The customer's messages in order, plain text (Slack markup cleaned).

    Returns:
        The asks in order of appearance; empty when the messages hold no ask.
    """
    drafts: list[_Draft] = []
    carried: list[str] = []  # context of earlier messages, waiting for the first ask
    for text in messages:
        carried = _group(_classified(text), drafts, carried)
    return [_ask(draft) for draft in drafts if draft.quote]


def _group(pieces: list[_Piece], drafts: list[_Draft], carried: list[str]) -> list[str]:
    current: _Draft | None = None
    pending: list[str] = []
    intro, enumerating = "", False
    for piece in pieces:
        if piece.intro:
            intro, enumerating = piece.text, enumerating or piece.announces
            continue
        repeated = _repeats(piece, drafts) if current is None else None
        if (piece.kind == "reply" and drafts and not _new_point(piece)) or repeated:
            (repeated or drafts[-1]).context.append(piece.text)  # "ok, a dealbreaker"
        elif piece.kind in ("ask", "reply") and (
            current is None or _starts_new(piece, enumerating)
        ):
            context = [*carried, *pending] + ([intro] if piece.listed or enumerating else [])
            current = _Draft([piece], context)
            drafts.append(current)
            carried, pending = [], []
        elif current is not None and piece.quoted:
            current.context.append(piece.text)
        elif current is not None:
            current.quote.append(piece)
        else:
            pending.append(piece.text)
    if current is None and pending:
        if drafts:  # a later message that only adds to the previous ask
            drafts[-1].context.extend(pending)
        else:
            carried = [*carried, *pending]
    return carried


def _new_point(piece: _Piece) -> bool:
    return piece.cue != "none" or _NEW_POINT.search(piece.text) is not None


def _repeats(piece: _Piece, drafts: Sequence[_Draft]) -> _Draft | None:
    """The earlier ask a cue-less ask of a later message restates, if any."""
    if piece.kind != "ask" or piece.listed or _new_point(piece):
        return None
    mine = {word for word in words(piece.text) if len(word) >= 4}
    for draft in reversed(drafts):
        theirs = {word for p in draft.quote for word in words(p.text) if len(word) >= 4}
        if len(mine & theirs) >= 2:
            return draft
    return None


def _starts_new(piece: _Piece, enumerating: bool) -> bool:
    if piece.listed or piece.cue == "strong":
        return True
    # "Also, it should hide billing details" refines the open ask; "Also, the export…" not.
    refers_back = _PRONOUN_START.match(piece.text) is not None
    return (piece.cue == "weak" or enumerating) and piece.kind == "ask" and not refers_back


def _classified(text: str) -> list[_Piece]:
    pieces = list(_pieces(text.replace("’", "'")))
    first = True
    for index, piece in enumerate(pieces):
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        asking = _is_asking(piece.text)
        if not piece.listed and following is not None and following.listed:
            piece.intro = piece.text.endswith(":") or not asking
        elif not piece.listed and not asking and _ANNOUNCEMENT.search(piece.text):
            piece.intro = piece.announces = True  # "Found a few issues in the release."
        piece.kind = _kind(piece, asking, opens_message=first)
        first = first and piece.kind == "filler"
    return [piece for piece in pieces if piece.kind != "filler"]


def _kind(piece: _Piece, asking: bool, *, opens_message: bool) -> Kind:
    text = piece.text
    if not text or _CLOSER.match(text) or not re.search(r"[A-Za-z0-9]", text):
        return "filler"
    if piece.quoted or piece.intro:
        return "context"
    if piece.reply:
        leans_back = _ANAPHORA.search(text) is not None and len(words(text)) < 5
        return "reply" if asking and not leans_back else "filler"
    weak_opener = opens_message and piece.cue == "weak" and len(words(text)) >= 3
    if asking or piece.listed or piece.cue == "strong" or weak_opener:
        return "ask"
    return "context"


def _pieces(text: str) -> Iterator[_Piece]:
    for line in text.splitlines():
        if line.lstrip().startswith(">"):
            yield _Piece(line.lstrip(" >"), quoted=True)
            continue
        for chunk, listed in _list_items(line):
            if listed:
                yield _cleaned(_Piece(chunk, listed=True))
                continue
            for sentence in sentences(chunk):
                announced = _announced_list(sentence)
                if announced:  # "Two asks: SSO, and exports for admins."
                    yield _cleaned(_Piece(announced[0]))
                    yield from (_cleaned(_Piece(part, listed=True)) for part in announced[1:])
                    continue
                for part, cue in _inline_parts(sentence):
                    yield _cleaned(_Piece(part, cue=cue))


def _list_items(line: str) -> Iterator[tuple[str, bool]]:
    marker = _LIST_ITEM.match(line)
    if marker:
        yield line[marker.end() :].strip(), True
        return
    starts = list(_INLINE_NUMBER.finditer(line))
    numbers = [int(m.group(1)) for m in starts]
    if len(starts) < 2 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        yield line, False
        return
    if line[: starts[0].start()].strip():
        yield line[: starts[0].start()].strip(), False
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        yield line[here.end() : after.start() if after else None].strip(" ,;"), True


def _announced_list(sentence: str) -> list[str] | None:
    match = _ANNOUNCED_LIST.match(sentence)
    if not match:
        return None
    rest = match.group("rest").rstrip(" .!")
    parts = re.split(r"\s*;\s*|,\s*(?:and|plus|as well as)\s+|,\s+", rest)
    count = _COUNTS.get(match.group("count").lower())
    if count is not None and len(parts) != count:  # commas inside an item: split less
        parts = re.split(r"\s*;\s*|,?\s*\b(?:and|plus|as well as)\s+", rest)
    parts = [part.strip() for part in parts if part.strip()]
    if len(parts) < 2 or (count is not None and len(parts) != count):
        return None
    return [match.group("intro"), *parts]


def _inline_parts(sentence: str) -> Iterator[tuple[str, Cue]]:
    cue: Cue = "none"
    start = 0
    for match in _INLINE_CUE.finditer(sentence):
        yield sentence[start : match.start()], cue
        cue = "weak" if "also" in match.group(0).lower() else "strong"
        start = match.end()
    yield sentence[start:], cue


def _cleaned(piece: _Piece) -> _Piece:
    text = piece.text.strip()
    while True:
        before = text
        text = _GREETING.sub("", text, count=1).strip()
        opener = _OPENER.match(text)
        if opener:  # "Bug:" or "Feature idea:" announces an ask
            piece.cue = "strong" if opener.group("announce") else piece.cue
            text = text[opener.end() :].strip()
        reply = _REPLY.match(text)
        if reply and reply.end():
            piece.reply = True
            text = text[reply.end() :].strip()
        cue = _CUE.match(text)
        if cue:
            strong = cue.group("strong") is not None
            piece.cue = "strong" if strong or piece.cue == "strong" else "weak"
            text = text[cue.end() :].strip()
        if text == before:
            break
    piece.text = text[:1].upper() + text[1:] if text else ""
    return piece


def _is_asking(text: str) -> bool:
    return bool(_REQUEST.search(text) or _PROBLEM.search(text))


def _ask(draft: _Draft) -> Ask:
    texts = [piece.text for piece in draft.quote]
    summary = texts[0] if draft.quote[0].listed else _summary(texts)
    context = " ".join(part for part in draft.context if part)
    return Ask(quote=" ".join(texts), summary=_TRAILING_EG.sub("", summary), context=context)


def _summary(texts: Sequence[str]) -> str:
    """The first request, unless it leans on an earlier sentence ("Can you add it?")."""
    for text in texts:
        if _REQUEST.search(text) and not (_ANAPHORA.search(text) and len(words(text)) < 5):
            return text
    return next((text for text in texts if _is_asking(text)), texts[0])
