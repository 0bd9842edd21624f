"""A readable transcript of what happened in Slack: who said what, where, which buttons.

People's actions are noted as they happen (:meth:`Transcript.note`); what the bot did
is read from the simulator's journal of Web API calls (:meth:`Transcript.catch_up`):
its messages (Block Kit rendered as text, buttons as ``[Label]``), updates in place,
private answers, reactions and App Home views. Reads (``conversations.replies``,
``users.info``...) are counted, not shown.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from bot.demo.people import Action
from bot.simulator import SlackSimulator

__all__ = ["Transcript", "render_blocks"]

WIDTH = 92
SHOWN = {
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "reactions.add",
    "views.publish",
    "views.open",
    "views.update",
    "response_url",
}


class Transcript:
    """Writes the transcript to ``out`` as the scenario goes."""

    def __init__(self, sim: SlackSimulator, out: TextIO) -> None:
        self.sim = sim
        self.out = out
        self._seen = 0
        self.reads: Counter[str] = Counter()
        self.lines = 0

    def section(self, title: str) -> None:
        self.catch_up()
        self._write("")
        self._write(f"── {title} " + "─" * max(3, WIDTH - len(title) - 4))

    def say(self, text: str) -> None:
        """A line of narration."""
        self._write(f"   {text}")

    def note(self, action: Action) -> None:
        """A person's action (People calls this)."""
        self.catch_up()
        where = "App Home" if action.where == "home" else self._place(action.where)
        self._entry(where, f"{self._name(action.user)} {action.what}")

    def catch_up(self) -> None:
        """Write what the bot did since the last call."""
        journal = self.sim.journal
        for call in journal[self._seen :]:
            if not call.ok:
                self._entry("Slack", f"refused {call.method}: {call.error}")
                continue
            if call.method not in SHOWN:
                self.reads[call.method] += 1
                continue
            self._bot_call(call.method, call.args)
        self._seen = len(journal)

    def _bot_call(self, method: str, args: Mapping[str, Any]) -> None:
        bot = "Feedback Bot"
        if method == "reactions.add":
            self._entry(self._place(args.get("channel", "")), f"{bot} reacts :{args.get('name')}:")
        elif method in ("chat.postMessage", "chat.postEphemeral"):
            where = self._place(args.get("channel", ""))
            if args.get("thread_ts"):
                where += " (thread)"
            if method == "chat.postEphemeral":
                where += f", only {self._name(args.get('user', ''))} sees"
            self._message(where, f"{bot}:", args)
        elif method == "chat.update":
            self._message(self._place(args.get("channel", "")), f"{bot} updates its message:", args)
        elif method == "response_url":
            private = args.get("response_type", "ephemeral") == "ephemeral"
            verb = "replaces its message:" if args.get("replace_original") else "answers:"
            self._message("privately" if private else "in place", f"{bot} {verb}", args)
        elif method == "views.publish":
            self._home(args)
        elif method in ("views.open", "views.update"):
            view = args.get("view") or {}
            title = (view.get("title") or {}).get("text", "a form")
            self._entry("modal", f"{bot} opens the form “{title}”")

    def _message(self, where: str, who: str, args: Mapping[str, Any]) -> None:
        lines = render_blocks(args.get("blocks") or []) or [str(args.get("text", ""))]
        self._entry(where, who, [self._plain(line) for line in lines])

    def _home(self, args: Mapping[str, Any]) -> None:
        view = args.get("view") or {}
        lines = [self._plain(line) for line in render_blocks(view.get("blocks") or [])]
        shown = lines[:14] + (["…"] if len(lines) > 14 else [])
        self._entry("App Home", f"of {self._name(args.get('user_id', ''))}:", shown)

    # --- formatting -----------------------------------------------------------------

    def _entry(self, where: str, head: str, body: Iterable[str] = ()) -> None:
        self._wrapped(f"{where:<22} {head}", indent=23)
        for line in body:
            self._wrapped(" " * 25 + line, indent=25)

    def _wrapped(self, text: str, *, indent: int) -> None:
        for n, line in enumerate(text.split("\n")):
            lead = "" if n == 0 else " " * indent
            wrapped = textwrap.wrap(
                lead + line,
                WIDTH,
                subsequent_indent=" " * indent,
                drop_whitespace=True,
                replace_whitespace=False,
            )
            for piece in wrapped or [""]:
                self._write(piece)

    def _write(self, line: str) -> None:
        self.out.write(line.rstrip() + "\n")
        self.out.flush()
        self.lines += 1

    def _place(self, channel: str) -> str:
        if not channel:
            return ""
        ws = self.sim.workspace
        try:
            found = ws.channel(channel)
        except Exception:  # not a channel the workspace knows: show the id
            return channel
        if found.is_im and found.user:
            return f"DM {self._name(found.user)}"
        return f"#{found.name}"

    def _name(self, user: str) -> str:
        try:
            person = self.sim.workspace.user(user)
        except Exception:  # an unknown id: show it as it is
            return user
        return person.real_name or person.name

    def _plain(self, text: str) -> str:
        """Slack's mrkdwn with its links and mentions made readable."""

        def mention(match: re.Match[str]) -> str:
            return "@" + self._name(match.group(1))

        def channel(match: re.Match[str]) -> str:
            return "#" + (match.group(2) or self._place(match.group(1)).lstrip("#"))

        text = re.sub(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", mention, text)
        text = re.sub(r"<#([CDG][A-Z0-9]+)(?:\|([^>]*))?>", channel, text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
        text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Block Kit as lines of text: buttons as ``[Label]``, selects as ``[Label ▾]``."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(_text(block.get("text")).upper())
        elif kind == "section":
            said = _text(block.get("text"))
            fields = "   ".join(_text(f) for f in block.get("fields", []))
            first, _, rest = "\n".join(part for part in (said, fields) if part).partition("\n")
            accessory = _element(block.get("accessory") or {})  # shown beside the first line
            lines.append(" ".join(part for part in (first, accessory) if part))
            lines.extend(rest.split("\n") if rest else [])
        elif kind == "context":
            lines.append(" · ".join(_text(e) for e in block.get("elements", []) if _text(e)))
        elif kind == "actions":
            lines.append(" ".join(_element(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("┄" * 12)
        elif kind == "input":
            label = _text(block.get("label"))
            lines.append(f"{label}: [{_element(block.get('element') or {}).strip('[]') or '…'}]")
        elif kind == "rich_text":
            lines.append(_rich_text(block))
    return [line for line in lines if line]


def _text(obj: Any) -> str:
    if isinstance(obj, Mapping):
        if obj.get("type") in ("mrkdwn", "plain_text"):
            return str(obj.get("text", ""))
        if "text" in obj:
            return _text(obj["text"])
    return "" if obj is None else str(obj) if isinstance(obj, str) else ""


def _element(element: Mapping[str, Any]) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[{_text(element.get('text'))}]"
    if kind.endswith("_select") or kind.endswith("select"):
        chosen = element.get("initial_option")
        label = _text(chosen.get("text")) if chosen else _text(element.get("placeholder"))
        return f"[{label or 'choose'} ▾]"
    if kind == "overflow":
        return "[⋯]"
    if kind == "image":
        return ""
    if kind in ("mrkdwn", "plain_text"):
        return _text(element)
    return ""


def _rich_text(block: Mapping[str, Any]) -> str:
    words: list[str] = []
    for section in block.get("elements", []):
        for element in section.get("elements", []):
            words.append(str(element.get("text", "")))
    return "".join(words)
