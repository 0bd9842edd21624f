"""The ``feedback-bot`` command line.

Each sub-command lives in its own ``add_*`` function that registers a parser and the
coroutine it runs; :func:`main` calls ``asyncio.run`` at the edge (async only inside).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bot.simulator.cli import add_simulator

if TYPE_CHECKING:
    from agents import Embedder
    from feedback.settings import Settings
    from workflows.engine import Engine

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the offline demo on the embedded SQLite default")
    parser.add_argument("--database-url", default=None, help="default: a file under ./var/")
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="keep the bot running and play the Slack side from the terminal",
    )

    async def handler(args: argparse.Namespace) -> int:
        from bot.demo import run_demo

        return await run_demo(args.database_url, interactive=args.interactive)

    parser.set_defaults(handler=handler)


def _add_matching_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``eval-matching`` and ``calibrate``."""
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="match-eval/1 files (.json.gz), or CSVs of the workspace: columns text and "
        "request_id (empty when no request fits), or the CSV of `feedback-bot export`; "
        "matched against the requests in the database, the CSV's own rows held out (by "
        "feedback_id when it has one)",
    )
    parser.add_argument(
        "--embedder",
        choices=("local", "openai", "fake"),
        default=None,
        help="default: local (offline all-MiniLM-L6-v2) for FILEs; the configured one "
        "($FEEDBACK_EMBEDDER, else local) with --from-decisions and --reset",
    )
    parser.add_argument("--model", help="openai: embedding model (default text-embedding-3-small)")
    parser.add_argument("--dimensions", type=int, help="openai: vector size to ask for")
    parser.add_argument(
        "--base-url",
        help="openai: API root (default $OPENAI_BASE_URL or "
        "OpenAI's); the key comes from $OPENAI_API_KEY",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_database_url(parser)


async def _matching_sources(args: argparse.Namespace, embedder: str) -> list[Any]:
    """The files, with CSVs read against the workspace's requests (bot.matching_admin)."""
    from bot.matching_admin import load_sources

    if not _has_csv(args):
        return list(args.files)
    return await load_sources(args.files, embedder, args.database_url)


def add_eval_matching(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from agents.evaluation import METRICS_HELP

    parser = sub.add_parser(
        "eval-matching",
        help="measure matching quality on labelled match-eval/1 files",
        description="Index each file's requests, decide each query, and report matching\n"
        "quality per file. With --json: one JSON list, an object per file with keys\n"
        "file, recall_at_1, recall_at_5, auc, link_precision, link_coverage,\n"
        "false_link_rate, ask_share, texts_per_second, links, precision_lower_bound,\n"
        "link_share, guarded (links the specifics guard stopped) and margin_asked\n"
        "(links asked because the runner-up was too close); null when undefined.",
        epilog=METRICS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_matching_options(parser)
    parser.add_argument("--link", type=float, help="link threshold (default: the embedder's)")
    parser.add_argument("--ask", type=float, help="ask threshold (default: the embedder's)")
    parser.add_argument("--margin", type=float, help="lead over the runner-up needed to link")

    async def handler(args: argparse.Namespace) -> int:
        import json

        from agents import evaluation as ev
        from agents.errors import AgentsError
        from feedback.errors import ConfigurationError

        embedder = None
        try:
            embedder = _file_embedder(args)
            thresholds = ev.resolve_thresholds(
                embedder, link=args.link, ask=args.ask, margin=args.margin
            )
            if not args.files:
                raise ValueError("name at least one FILE")
            sources = await _matching_sources(args, embedder.name)
            reports = await ev.evaluate_files(sources, embedder, thresholds)
        except (AgentsError, ValueError, ConfigurationError) as exc:
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
        "With --from-decisions, derive them from the workspace's own decisions instead\n"
        "(questions people answered, Undos of automatic links, links kept for a week)\n"
        "and print what would change. --apply puts them in force (an audit entry the\n"
        "workers read within 30 s; `feedback-bot status` shows it); --reset puts the\n"
        "embedder's defaults back. Exit status 1 when the target is out of reach, or\n"
        "there are too few decisions: the thresholds in force stay.",
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
    parser.add_argument(
        "--max-false-link",
        type=float,
        default=0.02,
        help="allowed share of feedback without a request that is linked, on each file "
        "(default 0.02)",
    )
    parser.add_argument(
        "--from-decisions",
        action="store_true",
        help="learn from the workspace's decisions in the database instead of FILEs",
    )
    parser.add_argument(
        "--settled-days",
        type=_days,
        default=7.0,
        help="--from-decisions: an automatic link standing this long without an Undo "
        "counts as right (default 7)",
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help="put the thresholds in force in the database (default: only print them); "
        "nothing is written when they are in force already",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="put the embedder's own defaults back in force (an audit entry; "
        "`feedback-bot status` shows it)",
    )

    async def handler(args: argparse.Namespace) -> int:
        from agents.errors import AgentsError
        from feedback.errors import ConfigurationError

        try:
            if args.json and (args.reset or args.from_decisions):
                raise ValueError(
                    "--json applies to FILE calibration only (--from-decisions and --reset "
                    "print what they do for a person)"
                )
            if args.reset:
                if args.files or args.from_decisions or args.apply:
                    raise ValueError("--reset takes no FILE, --from-decisions or --apply")
                return await _domain_command("calibrate", _calibrate_reset)(args)
            if args.from_decisions:
                if args.files:
                    raise ValueError("--from-decisions takes no FILE")
                return await _domain_command("calibrate", _calibrate_from_decisions)(args)
            if not args.files:
                raise ValueError("name at least one FILE, or use --from-decisions")
            return await _calibrate_files(args)
        except (AgentsError, ValueError, ConfigurationError) as exc:
            print(f"feedback-bot calibrate: error: {exc}", file=sys.stderr)
            return 2

    parser.set_defaults(handler=handler)


def _days(value: str) -> float:
    """``--settled-days``: a finite number of days, 0 or more (0: every link counts now)."""
    try:
        days = float(value)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days >= 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number of days, 0 or more (e.g. 7), not {value!r}"
        )
    return days


def _has_csv(args: argparse.Namespace) -> bool:
    return any(str(f).lower().endswith(".csv") for f in args.files)


def _file_embedder(args: argparse.Namespace) -> Embedder:
    """The embedder ``eval-matching`` and ``calibrate`` score files with (their options)."""
    import os

    from agents import evaluation as ev

    return ev.build_embedder(
        args.embedder or "local",
        model=args.model,
        dimensions=args.dimensions,
        base_url=args.base_url,
        environ=os.environ,
    )


async def _calibrate_files(args: argparse.Namespace) -> int:
    import json

    from agents import evaluation as ev

    embedder = _file_embedder(args)
    try:
        sources = await _matching_sources(args, embedder.name)
        result = await ev.calibrate_files(
            sources,
            embedder,
            precision=args.precision,
            confidence=args.confidence,
            max_miss=args.max_miss,
            max_false_link=args.max_false_link,
        )
    finally:
        await ev.close_embedder(embedder)
    print(
        json.dumps(ev.calibration_json(result), indent=2)
        if args.json
        else ev.format_calibration(result)
    )
    if args.apply:
        from bot.matching_admin import apply_calibration
        from feedback import migrate
        from feedback.database import Database

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Database(url) as db:
            return await apply_calibration(db, args, embedder.name, result, args.files)
    return 0 if result.reached else 1


async def _calibrate_reset(args: argparse.Namespace) -> int:
    from bot.matching_admin import reset_to_defaults
    from feedback import migrate
    from feedback.database import Database

    settings = _domain_settings(args)
    embedder = await _configured_embedder(settings, args.embedder)
    await migrate.ensure_current(settings.database_url)
    async with Database(settings.database_url) as db:
        return await reset_to_defaults(db, embedder)


async def _calibrate_from_decisions(args: argparse.Namespace) -> int:
    from bot.matching_admin import calibrate_from_decisions
    from feedback import migrate
    from feedback.database import Database

    settings = _domain_settings(args)
    embedder = await _configured_embedder(settings, args.embedder)
    await migrate.ensure_current(settings.database_url)
    async with Database(settings.database_url) as db:
        return await calibrate_from_decisions(db, args, embedder)


async def _configured_embedder(settings: Settings, name: str | None) -> str:
    """The scorer name of ``--embedder``, else of the configured embedder (as workers use)."""
    from agents.evaluation import close_embedder

    embedder = _settings_embedder(settings, name or settings.embedder)
    await close_embedder(embedder)
    return embedder.name


def _settings_embedder(settings: Settings, name: str) -> Embedder:
    """An embedder by name, with the OpenAI options of the settings when it is ``openai``."""
    from agents import get_embedder

    options: dict[str, Any] = {}
    if name == "openai":
        options = {
            "api_key": settings.openai_api_key.get_secret_value() or None,
            "base_url": settings.openai_base_url,
            "model": settings.openai_embedding_model,
        }
    return get_embedder(name, **options)


def add_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "status",
        help="a short summary of the deployment: database, thresholds, counts, runs",
        description="The database and its revision, the matching thresholds in force and\n"
        "where they came from, requests and feedback by state, questions waiting for a\n"
        "person, and runs waiting or failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--embedder",
        choices=("local", "openai", "fake"),
        default=None,
        help="whose thresholds to show (default: $FEEDBACK_EMBEDDER, else local)",
    )
    _add_database_url(parser)

    async def run(args: argparse.Namespace) -> int:
        from bot.matching_admin import status, status_lines

        settings = _domain_settings(args)
        embedder = await _configured_embedder(settings, args.embedder)
        found = await status(settings.database_url, embedder)
        print("\n".join(status_lines(found)))
        return 0

    parser.set_defaults(handler=_domain_command("status", run))


def _add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=None, help="default: $DATABASE_URL (settings and .env)"
    )


def _domain_command(name: str, run: Handler) -> Handler:
    """Run a domain command: its errors become one line on stderr and an exit status.

    1: the file or the database failed (bad rows, unreadable file, unreachable server);
    2: the configuration is wrong (a setting, the schema's revision, the embedder).
    """

    async def handler(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from agents.errors import AgentsError, EmbedderConfigError
        from feedback.errors import ConfigurationError, ImportFileError

        try:
            return await run(args)
        except (ConfigurationError, EmbedderConfigError) as exc:
            print(f"feedback-bot {name}: error: {exc}", file=sys.stderr)
            return 2
        except (ImportFileError, AgentsError, OSError) as exc:
            print(f"feedback-bot {name}: error: {exc}", file=sys.stderr)
            return 1
        except SQLAlchemyError as exc:
            print(f"feedback-bot {name}: database error: {exc}", file=sys.stderr)
            return 1

    return handler


def _metrics_dir(run: Handler) -> Handler:
    """Run ``serve`` in prometheus_client's multiprocess mode, so that its ``/metrics``
    shows what its worker child counts (see :mod:`bot.multiprocess`)."""

    async def handler(args: argparse.Namespace) -> int:
        from bot.multiprocess import multiprocess_dir

        with multiprocess_dir():  # before anything imports prometheus_client
            return await run(args)

    return handler


def _observed(run: Handler) -> Handler:
    """Record step latencies when someone collects this process's metrics: ``serve``'s
    worker child, or a worker serving its own page (``--metrics-port``)."""

    async def handler(args: argparse.Namespace) -> int:
        from bot import multiprocess

        port: int | None = getattr(args, "metrics_port", None)
        if port is None and not multiprocess.enabled():
            return await run(args)
        from workflows.metrics import recording_steps

        if port is not None:
            from prometheus_client import start_http_server

            start_http_server(port)  # a daemon thread, gone with the process
        with recording_steps():
            return await run(args)

    return handler


def _domain_settings(args: argparse.Namespace) -> Settings:
    from feedback.settings import load_settings

    if args.database_url:
        return load_settings(database_url=args.database_url)
    return load_settings()


def add_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("db", help="the domain database's tables")
    commands = parser.add_subparsers(dest="db_command", required=True)
    upgrade = commands.add_parser(
        "upgrade", help="create or migrate the domain tables to the newest revision"
    )
    _add_database_url(upgrade)

    async def run(args: argparse.Namespace) -> int:
        from feedback import migrate

        url = _domain_settings(args).database_url
        before = await migrate.current(url)
        await migrate.upgrade(url)
        after = await migrate.current(url)
        if before == after:
            print(f"the feedback tables are up to date (revision {after})")
        elif before is None:
            print(f"created the feedback tables (revision {after})")
        else:
            print(f"upgraded the feedback tables from revision {before} to {after}")
        return 0

    upgrade.set_defaults(handler=_domain_command("db upgrade", run))


def _add_import(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], noun: str, what: str, columns: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(noun, help=what)
    commands = parser.add_subparsers(dest=f"{noun}_command", required=True)
    command = commands.add_parser(
        "import",
        help=f"create or update {noun} from a CSV file",
        description=f"Create or update {noun} from a CSV file (UTF-8, a header line naming\n"
        f"the columns: {columns}). Re-importing updates in place. A bad row\n"
        f"imports nothing: every bad row is listed with its line number. Run\n"
        f"`feedback-bot db upgrade` once first.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("file", metavar="FILE.csv")
    _add_database_url(command)
    return command


def add_accounts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _add_import(
        sub,
        "accounts",
        "customer accounts",
        "name, arr, tier, crm_id, owner_email, domain,\nchannels",
    )

    async def run(args: argparse.Namespace) -> int:
        from feedback import imports, migrate
        from feedback.database import Database

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Database(url) as db:
            print(await imports.import_accounts(db, args.file))
        return 0

    command.set_defaults(handler=_domain_command("accounts import", run))


def add_areas(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _add_import(sub, "areas", "product areas", "name, slug, description, channel")

    async def run(args: argparse.Namespace) -> int:
        from feedback import imports, migrate
        from feedback.database import Database

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Database(url) as db:
            print(await imports.import_areas(db, args.file))
        return 0

    command.set_defaults(handler=_domain_command("areas import", run))


def add_requests(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = _add_import(
        sub, "requests", "feature requests", "title, description, status, areas,\ncreator_email"
    )
    command.add_argument(
        "--embedder",
        choices=("local", "openai"),
        default=None,
        help="embeds the requests for matching (default: $FEEDBACK_EMBEDDER, else local)",
    )

    async def run(args: argparse.Namespace) -> int:
        from feedback import imports, migrate
        from feedback.database import Database

        settings = _domain_settings(args)
        await migrate.ensure_current(settings.database_url)
        embedder = _settings_embedder(settings, args.embedder or settings.embedder)
        try:
            async with Database(settings.database_url) as db:
                result = await imports.import_requests(
                    db, args.file, embedder, progress=ProgressBar("embedding requests")
                )
        finally:
            aclose = getattr(embedder, "aclose", None)
            if aclose is not None:
                await aclose()
        print(result)
        return 0

    command.set_defaults(handler=_domain_command("requests import", run))


class ProgressBar:
    """A carriage-return progress bar on stderr; ``tqdm`` would be a dependency for this.

    On a terminal it redraws at each call; elsewhere (logs, pipes) it prints the end only.
    """

    def __init__(self, label: str, *, width: int = 30, stream: TextIO | None = None) -> None:
        self.label, self.width = label, width
        self.stream = stream if stream is not None else sys.stderr

    def __call__(self, done: int, total: int) -> None:
        if done < total and not self.stream.isatty():
            return
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}{end}")
        self.stream.flush()


def add_sync_embeddings(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sync-embeddings",
        help="re-embed every request with the configured embedder (after switching it)",
        description="Start the durable sync-embeddings run and follow it with a progress\n"
        "bar until it ends. A worker runs it (feedback-bot serve's, or feedback-bot\n"
        "worker): Ctrl-C stops following, not the run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the run until it ends (default: on)",
    )
    _add_database_url(parser)

    async def run(args: argparse.Namespace) -> int:
        from datetime import UTC, datetime

        from feedback import migrate
        from workflows.engine import Engine
        from workflows.upkeep import sync_embeddings

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Engine(url) as engine:
            run_id = f"sync-embeddings:{datetime.now(UTC).isoformat(timespec='seconds')}"
            await engine.start(sync_embeddings, run_id=run_id)
            print(f"started run {run_id}", flush=True)
            if not args.wait:
                return 0
            return await _follow_sync(engine, run_id)

    parser.set_defaults(handler=_domain_command("sync-embeddings", run))


async def _follow_sync(
    engine: Engine, run_id: str, *, poll: float = 0.5, hint_after: float = 10.0
) -> int:
    """Show a run of sync-embeddings' batches as a progress bar until it ends."""
    from workflows.engine import RunStatus
    from workflows.upkeep import sync_progress

    bar = ProgressBar("sync-embeddings: batches")
    waited = 0.0
    while True:
        run = await engine.get_run(run_id)
        progress = sync_progress(run)
        if progress is not None:
            bar(*progress)
        if run.status.finished:
            break
        if run.status == RunStatus.PENDING and waited <= hint_after < waited + poll:
            print(
                "waiting for a worker to take the run: is `feedback-bot serve` or "
                "`feedback-bot worker` running on this database?",
                file=sys.stderr,
            )
        waited += poll
        await asyncio.sleep(poll)
    if run.status != RunStatus.COMPLETED:
        error = (run.error or {}).get("message", "")
        print(f"feedback-bot sync-embeddings: the run ended {run.status}: {error}", file=sys.stderr)
        return 1
    print(f"embedded {run.result['texts']} texts of {run.result['requests']} requests")
    return 0


def add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "export",
        help="write the requests with their feedback, accounts and ARR (CSV or JSON)",
        description="Write every request with its filed feedback, the accounts asking and\n"
        "their ARR, most demanded first. CSV: one row per feedback item (a request\n"
        "without feedback: one row). JSON: the requests, each with its feedback.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--format",
        choices=("csv", "json"),
        help="default: the output file's extension, else csv",
    )
    parser.add_argument("--output", "-o", metavar="PATH", help="default: standard output")
    _add_database_url(parser)

    async def run(args: argparse.Namespace) -> int:
        from feedback import export, migrate
        from feedback.database import Database

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Database(url) as db, db.read() as conn:
            backlog = await export.load(conn)
        fmt = args.format or ("json" if str(args.output or "").endswith(".json") else "csv")
        write = export.write_json if fmt == "json" else export.write_csv
        if args.output is None:
            write(backlog, sys.stdout)
            return 0
        _write_file(args.output, lambda out: write(backlog, out))
        print(f"exported {len(backlog)} requests to {args.output}", file=sys.stderr)
        return 0

    parser.set_defaults(handler=_domain_command("export", run))


def _write_file(path: str, write: Callable[[TextIO], None]) -> None:
    """Write through a temporary file beside ``path``: a failure leaves no half file."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".export-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def add_worker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker", help="run the product's workflows (filing, matching, approvals)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="runs at once (default 32)")
    parser.add_argument(
        "--schedule",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also start the daily insights and the weekly digest on time (any number of "
        "processes may: each tick runs once)",
    )
    # from feedback-bot serve, for its worker child (bot.pressure)
    parser.add_argument("--control-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve this worker's step latencies and Slack calls at http://HOST:PORT/ in "
        "Prometheus's format (the database's gauges are on serve's /metrics)",
    )
    _add_database_url(parser)

    async def run(args: argparse.Namespace) -> int:
        from bot.worker import run_worker
        from workflows.engine import RetryableError
        from workflows.slack import SlackFatal

        try:
            await run_worker(
                _domain_settings(args),
                concurrency=args.concurrency,
                schedule=args.schedule,
                control_fd=args.control_fd,
            )
        except SlackFatal as exc:  # e.g. a wrong token or SLACK_API_URL at start-up
            print(f"feedback-bot worker: error: {exc}", file=sys.stderr)
            return 2
        except RetryableError as exc:  # Slack unreachable at start-up
            print(f"feedback-bot worker: error: {exc}; check SLACK_API_URL", file=sys.stderr)
            return 1
        return 0

    parser.set_defaults(handler=_domain_command("worker", _observed(run)), default_log_level="INFO")


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the Slack app (HTTP, or Socket Mode) with its worker and schedules",
        description="Serve Slack's Request URL (POST /slack/events), /healthz and /readyz,\n"
        "with an in-process worker and the daily and weekly schedules. Configured by\n"
        "the environment (see .env.example).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="default 3000")
    parser.add_argument(
        "--socket",
        action="store_true",
        help="Socket Mode for development: no public URL, needs SLACK_APP_TOKEN (xapp-...)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="runs at once (default 32)")
    parser.add_argument(
        "--worker",
        choices=("process", "inline", "none"),
        default="process",
        help="where the workflows run: a child process at lower priority (default), the "
        "server's own event loop, or elsewhere (feedback-bot worker)",
    )
    parser.add_argument(
        "--schedule",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start the daily insights, notification batches and weekly digest on time "
        "(default: on)",
    )
    _add_database_url(parser)

    async def run(args: argparse.Namespace) -> int:
        from bot.serve import serve

        return await serve(
            _domain_settings(args),
            host=args.host,
            port=args.port,
            socket=args.socket,
            concurrency=args.concurrency,
            schedule=args.schedule,
            worker=args.worker,
        )

    parser.set_defaults(
        handler=_metrics_dir(_domain_command("serve", run)), default_log_level="INFO"
    )


def add_product_team(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "product-team",
        help="who may decide any question and ship requests (/feedback ship)",
        description="The product team may answer any question the bot asks and mark\n"
        "requests shipped. People are named by e-mail address, as Slack shares it; one\n"
        "the bot has not met yet is recognised when they first use it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="team_command", required=True)
    for name, what in (("add", "put people on the team"), ("remove", "take them off")):
        command = commands.add_parser(name, help=what)
        command.add_argument("emails", nargs="+", metavar="EMAIL")
        _add_database_url(command)
    _add_database_url(commands.add_parser("list", help="who is on it"))

    async def run(args: argparse.Namespace) -> int:
        from feedback import migrate, users
        from feedback.database import Database

        url = _domain_settings(args).database_url
        await migrate.ensure_current(url)
        async with Database(url) as db, db.transaction() as conn:
            if args.team_command != "list":
                bad = [email for email in args.emails if "@" not in email.strip(" @")]
                if bad:
                    print(
                        f"feedback-bot product-team: error: not an e-mail address: {bad[0]}",
                        file=sys.stderr,
                    )
                    return 2
                for email in args.emails:
                    await users.set_product_team(conn, email, member=args.team_command == "add")
            team = await users.product_team(conn)
        for person in team:
            print(
                f"{person.email or '-':40} {person.name}"
                + ("" if person.slack_id else "  (not seen in Slack yet)")
            )
        if not team:
            print("nobody is on the product team: `feedback-bot product-team add EMAIL`")
        return 0

    parser.set_defaults(handler=_domain_command("product-team", run))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedback-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_demo(sub)
    add_eval_matching(sub)
    add_calibrate(sub)
    add_db(sub)
    add_accounts(sub)
    add_areas(sub)
    add_requests(sub)
    add_export(sub)
    add_sync_embeddings(sub)
    add_simulator(sub)
    add_worker(sub)
    add_serve(sub)
    add_status(sub)
    add_product_team(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    if not _logging_configured(args):
        return 2
    try:
        return asyncio.run(handler(args))
    except KeyboardInterrupt:
        return 130


def _logging_configured(args: argparse.Namespace) -> bool:
    """Set up logging for the command (``LOG_FORMAT``, ``LOG_LEVEL``); False if they are bad.

    Long-running commands log at INFO unless told otherwise, one-shot commands at
    WARNING (their output is what they print).
    """
    from bot.logs import configure_logging
    from feedback.errors import ConfigurationError
    from feedback.settings import load_log_settings

    try:
        settings = load_log_settings()
    except ConfigurationError as exc:
        print(f"feedback-bot {args.command}: error: {exc}", file=sys.stderr)
        return False
    configure_logging(settings, default_level=getattr(args, "default_log_level", "WARNING"))
    return True


if __name__ == "__main__":
    sys.exit(main())
