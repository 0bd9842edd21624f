"""A worker process for crash tests: ``python -m tests.crash.worker_main URL [options]``."""

from __future__ import annotations

import argparse
import asyncio
import logging

import tests.crash.flows  # noqa: F401  (registers the workflows)
from tests.crash import (
    flows_races,  # noqa: F401  (and the stall tests' workflows)
    flows_recovery,  # noqa: F401  (and the recovery tests' workflows)
)
from workflows.engine import Engine, _faults, _process


async def serve(args: argparse.Namespace) -> None:
    options = {
        "idle_window": args.idle_window,
        "poll_interval": 0.1,
        "max_recoveries": args.max_recoveries,
    }
    if args.lease_ttl is not None:
        options["lease_ttl"] = args.lease_ttl
    async with (
        Engine(args.url, **options) as engine,
        engine.worker(concurrency=8, worker_id=args.worker_id),
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--fault")
    parser.add_argument("--worker-id")
    parser.add_argument("--lease-ttl", type=float)
    parser.add_argument("--max-recoveries", type=int, default=10)
    parser.add_argument("--idle-window", type=float, default=0.2)
    parser.add_argument("--host", help="pretend to run on another host (no pid check)")
    args = parser.parse_args()
    if args.host:
        here = _process.current()
        _process.current = lambda: _process.ProcessIdentity(
            args.host, here.boot, here.pid, here.started
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if args.fault:
        _faults.arm(args.fault)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
