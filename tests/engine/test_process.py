"""Telling a dead worker process from a live one on this host, pid reuse included."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from workflows.engine._process import ProcessIdentity, current, is_gone


def test_a_live_process_is_never_gone() -> None:
    here = current()
    assert not is_gone(here, here)


def test_a_process_that_exited_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    here = current()
    assert is_gone(dataclasses.replace(here, pid=child.pid), here)


def test_a_pid_reused_by_another_process_does_not_keep_the_dead_one_alive() -> None:
    here = current()
    assert here.started, "this platform records process start times"
    recorded = dataclasses.replace(here, started=str(int(here.started) + 1))
    assert is_gone(recorded, here)  # same pid, other start time: another process


def test_a_process_on_another_host_is_left_to_its_lease() -> None:
    here = current()
    assert not is_gone(ProcessIdentity("elsewhere", here.boot, 1, "1"), here)


def test_a_process_of_another_boot_or_pid_namespace_is_left_to_its_lease() -> None:
    # another container on this host, or another machine with the same host name:
    # its pid says nothing here, even when a process here has that pid
    here = current()
    elsewhere = dataclasses.replace(here, boot="another-boot/4026531836")
    assert not is_gone(elsewhere, here)
    assert not is_gone(dataclasses.replace(elsewhere, pid=2**22 + 1), here)
