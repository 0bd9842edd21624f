"""A product worker process for crash tests: ``python -m tests.crash.product_worker URL``.

Slack's URL and token come from ``SLACK_API_URL`` and ``SLACK_BOT_TOKEN``; ``--fault``
arms an engine fault point (e.g. ``after_step:send_linked``) that SIGKILLs the process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import workflows.intake  # noqa: F401  (registers the product's workflows)
from agents import get_embedder
from feedback.settings import Settings
from workflows.deps import open_deps, use_deps
from workflows.engine import Engine, _faults


async def serve(url: str) -> None:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    async with (
        open_deps(settings, embedder=get_embedder("local")) as deps,
        Engine(url, idle_window=0.2, poll_interval=0.1, lease_ttl=1.5) as engine,
    ):
        with use_deps(deps):
            async with engine.worker(concurrency=8):
                print("ready", flush=True)
                await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--fault")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if args.fault:
        _faults.arm(args.fault)
    asyncio.run(serve(args.url))


if __name__ == "__main__":
    main()
