"""Benchmark: how fast the runs of a dead worker resume, and what an idle worker costs.

Each case kills a real worker process with SIGKILL and measures, in seconds:

- ``restart, sleep late by``: a run sleeps 3 s; its only worker is killed 1 s into the
  sleep (the run still loaded and leased) and restarted 1 s later: how late the sleep
  ends (it should end on time; before, it waited for the dead worker's lease);
- ``restart, overdue timer fires after``: a 1 s sleep whose worker is killed, restarted
  2 s later: from the restarted worker being ready to the run's end;
- ``takeover on the same host``: a live worker takes over a killed worker's run
  mid-step (leases of 15 s: only the pid check makes it fast);
- ``takeover from another host``: the same with the killed worker on "another host"
  (its pid cannot be checked), default lease: bounded by the lease.

And the database load of idle workers: statements per second an idle worker sends
(and transactions per second on PostgreSQL, from ``pg_stat_database``).

Run::

    .venv/bin/python bench/recovery.py                    # both databases, 3 repetitions
    .venv/bin/python bench/recovery.py --backends postgres --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/recovery.py` from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.engine import DEFAULT_PG_URL, _drop_pg, _pg_problem, _pg_url, _recreate_pg  # noqa: E402
from workflows.engine import Engine, RunStatus, _process, now, sleep, step, workflow  # noqa: E402

DB_NAME = "bench_recovery"
LONG_LEASE = 15.0


@step
async def recovery_slow() -> int:
    await asyncio.sleep(float(os.environ.get("RECOVERY_SLOW", "30")))
    return os.getpid()


@workflow("bench.recovery_takeover")
async def recovery_takeover() -> int:
    return await recovery_slow()


@workflow("bench.recovery_sleep")
async def recovery_sleep(seconds: float) -> float:
    await sleep(seconds)
    return now().timestamp()


# -- the worker process ---------------------------------------------------------------------


async def serve(url: str, lease_ttl: float | None, idle_window: float, worker_id: str) -> None:
    options: dict[str, Any] = {"idle_window": idle_window, "poll_interval": 0.1}
    if lease_ttl is not None:
        options["lease_ttl"] = lease_ttl
    async with Engine(url, **options) as engine, engine.worker(worker_id=worker_id):
        print("ready", flush=True)
        await asyncio.Event().wait()


def worker_main(args: argparse.Namespace) -> None:
    if args.host:  # pretend to run elsewhere: no pid check possible
        here = _process.current()
        pretend = _process.ProcessIdentity(args.host, here.boot, here.pid, here.started)
        _process.current = lambda: pretend
    asyncio.run(serve(args.url, args.lease_ttl, args.idle_window, args.worker_id))


class Worker:
    def __init__(self, url: str, *, lease_ttl: float | None = LONG_LEASE, **extra: Any) -> None:
        cmd = [sys.executable, "-m", "bench.recovery", "--worker", "--url", url]
        cmd += ["--worker-id", extra.get("worker_id", f"w{time.monotonic_ns()}")]
        cmd += ["--idle-window", str(extra.get("idle_window", 30.0))]
        if lease_ttl is not None:
            cmd += ["--lease-ttl", str(lease_ttl)]
        if extra.get("host"):
            cmd += ["--host", extra["host"]]
        env = dict(os.environ, PYTHONPATH=str(ROOT), RECOVERY_SLOW=str(extra.get("slow", 30)))
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self.proc.stdout is not None
        if b"ready" not in self.proc.stdout.readline():
            raise RuntimeError("worker did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# -- the cases ---------------------------------------------------------------------------


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110  (polls the database)
            await asyncio.sleep(0.02)


async def _status(client: Engine, run_id: str, status: RunStatus) -> bool:
    return (await client.get_run(run_id)).status == status


async def _sleeping(client: Engine, run_id: str) -> bool:
    return any(s.status == "sleeping" for s in (await client.get_run(run_id)).steps)


async def case_restart_sleep(url: str, workers: list[Worker]) -> float:
    async with Engine(url, poll_interval=0.05) as client:
        workers.append(Worker(url))
        started = time.time()
        handle = await client.start(recovery_sleep, 3.0)
        await _until(lambda: _sleeping(client, handle.run_id))
        await asyncio.sleep(max(0.0, started + 1.0 - time.time()))
        workers[-1].kill()
        await asyncio.sleep(1.0)
        workers.append(Worker(url))
        woke_at: float = await handle.result(timeout=60)
        return woke_at - (started + 3.0)


async def case_overdue_timer(url: str, workers: list[Worker]) -> float:
    async with Engine(url, poll_interval=0.05) as client:
        workers.append(Worker(url))
        handle = await client.start(recovery_sleep, 1.0)
        await _until(lambda: _sleeping(client, handle.run_id))
        workers[-1].kill()
        await asyncio.sleep(2.0)
        workers.append(Worker(url))
        ready = time.time()
        woke_at: float = await handle.result(timeout=60)
        return woke_at - ready


async def _takeover(url: str, workers: list[Worker], **doomed: Any) -> float:
    async with Engine(url, poll_interval=0.05) as client:
        workers.append(Worker(url, worker_id="doomed", **doomed))
        handle = await client.start(recovery_takeover)
        await _until(lambda: _status(client, handle.run_id, RunStatus.RUNNING))
        await asyncio.sleep(0.3)  # the step is executing
        survivor = Worker(url, worker_id="survivor", slow=0, lease_ttl=doomed.get("lease_ttl"))
        workers.append(survivor)
        workers[-2].kill()
        killed = time.monotonic()
        await handle.result(timeout=60)
        return time.monotonic() - killed


async def case_same_host(url: str, workers: list[Worker]) -> float:
    return await _takeover(url, workers, lease_ttl=LONG_LEASE)


async def case_other_host(url: str, workers: list[Worker]) -> float:
    return await _takeover(url, workers, lease_ttl=None, host="another-host")


CASES: list[tuple[str, Callable[[str, list[Worker]], Coroutine[Any, Any, float]]]] = [
    ("restart, sleep late by", case_restart_sleep),
    ("restart, overdue timer fires after", case_overdue_timer),
    ("takeover on the same host (15 s lease)", case_same_host),
    ("takeover from another host (default lease)", case_other_host),
]


async def idle_load(url: str, seconds: float) -> dict[str, float]:
    """Statements (and PostgreSQL transactions) per second of one idle worker."""
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    async with Engine(url) as engine:
        db = engine._db
        for target in (db.writer.sync_engine, db.reader.sync_engine):
            if not event.contains(target, "before_cursor_execute", count):
                event.listen(target, "before_cursor_execute", count)
        async with engine.worker():
            await asyncio.sleep(1.0)  # start-up is not idle
            xacts = await _pg_xacts(url)
            statements, t0 = 0, time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            done = statements
            after = await _pg_xacts(url)
    figures = {"statements_per_s": done / elapsed}
    if xacts is not None and after is not None:
        figures["pg_transactions_per_s"] = (after - xacts - 1) / elapsed  # less our own read
    return figures


async def _pg_xacts(url: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            DB_NAME,
        )
        return int(value)
    finally:
        await conn.close()


# -- the report --------------------------------------------------------------------------


def _fresh_url(backend: str, admin_url: str, tmp: Path) -> str:
    if backend == "postgres":
        asyncio.run(_recreate_pg(admin_url, DB_NAME))
        return _pg_url(admin_url, DB_NAME, "postgresql+asyncpg")
    path = tmp / f"recovery-{time.monotonic_ns()}.db"
    return f"sqlite+aiosqlite:///{path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)
    parser.add_argument("--lease-ttl", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--idle-window", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgres" in backends and (problem := asyncio.run(_pg_problem(args.pg_url))):
        print(f"!! PostgreSQL at {args.pg_url} is unreachable ({problem}); skipping it")
        backends.remove("postgres")
    tmp = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    print(f"bench/recovery.py: medians of {args.repeat}; {os.cpu_count()} CPUs\n")
    rows: list[tuple[str, str, str]] = []
    for backend in backends:
        for label, case in CASES:
            samples = []
            for _ in range(args.repeat):
                url = _fresh_url(backend, args.pg_url, tmp)
                workers: list[Worker] = []
                try:
                    samples.append(asyncio.run(case(url, workers)))
                finally:
                    for worker in workers:
                        worker.close()
            median = statistics.median(samples)
            spread = ", ".join(f"{s:.2f}" for s in samples)
            rows.append((backend, label, f"{median:.2f} s  ({spread})"))
            print(f"  {backend:8} {label:44} {rows[-1][2]}", flush=True)
        load = asyncio.run(idle_load(_fresh_url(backend, args.pg_url, tmp), args.idle_seconds))
        for key, value in load.items():
            print(f"  {backend:8} {'idle worker: ' + key.replace('_', ' '):44} {value:.2f}")
    if "postgres" in backends:
        asyncio.run(_drop_pg(args.pg_url, [DB_NAME]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
