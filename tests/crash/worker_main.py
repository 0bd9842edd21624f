"""A worker process for crash tests: ``python -m tests.crash.worker_main URL [options]``."""

from __future__ import annotations

import argparse
import asyncio
import logging

import tests.crash.flows  # noqa: F401  (registers the workflows)
from workflows.engine import Engine, _faults


async def serve(args: argparse.Namespace) -> None:
    options = {
        "lease_ttl": args.lease_ttl,
        "idle_window": 0.2,
        "poll_interval": 0.1,
        "max_recoveries": args.max_recoveries,
    }
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
    parser.add_argument("--lease-ttl", type=float, default=1.5)
    parser.add_argument("--max-recoveries", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if args.fault:
        _faults.arm(args.fault)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
