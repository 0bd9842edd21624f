"""``feedback-bot demo --interactive``: play the Slack side of the demo from a terminal.

The app runs as in the scripted demo (:func:`bot.demo.stage.staged`: HTTP, Bolt, the
listeners, the workflows' worker, the Slack simulator with the demo's workspace). You
act as a person of the workspace: each command becomes what Slack would send the app
(:class:`bot.demo.people.People`, signed requests over HTTP), the session waits until
the runs settle (:func:`bot.demo.settle.settled`), then prints what the bot did in
Slack (:class:`bot.demo.transcript.Transcript`)::

    $ feedback-bot demo --interactive
    dana> as jordan
    jordan> post #acme-shared We need to export dashboards to PDF.
    jordan> as dana
    dana> react 1          # :gtm-feedback: on message 1: the bot files it
    dana> dms              # the bot's DMs to Dana, buttons numbered
    dana> click 2
    dana> home
    dana> quit

``help`` lists the commands. A message gets a number when first shown (``post``,
``read``, ``dms``), kept for the session, for ``react``; buttons are numbered in the
last listing (``read``, ``dms``, ``home``), for ``click``. What the bot does later on
its own (a reminder) shows at the next command, or with ``wait``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
import textwrap
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from bot.demo.people import Button, People
from bot.demo.settle import settled
from bot.demo.stage import Stage
from bot.demo.transcript import Transcript, render_blocks
from workflows.engine import RunStatus

__all__ = ["Keyboard", "Session", "repl"]

logger = logging.getLogger(__name__)

WIDTH = 92
SHOWN = 10
"""Threads ``read`` shows, and messages ``dms`` shows: the latest."""
FIRST_PERSON = "dana"
FIRST_CHANNEL = "acme-shared"
START = "  as jordan · post #acme-shared <what Acme needs> · as dana · react · dms · click 1"
NOTES = (
    "Message numbers stay for the session; button numbers are the last listing's.",
    "What the bot does later on its own shows at the next command, or with `wait`.",
)


class _Hint(Exception):
    """A command that cannot be done as typed; its message is the one line shown."""


Handler = Callable[["Session", str], Awaitable[None]]


@dataclass(frozen=True)
class _Command:
    usage: str
    summary: str
    run: Handler


COMMANDS: dict[str, _Command] = {}
ALIASES = {"/feedback": "feedback", "exit": "quit", "?": "help"}


def command(usage: str, summary: str) -> Callable[[Handler], Handler]:
    """Register a session method as the command named by the first word of ``usage``."""

    def register(run: Handler) -> Handler:
        COMMANDS[usage.split()[0]] = _Command(usage, summary, run)
        return run

    return register


@dataclass(frozen=True)
class Clickable:
    """A numbered button of the last listing: where it is and whose screen shows it."""

    button: Button
    channel: str  # a channel or DM id, or ``home``
    owner: str | None  # the only person who sees it (a DM, an App Home), else None
    message: Mapping[str, Any] | None = None


class Keyboard:
    """Lines typed at the terminal, read without blocking the event loop.

    The app and its worker run on the same loop as the session, so a terminal or a pipe
    is read only when the loop sees it readable. A regular file, or text in memory, never
    blocks: it is read line by line.

    Args:
        stream: Where the lines come from (``sys.stdin``).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._pending = b""
        self._loop = asyncio.get_running_loop()
        self._fd = _pollable(stream)
        if self._fd is not None:
            try:
                self._loop.add_reader(self._fd, self._readable)
            except (OSError, ValueError, NotImplementedError):  # e.g. /dev/null, Windows
                self._fd = None
        self.echoes = _isatty(stream)
        """Whether the terminal shows what is typed (else the session echoes it)."""

    async def line(self) -> str | None:
        """The next line, without its line break; ``None`` at the end of the input."""
        if self._fd is None:
            line = self._stream.readline()
            return line.rstrip("\r\n") if line else None
        return await self._lines.get()

    def close(self) -> None:
        """Stop reading the terminal."""
        if self._fd is not None:
            self._loop.remove_reader(self._fd)

    def _readable(self) -> None:
        assert self._fd is not None  # only called while registered
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # the terminal went away (EIO on Linux): the end of the input
            chunk = b""
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            self._lines.put_nowait(line.decode("utf-8", "replace").rstrip("\r"))
        if not chunk:
            self._loop.remove_reader(self._fd)
            if self._pending:
                self._lines.put_nowait(self._pending.decode("utf-8", "replace"))
            self._lines.put_nowait(None)


def _pollable(stream: TextIO) -> int | None:
    """The stream's descriptor if the loop can watch it (not a regular file)."""
    try:
        fd = stream.fileno()
        return None if stat.S_ISREG(os.fstat(fd).st_mode) else fd
    except (OSError, ValueError):  # StringIO and the like (io.UnsupportedOperation)
        return None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


class Session:
    """Who you are, where you are and what was shown: one person playing Slack.

    Args:
        stage: The running demo.
        transcript: Where everything is printed (people's actions and the bot's).
    """

    def __init__(self, stage: Stage, transcript: Transcript) -> None:
        self.stage = stage
        self.t = transcript
        self.out = transcript.out
        self.sim = stage.sim
        self.ws = stage.sim.workspace
        self.people = People(stage.sim, stage.http, transcript.note, secret=stage.secret)
        self.engine = stage.running.bot.engine
        self.emoji = stage.running.bot.emoji
        self.user = self._person(FIRST_PERSON)
        found = self.ws.find_by_name(FIRST_CHANNEL)
        self.channel = found.id if found else next(iter(self.ws.channels))
        self.messages: list[tuple[str, str]] = []  # message n is messages[n - 1]
        self.last_post: int | None = None
        self.clickable: list[Clickable] = []
        self.failed: set[str] = set()
        self.done = False

    @property
    def prompt(self) -> str:
        """What the terminal shows before each command: who you are."""
        return f"{self._handle(self.user)}> "

    def welcome(self) -> None:
        """The first lines: who you are, who is here, how to start."""
        self._write("")
        self._write("You play the Slack side; the bot, its listeners and workflows run for real.")
        self._write(f"You are {self.people.name(self.user)}. {self._cast()}")
        self._write("Type `help` for the commands, `quit` (or Ctrl-D) to leave. For a start:")
        self._write(START)

    async def do(self, line: str) -> None:
        """Run one typed line. A bad one prints a one-line hint: the session goes on."""
        words = line.split(maxsplit=1)
        if not words:
            return
        name = ALIASES.get(words[0].lower(), words[0].lower())
        args = words[1] if len(words) > 1 else ""
        try:
            found = COMMANDS.get(name)
            if found is None:
                raise _Hint(f"unknown command {name!r}: `help` lists the commands")
            self.t.catch_up()  # what the bot did since, on its own (a reminder)
            await found.run(self, args.strip())
        except _Hint as hint:
            self._write(f"   {hint}")
        except Exception as exc:  # a person's typo must not stop the app they are playing
            logger.debug("the command %r failed", line, exc_info=True)
            self._write(f"   that did not work: {type(exc).__name__}: {exc}")

    # --- commands -------------------------------------------------------------------

    @command("help", "this list")
    async def help(self, args: str) -> None:
        width = max(len(c.usage) for c in COMMANDS.values())
        for found in COMMANDS.values():
            self._write(f"  {found.usage:<{width}}  {found.summary}")
        self._write(f"  {self._cast()}")
        for note in NOTES:
            self._write(f"  {note}")

    @command("as [person]", "act as someone (alone: who is who)")
    async def as_(self, args: str) -> None:
        if not args:
            for user in self._everyone():
                you = "  (you)" if user.id == self.user else ""
                side = "customer" if self.ws.is_external(user) else "OurCo"
                name = user.real_name or user.name
                self._write(f"   {self._handle(user.id):<8} {name}, {side}{you}")
            return
        self.user = self._person(args)
        if not self._can_see(self.channel):
            self.channel = self._channels_of(self.user)[0]
        self._write(f"   you are {self.people.name(self.user)}")

    @command("channels", "the channels and who is in them (* you)")
    async def channels(self, args: str) -> None:
        for channel in self.ws.channels.values():
            if channel.is_im:
                continue
            mark = "*" if self.user in channel.members else " "
            kind = "Slack Connect" if channel.is_ext_shared else "internal"
            members = [self._handle(u.id) for u in self._everyone() if u.id in channel.members]
            self._write(f" {mark} #{channel.name:<22} {kind:<14} {', '.join(members)}")

    @command("post [#channel] <text>", "post a message, as you (default: the current channel)")
    async def post(self, args: str) -> None:
        channel, text = self._where_and_what(args)
        if not text:
            raise _Hint("usage: post [#channel] <text>, e.g. post #acme-shared We need SSO")
        self._must_see(channel)
        ts = self.people.post(self.user, channel, text)
        self.channel = channel
        self.last_post = self._number(channel, ts)
        self._write(f"   → message {self.last_post}")
        await self._settle()

    @command("react [message no.] [emoji]", "react (default: the last post, :gtm-feedback:)")
    async def react(self, args: str) -> None:
        words = args.split()
        numbers = [int(w) for w in words if w.isdecimal()]
        emojis = [w.strip(":") for w in words if not w.isdecimal()]
        if len(numbers) > 1 or len(emojis) > 1:
            raise _Hint("usage: react [message no.] [emoji], e.g. react 1 or react 1 eyes")
        n = numbers[0] if numbers else self.last_post
        if n is None:
            raise _Hint("which message? `post` one, or `read #channel` to number them")
        channel, ts = self._message(n)
        emoji = emojis[0] if emojis else self.emoji
        self._must_see(channel)
        if self.user in self.sim.reactions(channel, ts).get(emoji, []):
            raise _Hint(f"you already reacted :{emoji}: to message {n}")
        await self.people.react(self.user, channel, ts, emoji)
        await self._settle()

    @command("read [#channel]", "recent messages, numbered, with reactions and buttons")
    async def read(self, args: str) -> None:
        channel = self._channel(args) if args else self.channel
        self._must_see(channel)
        self.channel = channel
        threads = [self.sim.thread(channel, m.ts) for m in self.ws.top_level(channel)][-SHOWN:]
        self._listing(self._place(channel), channel, None, [m for t in threads for m in t])

    @command("dms [person]", "the bot's DMs with you (or someone), buttons numbered")
    async def dms(self, args: str) -> None:
        user = self._person(args) if args else self.user
        channel = self.sim.dm_channel(user)
        if channel is None:
            self.clickable = []
            self._write(f"   the bot has not written to {self.people.name(user)} yet")
            return
        self._listing(self._place(channel), channel, user, self.people.dm(user)[-SHOWN:])

    @command("click <button no.>", "click a button of the last `dms`, `home` or `read`")
    async def click(self, args: str) -> None:
        if not args.isdecimal():
            raise _Hint("usage: click <button no.>, e.g. click 1 (`dms` or `home` number them)")
        n = int(args)
        if not 1 <= n <= len(self.clickable):
            raise _Hint(f"no button {n} in the last listing: `dms`, `home` or `read` number them")
        target = self.clickable[n - 1]
        if target.owner not in (None, self.user):
            name = self._handle(target.owner)
            raise _Hint(f"button {n} is on {name}'s screen, not yours: `as {name}` first")
        if target.channel == "home":
            await self.people.click_home(self.user, target.button)
        else:
            assert target.message is not None  # buttons in channels and DMs have one
            await self.people.click(
                self.user, target.message, target.button, channel=target.channel
            )
        await self._settle()

    @command("home", "open your App Home, buttons numbered")
    async def home(self, args: str) -> None:
        await self.people.open_home(self.user)
        await self._settle()
        view = self.sim.home_view(self.user)
        self.clickable = []
        if view is None:
            self._write("   the bot published no App Home for you")
            return
        self._write("Your App Home, its buttons numbered for `click`:")
        for line in self._body(view.get("blocks") or [], "", "home", self.user):
            self._wrapped("     " + line, indent=5)

    @command("feedback [#channel] <text>", "/feedback in the current channel (help, search, ship…)")
    async def feedback(self, args: str) -> None:
        channel, text = self._where_and_what(args)
        self._must_see(channel)
        self.channel = channel
        answer = await self.people.command(self.user, channel, text)
        self._answer(answer)
        await self._settle()

    @command("runs [n]", "the engine's latest runs and their status")
    async def runs(self, args: str) -> None:
        if args and not args.isdecimal():
            raise _Hint("usage: runs [n], e.g. runs 5")
        for run in await self.engine.list_runs(limit=int(args or 15)):
            at = run.created_at.astimezone().strftime("%H:%M:%S")
            self._write(f"   {at}  {run.status:<9}  {run.workflow:<20}  {run.run_id}")
        url = self.stage.settings.database_url
        self._write(f"   one run: python -m workflows runs show <run id> --database-url {url}")

    @command("wait [seconds]", "let the worker settle (first waiting, e.g. for a reminder)")
    async def wait(self, args: str) -> None:
        try:
            seconds = float(args or 0)
        except ValueError:
            raise _Hint("usage: wait [seconds], e.g. wait 5") from None
        if not 0 <= seconds <= 600:
            raise _Hint("wait between 0 and 600 seconds")
        await asyncio.sleep(seconds)
        await self._settle(timeout=60)
        waiting = await self.engine.list_runs(status=RunStatus.WAITING, limit=1000)
        self._write(f"   settled; {len(waiting)} run(s) waiting for a person or a timer")

    @command("quit", "leave (Ctrl-D too)")
    async def quit(self, args: str) -> None:
        self.done = True

    # --- waiting and showing ----------------------------------------------------------

    async def _settle(self, timeout: float = 30.0) -> None:
        """Wait for the runs, then show what the bot did; failed runs are told once."""
        try:
            while failed := await settled(self.engine, timeout=timeout, known=self.failed):
                self.t.catch_up()
                for run in failed:
                    self.failed.add(run.run_id)
                    reason = (run.error or {}).get("message", "")
                    self._write(f"   the run {run.run_id} failed: {reason} (`runs` lists runs)")
        except TimeoutError:
            self._write(f"   runs still busy after {timeout:.0f} s: see `runs`, or `wait` more")
        self.t.catch_up()

    def _listing(
        self, title: str, channel: str, owner: str | None, messages: list[dict[str, Any]]
    ) -> None:
        self.clickable = []
        self._write(f"{title}:" if messages else f"{title}: no messages yet")
        for message in messages:
            n = self._number(channel, message["ts"])
            reply = message.get("thread_ts") not in (None, message["ts"])
            lead = f"{n:>4}{'   ↳' if reply else ''} "
            self._wrapped(f"{lead}{self.people.name(message['user'])}:", indent=len(lead))
            blocks = message.get("blocks") or []
            for line in self._body(blocks, message.get("text", ""), channel, owner, message):
                self._wrapped(" " * (len(lead) + 2) + line, indent=len(lead) + 2)
            if reactions := self._reactions(message):
                self._wrapped(" " * (len(lead) + 2) + reactions, indent=len(lead) + 2)

    def _body(
        self,
        blocks: list[dict[str, Any]],
        text: str,
        channel: str,
        owner: str | None,
        message: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Blocks as text lines, each button labelled with its number for ``click``."""
        shown = []
        for block in blocks:
            block = dict(block)
            if isinstance(block.get("elements"), list):
                block["elements"] = [
                    self._numbered(e, channel, owner, message) for e in block["elements"]
                ]
            if isinstance(block.get("accessory"), dict):
                block["accessory"] = self._numbered(block["accessory"], channel, owner, message)
            shown.append(block)
        return [self._plain(line) for line in render_blocks(shown) or [text]]

    def _numbered(
        self,
        element: Any,
        channel: str,
        owner: str | None,
        message: Mapping[str, Any] | None,
    ) -> Any:
        if not isinstance(element, dict) or element.get("type") != "button":
            return element
        label = element["text"]["text"]
        button = Button(label, element["action_id"], element.get("value", ""), element.get("style"))
        self.clickable.append(Clickable(button, channel, owner, message))
        return element | {"text": {"type": "plain_text", "text": f"{len(self.clickable)}: {label}"}}

    def _reactions(self, message: Mapping[str, Any]) -> str:
        return "  ".join(
            f":{r['name']}: " + ", ".join(self._handle(u) for u in r.get("users", []))
            for r in message.get("reactions", [])
        )

    def _answer(self, answer: httpx.Response) -> None:
        """The command's private answer (Slack shows the body of the app's ack)."""
        if not answer.content:
            return
        try:
            said = answer.json()
        except ValueError:
            said = {"text": answer.text}
        if not isinstance(said, dict):
            said = {"text": str(said)}
        lines = [self._plain(line) for line in render_blocks(said.get("blocks") or [])]
        self._wrapped(f"{'only you see':<22} Feedback Bot:", indent=23)
        for line in lines or [self._plain(str(said.get("text", "")))]:
            self._wrapped(" " * 25 + line, indent=25)

    # --- people, channels, messages -------------------------------------------------

    def _everyone(self) -> list[Any]:
        return [u for u in self.ws.users.values() if not u.is_bot]

    def _handle(self, user_id: str) -> str:
        user = self.ws.users.get(user_id)
        return user.name.split(".")[0] if user else user_id

    def _cast(self) -> str:
        ours = [self._handle(u.id) for u in self._everyone() if not self.ws.is_external(u)]
        theirs = [self._handle(u.id) for u in self._everyone() if self.ws.is_external(u)]
        return f"People: {', '.join(ours)} (OurCo); customers: {', '.join(theirs)}."

    def _person(self, word: str) -> str:
        wanted = word.strip().lstrip("@").lower()
        for user in self._everyone():
            names = {user.id.lower(), user.name.lower(), self._handle(user.id)}
            names.add((user.real_name or "").split(" ")[0].lower())
            if wanted in names:
                return str(user.id)
        known = ", ".join(self._handle(u.id) for u in self._everyone())
        raise _Hint(f"no one called {word.strip()!r} here: {known}")

    def _channel(self, word: str) -> str:
        if word in self.ws.channels:
            return word
        found = self.ws.find_by_name(word.strip().lower())
        if found is None:
            raise _Hint(f"no channel {word!r}: `channels` lists them")
        return found.id

    def _channels_of(self, user: str) -> list[str]:
        ids = [c.id for c in self.ws.channels.values() if not c.is_im and user in c.members]
        return ids or [self.channel]

    def _can_see(self, channel_id: str) -> bool:
        channel = self.ws.channel(channel_id)
        return channel.user == self.user if channel.is_im else self.user in channel.members

    def _must_see(self, channel: str) -> None:
        if not self._can_see(channel):
            who = self.people.name(self.user)
            raise _Hint(f"{who} is not in {self._place(channel)}: `channels` shows who is where")

    def _where_and_what(self, args: str) -> tuple[str, str]:
        """``#channel text`` or ``text`` (in the current channel)."""
        if args.startswith("#"):
            name, _, text = args.partition(" ")
            return self._channel(name), text.strip()
        return self.channel, args

    def _number(self, channel: str, ts: str) -> int:
        if (channel, ts) not in self.messages:
            self.messages.append((channel, ts))
        return self.messages.index((channel, ts)) + 1

    def _message(self, n: int) -> tuple[str, str]:
        if not 1 <= n <= len(self.messages):
            raise _Hint(f"no message {n}: `read #channel` numbers a channel's messages")
        return self.messages[n - 1]

    def _place(self, channel_id: str) -> str:
        channel = self.ws.channel(channel_id)
        if channel.is_im and channel.user:
            return f"DM {self.people.name(channel.user)}"
        return f"#{channel.name}"

    def _plain(self, text: str) -> str:
        """Slack's mrkdwn with its mentions, channels and links made readable."""
        text = re.sub(
            r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + self.people.name(m[1]), text
        )
        text = re.sub(
            r"<#([CDG][A-Z0-9]+)(?:\|([^>]*))?>",
            lambda m: "#" + (m[2] or self._place(m[1]).lstrip("#")),
            text,
        )
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
        text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _wrapped(self, text: str, *, indent: int) -> None:
        for n, line in enumerate(text.split("\n")):
            lead = "" if n == 0 else " " * indent
            pieces = textwrap.wrap(lead + line, WIDTH, subsequent_indent=" " * indent)
            for piece in pieces or [""]:
                self._write(piece)

    def _write(self, line: str) -> None:
        self.out.write(line.rstrip() + "\n")
        self.out.flush()


async def repl(stage: Stage, transcript: Transcript, *, stdin: TextIO | None = None) -> int:
    """Play the Slack side from the terminal until ``quit`` or the end of the input.

    Args:
        stage: The running demo.
        transcript: Where the session prints (its ``out``).
        stdin: Where commands are read (default ``sys.stdin``).

    Returns:
        The exit status: 0.
    """
    session = Session(stage, transcript)
    keyboard = Keyboard(stdin or sys.stdin)
    session.welcome()
    try:
        while not session.done:
            session.out.write(session.prompt)
            session.out.flush()
            line = await keyboard.line()
            if line is None:
                session.out.write("\n")
                break
            if not keyboard.echoes:
                session.out.write(line + "\n")
            await session.do(line)
    finally:
        keyboard.close()
    return 0
