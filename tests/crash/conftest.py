"""Crash-test harness: worker subprocesses that tests kill, stop and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from workflows.engine import Engine

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """One ``tests.crash.worker_main`` process."""

    def __init__(
        self,
        url: str,
        log: Path,
        env: dict[str, str],
        args: list[str],
        module: str = "tests.crash.worker_main",
    ) -> None:
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, url, *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"ready" not in line:
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    async def exited(self, timeout: float = 20) -> int:
        async with asyncio.timeout(timeout):
            while self.proc.poll() is None:
                await asyncio.sleep(0.05)
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def journal(tmp_path: Path) -> Callable[[], Counter[str]]:
    path = tmp_path / "journal.txt"
    path.touch()
    os.environ["CRASH_JOURNAL"] = str(path)

    def read() -> Counter[str]:
        return Counter(line.split()[0] for line in path.read_text().splitlines() if line.strip())

    read.path = path  # type: ignore[attr-defined]
    return read


@pytest.fixture
def spawn(
    db_url: str, tmp_path: Path, journal: Callable[[], Counter[str]]
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(
        *,
        fault: str | None = None,
        worker_id: str | None = None,
        lease_ttl: float | None = 1.5,
        max_recoveries: int = 10,
        extra_env: dict[str, str] | None = None,
        idle_window: float = 0.2,
        host: str | None = None,
    ) -> WorkerProcess:
        args = ["--max-recoveries", str(max_recoveries)]
        if lease_ttl is not None:  # else the engine's default
            args += ["--lease-ttl", str(lease_ttl)]
        args += ["--idle-window", str(idle_window)]
        if host:
            args += ["--host", host]
        if fault:
            args += ["--fault", fault]
        if worker_id:
            args += ["--worker-id", worker_id]
        env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
        worker = WorkerProcess(db_url, tmp_path / f"worker-{len(started)}.log", env, args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[Engine]:
    """An engine without a worker, to start runs and read them."""
    async with Engine(db_url, poll_interval=0.05) as engine:
        yield engine
