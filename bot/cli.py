"""The ``feedback-bot`` command line.

Each sub-command lives in its own ``add_*`` function that registers a parser and the
coroutine it runs; :func:`main` calls ``asyncio.run`` at the edge (async only inside).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

Handler = Callable[[argparse.Namespace], Awaitable[int]]


def add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the offline demo on the embedded SQLite default")
    parser.add_argument("--database-url", default=None, help="default: a file under ./var/")

    async def handler(args: argparse.Namespace) -> int:
        from bot.demo import run_demo

        return await run_demo(args.database_url)

    parser.set_defaults(handler=handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedback-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
