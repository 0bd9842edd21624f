"""``feedback-bot demo --interactive``, driven as a person would: a pseudo-terminal,
typed commands, the screen read back.

Each step waits for the prompt that ends it, with generous deadlines (the first one
covers loading the model and seeding), so the tests do not depend on timing.
"""

from __future__ import annotations

import codecs
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START = 120.0
STEP = 60.0

pytestmark = pytest.mark.timeout(400)


class Terminal:
    """The terminal a person types into, and the screen they read back."""

    def __init__(self, fd: int, process: subprocess.Popen[bytes]) -> None:
        self.fd = fd
        self.process = process
        self.screen = ""
        self._read = 0
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def until(self, wanted: str, timeout: float = STEP) -> str:
        """What appeared since the last call, up to and including ``wanted``."""
        deadline = time.monotonic() + timeout
        while (found := self.screen.find(wanted, self._read)) < 0:
            if not self._more(deadline - time.monotonic()):
                raise AssertionError(
                    f"{wanted!r} not on the screen after {timeout:.0f} s"
                    f" (exit status {self.process.poll()}); the screen ends with:\n"
                    + self.screen[-4000:]
                )
        seen = self.screen[self._read : found + len(wanted)]
        self._read = found + len(wanted)
        return seen

    def closed(self, timeout: float = STEP) -> str:
        """Everything until the program closes the terminal."""
        deadline = time.monotonic() + timeout
        while self._more(deadline - time.monotonic()):
            pass
        return self.screen[self._read :]

    def _more(self, left: float) -> bool:
        """Read what is there within ``left`` seconds; False at the deadline or the end."""
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: every process holding the terminal has closed it
            chunk = b""
        self.screen += self._decode.decode(chunk, final=not chunk)
        return bool(chunk)


@contextmanager
def demo(tmp_path: Path) -> Iterator[Terminal]:
    """``feedback-bot demo --interactive`` in a pseudo-terminal of its own."""
    main, other = pty.openpty()
    modes = termios.tcgetattr(other)
    modes[1] &= ~termios.ONLCR  # "\n" stays "\n" on the screen
    termios.tcsetattr(other, termios.TCSANOW, modes)
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--interactive", "--database-url", url],
        stdin=other,
        stdout=other,
        stderr=other,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-not-used"},
    )
    os.close(other)
    try:
        yield Terminal(main, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STEP)
        os.close(main)


def test_a_person_files_feedback_clicks_in_a_dm_and_opens_the_home(tmp_path: Path) -> None:
    with demo(tmp_path) as term:
        welcome = term.until("dana> ", START)
        assert "You are Dana Whitfield." in welcome

        term.type("as jordan")
        term.until("jordan> ")
        term.type("post #acme-shared We need to export dashboards to PDF, for our board decks.")
        posted = term.until("jordan> ")
        assert "#acme-shared           Jordan Lee says: We need to export dashboards" in posted
        assert "→ message 1" in posted

        term.type("as dana")
        term.until("dana> ")
        term.type("react 1")
        reacted = term.until("dana> ")
        assert "Dana Whitfield reacts :gtm-feedback: to Jordan Lee's message" in reacted
        assert "#acme-shared           Feedback Bot reacts :eyes:" in reacted
        assert "DM Dana Whitfield      Feedback Bot:" in reacted
        assert "Filed under *Export dashboards to PDF* (Acme Corp" in reacted

        term.type("read #acme-shared")
        read = term.until("dana> ")
        assert "   1 Jordan Lee:" in read
        assert ":gtm-feedback: dana  :eyes: feedbackbot" in read

        term.type("dms")
        dms = term.until("dana> ")
        assert "Filed under *Export dashboards to PDF*" in dms
        assert "[1: Open] [2: Undo]" in dms

        term.type("click 2")
        clicked = term.until("dana> ")
        assert "Dana Whitfield clicks [Undo]" in clicked
        assert "Feedback Bot updates its message:" in clicked
        assert "Unlinked from *Export dashboards to PDF* by @Dana Whitfield" in clicked
        assert "Which request is this?" in clicked  # asked again, with choices

        term.type("home")
        home = term.until("dana> ")
        assert "Dana Whitfield opens the App Home" in home
        assert "Your App Home, its buttons numbered for `click`:" in home
        assert "YOUR RECENT FEEDBACK" in home
        assert "[1: This one]" in home

        term.type("quit")
        term.closed()
        assert term.process.wait(STEP) == 0


def test_bad_commands_get_a_hint_and_the_session_goes_on(tmp_path: Path) -> None:
    with demo(tmp_path) as term:
        term.until("dana> ", START)
        hints = {
            "frobnicate now": "unknown command 'frobnicate': `help` lists the commands",
            "react": "which message? `post` one, or `read #channel` to number them",
            "react 7": "no message 7: `read #channel` numbers a channel's messages",
            "click two": "usage: click <button no.>",
            "click 3": "no button 3 in the last listing",
            "as bob": "no one called 'bob' here: dana, marcus, sofia, priya, jordan, kai, nina",
            "read #nowhere": "no channel '#nowhere': `channels` lists them",
            "post #globex-shared hello": "Dana Whitfield is not in #globex-shared",
            "wait soon": "usage: wait [seconds]",
        }
        for typed, hint in hints.items():
            term.type(typed)
            screen = term.until("dana> ")
            assert hint in screen
            assert "Traceback" not in screen

        term.type("help")
        assert "click <button no.>" in term.until("dana> ")
        term.type("channels")
        assert " * #acme-shared" in term.until("dana> ")

        os.write(term.fd, b"\x04")  # Ctrl-D at the prompt: the end of the input
        assert "Traceback" not in term.closed()
        assert term.process.wait(STEP) == 0
