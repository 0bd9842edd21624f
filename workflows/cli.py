"""The operator CLI: ``python -m workflows``.

::

    python -m workflows worker --import MODULE [--import MODULE ...] [--concurrency N]
    python -m workflows runs list [--status S] [--workflow W] [--limit N]
    python -m workflows runs show RUN
    python -m workflows runs cancel RUN
    python -m workflows runs retry RUN
    python -m workflows hooks list

Every command takes ``--database-url`` (default: ``$WORKFLOWS_DATABASE_URL``) and
``--json``. Exit codes: 0 done, 1 the engine refused or failed (unknown run, wrong
state, database down), 2 bad usage (missing URL, unknown option, unimportable module).

This is the edge of the program: the only place that reads the environment,
configures logging and calls ``asyncio.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from workflows import _cli_format as fmt
from workflows.engine import Engine, EngineError, RunNotFound, RunStatus

ENV_DATABASE_URL = "WORKFLOWS_DATABASE_URL"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger(__name__)
Command = Callable[[Engine, argparse.Namespace], Awaitable[str]]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UsageError(Exception):
    """The command line or environment is wrong; exit with code 2."""


class CommandFailed(Exception):
    """The command cannot be carried out as asked; exit with code 1."""


# -- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one CLI command and return its exit code.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).
        environ: Where ``WORKFLOWS_DATABASE_URL`` is looked up (default: ``os.environ``).

    Returns:
        0 on success, 1 when the engine refuses or fails, 2 on bad usage.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    worker = args.command == "worker"
    _configure_logging(args.log_level or ("INFO" if worker else "ERROR"), as_json=args.json)
    try:
        url = database_url(args.database_url, os.environ if environ is None else environ)
        if worker:
            return _start_worker(url, args)
        _require_existing_sqlite(url)
        _print(asyncio.run(_run_command(url, args.handler, args)))
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (EngineError, CommandFailed) as exc:
        print(f"error: {_explain(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


def _print(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # e.g. `runs list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def database_url(given: str | None, environ: Mapping[str, str]) -> URL:
    """The database URL from ``--database-url``, ``$WORKFLOWS_DATABASE_URL`` or the bot's
    own ``$DATABASE_URL`` (one database serves the engine and the domain).

    Raises:
        UsageError: Neither is set, or the value is not a database URL.
    """
    text = given or (environ.get(ENV_DATABASE_URL) or environ.get("DATABASE_URL") or "").strip()
    if not text:
        raise UsageError(
            f"no database URL: pass --database-url URL or set {ENV_DATABASE_URL} (or DATABASE_URL) "
            "(e.g. sqlite+aiosqlite:///var/runs.db or postgresql+asyncpg://user@host/db)"
        )
    try:
        return make_url(text)
    except ArgumentError:
        raise UsageError(
            f"{text!r} is not a database URL; expected e.g. sqlite+aiosqlite:///var/runs.db "
            "or postgresql+asyncpg://user@host/db"
        ) from None


def shown(url: URL) -> str:
    """The URL as it may appear in logs and messages: the password hidden."""
    return url.render_as_string(hide_password=True)


def _require_existing_sqlite(url: URL) -> None:
    # Opening an Engine creates the file: a mistyped path would silently show "no runs".
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        raise CommandFailed(
            f"no SQLite database at {path}; check --database-url / {ENV_DATABASE_URL} "
            "(a worker creates the file when it first starts)"
        )


def _explain(exc: Exception) -> str:
    if isinstance(exc, RunNotFound):
        return f"{exc}; `python -m workflows runs list` shows the latest runs"
    return str(exc)


async def _run_command(url: URL, handler: Command, args: argparse.Namespace) -> str:
    async with Engine(url.render_as_string(hide_password=False)) as engine:
        return await handler(engine, args)


# -- runs and hooks -----------------------------------------------------------------------


async def runs_list(engine: Engine, args: argparse.Namespace) -> str:
    """``runs list``: the newest runs, optionally by status and workflow."""
    runs = await engine.list_runs(status=args.status, workflow=args.workflow, limit=args.limit)
    if args.json:
        return fmt.dumps([fmt.run_json(run) for run in runs])
    return fmt.runs_table(runs)


async def runs_show(engine: Engine, args: argparse.Namespace) -> str:
    """``runs show RUN``: the run, its steps and its event history."""
    run = await engine.get_run(args.run_id)
    return fmt.dumps(fmt.run_json(run, detail=True)) if args.json else fmt.run_detail(run)


async def runs_cancel(engine: Engine, args: argparse.Namespace) -> str:
    """``runs cancel RUN``: cancel it now, or ask its worker to stop it before its next step."""
    before = await engine.handle(args.run_id).status()
    status = await engine.cancel(args.run_id)
    if before.finished:
        outcome, text = "already_finished", f"run {args.run_id} already {before}; left as it is"
    elif status == RunStatus.CANCELLED:
        outcome, text = "cancelled", f"run {args.run_id} cancelled"
    else:
        outcome = "cancel_requested"
        text = f"run {args.run_id} is {status}: its worker will cancel it before its next step"
    if args.json:
        return fmt.dumps({"run_id": args.run_id, "status": str(status), "outcome": outcome})
    return text


async def runs_retry(engine: Engine, args: argparse.Namespace) -> str:
    """``runs retry RUN``: continue a failed, cancelled or crashed run from its last good step."""
    status = await (await engine.retry(args.run_id)).status()
    if args.json:
        return fmt.dumps({"run_id": args.run_id, "status": str(status)})
    return f"run {args.run_id} is {status}: a worker will continue it from its last completed step"


async def hooks_list(engine: Engine, args: argparse.Namespace) -> str:
    """``hooks list``: hooks that live runs wait on, oldest first."""
    hooks = await engine.list_hooks(limit=args.limit)
    if args.json:
        return fmt.dumps([fmt.hook_json(hook) for hook in hooks])
    return fmt.hooks_table(hooks)


# -- worker -------------------------------------------------------------------------------


def _start_worker(url: URL, args: argparse.Namespace) -> int:
    for module in args.imports:
        _import(module)
    asyncio.run(serve(url, concurrency=args.concurrency))
    return EXIT_OK


def _import(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"cannot import {module!r} (--import): {exc}") from None


async def serve(url: URL, *, concurrency: int) -> None:
    """Run a worker on ``url`` until SIGINT or SIGTERM, then hand its runs back.

    Several such processes may serve one database; each claims due runs on its own.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _on_signal, signum, stop)
    try:
        async with Engine(url.render_as_string(hide_password=False)) as engine:
            async with engine.worker(concurrency=concurrency) as worker:
                names = ", ".join(engine.registry.names()) or "(none: pass --import MODULE)"
                log.info(
                    "worker %s serving %s with concurrency %d; workflows: %s",
                    worker.id,
                    shown(url),
                    concurrency,
                    names,
                )
                await stop.wait()
            log.info("worker %s stopped; its unfinished runs were handed back", worker.id)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _on_signal(signum: int, stop: asyncio.Event) -> None:
    if stop.is_set():
        log.info("already stopping; waiting for runs to be handed back")
        return
    log.info("received %s; stopping", signal.Signals(signum).name)
    stop.set()


class _JsonLogFormatter(logging.Formatter):
    """One JSON object per log record, for log shippers (``worker --json``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "step"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _configure_logging(level: str, *, as_json: bool) -> None:
    # One-shot commands default to ERROR: the engine's per-retry warnings while a
    # database is down would bury the one error line they end with.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonLogFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])
    # SQLAlchemy logs every statement at INFO once its logger is enabled for INFO.
    logging.getLogger("sqlalchemy").setLevel(max(logging.WARNING, logging.getLevelName(level)))


# -- arguments ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m workflows``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        help=f"sqlite+aiosqlite:///path.db or postgresql+asyncpg://... "
        f"(default: ${ENV_DATABASE_URL})",
    )
    common.add_argument("--json", action="store_true", help="print JSON (logs too)")
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="on stderr (default: INFO for the worker, ERROR otherwise)",
    )
    parser = argparse.ArgumentParser(
        prog="python -m workflows",
        description="Run workflows and inspect, cancel or retry their runs.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_worker(commands, common)
    runs = commands.add_parser("runs", help="list, inspect, cancel and retry runs")
    run_commands = runs.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_runs_list(run_commands, common)
    for name, handler, what in (
        ("show", runs_show, "show a run, its steps and its history"),
        ("cancel", runs_cancel, "cancel a run"),
        ("retry", runs_retry, "continue a failed, cancelled or crashed run"),
    ):
        sub = run_commands.add_parser(name, parents=[common], help=what, description=what)
        sub.add_argument("run_id", metavar="RUN")
        sub.set_defaults(handler=handler)
    hooks = commands.add_parser("hooks", help="list live hooks")
    hook_commands = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    hooks_ls = hook_commands.add_parser("list", parents=[common], help="hooks live runs wait on")
    hooks_ls.add_argument(
        "--limit", type=_positive, default=100, metavar="N", help="at most N hooks (default: 100)"
    )
    hooks_ls.set_defaults(handler=hooks_list)
    return parser


def _add_worker(commands: Subparsers, common: argparse.ArgumentParser) -> None:
    worker = commands.add_parser(
        "worker",
        parents=[common],
        help="run workflows until SIGINT or SIGTERM",
        description="Run workflows until SIGINT or SIGTERM; --json logs one JSON object a line.",
    )
    worker.add_argument(
        "--import",
        dest="imports",
        action="append",
        required=True,
        metavar="MODULE",
        help="a module whose @workflow functions to serve (repeatable)",
    )
    worker.add_argument(
        "--concurrency",
        type=_positive,
        default=10,
        metavar="N",
        help="runs executing at once (default: 10)",
    )


def _add_runs_list(run_commands: Subparsers, common: argparse.ArgumentParser) -> None:
    ls = run_commands.add_parser("list", parents=[common], help="the newest runs")
    ls.add_argument(
        "--status",
        action="append",
        choices=[str(s) for s in RunStatus],
        help="only runs in this status (repeatable)",
    )
    ls.add_argument("--workflow", metavar="NAME", help="only runs of this workflow")
    ls.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N runs (default: 50)"
    )
    ls.set_defaults(handler=runs_list)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
