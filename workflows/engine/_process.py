"""Which process a worker is, and whether a process recorded earlier is still alive.

A lease records the host, boot and process of its worker, so that a worker on the same
host can tell at once that the holder is gone (killed, crashed, restarted) instead of
waiting for the lease to expire. A pid alone is not enough: it may have been reused by
an unrelated process, so the process's start time is recorded and compared too. And a
pid means something only within one kernel boot and one pid namespace (containers have
their own): ``boot`` records both, and a process recorded under another one is never
judged from here (its lease decides).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessIdentity:
    """A process, told apart from any later process that reuses its pid."""

    host: str
    boot: str
    pid: int
    started: str


def _boot_id() -> str:
    """This kernel boot and this pid namespace, or "" where they cannot be told."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def _stat(pid: int) -> tuple[str, str] | None:
    """The process's state letter and start time in clock ticks since boot (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its end
    fields = stat[stat.rfind(")") + 2 :].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def current() -> ProcessIdentity:
    """This process."""
    pid = os.getpid()
    stat = _stat(pid)
    return ProcessIdentity(socket.gethostname(), _boot_id(), pid, stat[1] if stat else "")


def is_gone(process: ProcessIdentity, here: ProcessIdentity) -> bool:
    """Whether ``process``, recorded on this host, has certainly ended.

    Never true for a live process. Where that cannot be told safely (another host, no
    ``/proc``), the answer is False and the lease decides.
    """
    if process.host != here.host or not here.boot or process.boot != here.boot:
        return False  # another machine, boot or container: its pids mean nothing here
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user: compare start times below
    except OSError:
        return False
    if not process.started:
        return False  # no start time recorded: a reused pid cannot be told apart
    stat = _stat(process.pid)
    if stat is None:
        return False
    state, started = stat
    return started != process.started or state in ("Z", "X")  # reused, or a zombie
