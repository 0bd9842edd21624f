"""The ``feedback-bot`` command line.

Each sub-command lives in its own ``add_*`` function that registers a parser and the
coroutine it runs; :func:`main` calls ``asyncio.run`` at the edge (async only inside).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the offline demo on the embedded SQLite default")
    parser.add_argument("--database-url", default=None, help="default: a file under ./var/")

    async def handler(args: argparse.Namespace) -> int:
        from bot.demo import run_demo

        return await run_demo(args.database_url)

    parser.set_defaults(handler=handler)


def _add_matching_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``eval-matching`` and ``calibrate``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="match-eval/1 files (.json.gz)")
    parser.add_argument(
        "--embedder",
        choices=("local", "openai", "fake"),
        default="local",
        help="default: local (offline all-MiniLM-L6-v2)",
    )
    parser.add_argument("--model", help="openai: embedding model (default text-embedding-3-small)")
    parser.add_argument("--dimensions", type=int, help="openai: vector size to ask for")
    parser.add_argument(
        "--base-url",
        help="openai: API root (default $OPENAI_BASE_URL or "
        "OpenAI's); the key comes from $OPENAI_API_KEY",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_eval_matching(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from agents.evaluation import METRICS_HELP

    parser = sub.add_parser(
        "eval-matching",
        help="measure matching quality on labelled match-eval/1 files",
        description="Index each file's requests, decide each query, and report matching\n"
        "quality per file. With --json: one JSON list, an object per file with keys\n"
        "file, recall_at_1, recall_at_5, auc, link_precision, link_coverage,\n"
        "false_link_rate, ask_share, texts_per_second (null when undefined).",
        epilog=METRICS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_matching_options(parser)
    parser.add_argument("--link", type=float, help="link threshold (default: the embedder's)")
    parser.add_argument("--ask", type=float, help="ask threshold (default: the embedder's)")
    parser.add_argument("--margin", type=float, help="lead over the runner-up needed to link")

    async def handler(args: argparse.Namespace) -> int:
        import json
        import os

        from agents import evaluation as ev
        from agents.errors import AgentsError

        embedder = None
        try:
            embedder = ev.build_embedder(
                args.embedder,
                model=args.model,
                dimensions=args.dimensions,
                base_url=args.base_url,
                environ=os.environ,
            )
            thresholds = ev.resolve_thresholds(
                embedder, link=args.link, ask=args.ask, margin=args.margin
            )
            reports = await ev.evaluate_files(args.files, embedder, thresholds)
        except AgentsError as exc:
            print(f"feedback-bot eval-matching: error: {exc}", file=sys.stderr)
            return 2
        finally:
            if embedder is not None:
                await ev.close_embedder(embedder)
        print(
            json.dumps([r.to_json() for r in reports], indent=2)
            if args.json
            else ev.format_reports(reports)
        )
        return 0

    parser.set_defaults(handler=handler)


def add_calibrate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from agents.evaluation import calibration_help

    parser = sub.add_parser(
        "calibrate",
        help="derive link/ask thresholds for a target link precision",
        description="Print the link, margin and ask thresholds that reach a target link\n"
        "precision on labelled match-eval/1 files, and what they give on each file.\n"
        "Exit status 1 when the target is out of reach.",
        epilog=calibration_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_matching_options(parser)
    parser.add_argument(
        "--precision", type=float, default=0.95, help="target link precision (default 0.95)"
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="one-sided confidence of the precision bound; 0.5 uses the "
        "point estimate (default 0.95)",
    )
    parser.add_argument(
        "--max-miss",
        type=float,
        default=0.2,
        help="allowed share of matchable feedback filed as new (default 0.2)",
    )

    async def handler(args: argparse.Namespace) -> int:
        import json
        import os

        from agents import evaluation as ev
        from agents.errors import AgentsError

        embedder = None
        try:
            embedder = ev.build_embedder(
                args.embedder,
                model=args.model,
                dimensions=args.dimensions,
                base_url=args.base_url,
                environ=os.environ,
            )
            result = await ev.calibrate_files(
                args.files,
                embedder,
                precision=args.precision,
                confidence=args.confidence,
                max_miss=args.max_miss,
            )
        except (AgentsError, ValueError) as exc:
            print(f"feedback-bot calibrate: error: {exc}", file=sys.stderr)
            return 2
        finally:
            if embedder is not None:
                await ev.close_embedder(embedder)
        print(
            json.dumps(ev.calibration_json(result), indent=2)
            if args.json
            else ev.format_calibration(result)
        )
        return 0 if result.reached else 1

    parser.set_defaults(handler=handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedback-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_demo(sub)
    add_eval_matching(sub)
    add_calibrate(sub)
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
