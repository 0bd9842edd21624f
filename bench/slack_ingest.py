"""Benchmark: signed ``reaction_added`` events acknowledged by ``feedback-bot serve``.

Side by side in the same run, over loopback:

- **bot**: ``feedback-bot serve`` on PostgreSQL (its worker, a child process at lower
  priority, files what it acknowledges: the simulator is its Slack, the offline model
  matches, no LLM);
- **baseline**: a stock Bolt ``AsyncApp`` (default settings) under the same uvicorn
  settings, whose ``reaction_added`` listener does nothing.

Each server is its own process, and the Slack simulator another. The load generator
is this process (aiohttp by default, ``--client httpx`` as an option): apart from the
servers' event loops, but on the same 2 cores, as in the issue's own baseline
measurement. Each round measures every server, the order alternating from round to
round, and a filing server's worker drains after each of its phases so that it never
runs during another server's:

1. **flat out**: 1,000 signed events on distinct messages from 20 concurrent senders:
   events acknowledged per second, p50/p99 of the acknowledgement latency;
2. **paced**: 500 events at 50 per second (open loop; latency counted from the
   moment each was due, so a stalled server is not hidden by a waiting sender);
3. **exactly once**: after the flat-out phase, the worker drains and the 1,000
   messages must have exactly 1,000 feedback items; the same 1,000 events are then
   redelivered (same bodies, ``X-Slack-Retry-Num: 1``, signed anew): still 1,000
   items and no new ``ingest-reaction`` run. The paced messages are counted too.

Every round uses messages of its own. Medians of the rounds are reported with each
target's PASS or FAIL, and the CPU time per event (``/proc``) of each server and, for a
filing one, of PostgreSQL and the simulator up to the last item filed.

``--variants`` adds servers that tell the costs apart (:data:`VARIANTS`): stock Bolt
with one INSERT before the acknowledgement; the bot's own app without a worker, with
and without serve's logging; the bot's app with ``feedback-bot worker`` in another
process (``split``), at nice 10 (``split-nice``). A worker holds about 30 PostgreSQL
connections, so one ``split`` variant at a time. ``--profile DIR`` records each phase
of every server but the baseline with py-spy (collapsed stacks, ``--format raw``).

Run::

    .venv/bin/python bench/slack_ingest.py                 # 3 rounds, about 8 minutes
    .venv/bin/python bench/slack_ingest.py --client httpx   # the issue's own sender
    .venv/bin/python bench/slack_ingest.py --rounds 1 --variants insert,acks,acks-quiet
    .venv/bin/python bench/slack_ingest.py --rounds 2 --variants split-nice --json out.json
    .venv/bin/python bench/slack_ingest.py --rounds 1 --profile var/prof   # needs py-spy

Exit status: 1 when a correctness check fails (items lost or doubled, a run failed,
the worker did not drain, a request answered with an error), else 0, or 2 with
``--strict`` when the bot misses a target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/slack_ingest.py` from anywhere
    sys.path.insert(0, str(ROOT))

from bench.engine import DEFAULT_PG_URL, _drop_pg, _pg_problem, _pg_url, _recreate_pg  # noqa: E402
from bench.pipeline import ACCOUNTS, COLLEAGUES, seed_workspace  # noqa: E402
from bot.simulator.slack_requests import SIGNING_SECRET, SlackRequest, reaction_added  # noqa: E402

DB_NAME = "bench_slack"
ACKS_DB = "bench_slack_acks"  # the variants' (nothing is filed there)
TOKEN = "xoxb-simulator"
EMOJI = "gtm-feedback"  # the bot's default FEEDBACK_EMOJI

# Targets from the issue.
TARGET_RATIO = 0.8  # flat out: the bot's events/s at least this times the baseline's
TARGET_PACED_P99_MS = 50.0
# The issue's own figures for the baseline on this machine, printed for comparison.
ISSUE_BASELINE = "issue: baseline ~320 ev/s flat out (p50 30, p99 300 ms); paced p50 4, p99 12 ms"

OBJECTS = [
    *("invoices", "dashboards", "projects", "tickets", "contacts", "deals", "tasks"),
    *("reports", "campaigns", "orders", "shipments", "assets", "contracts", "leads"),
    *("expenses", "timesheets", "documents", "surveys", "subscriptions", "products"),
]
ASKS = [
    *("export {o} to {x}", "sync {o} with {x}", "import {o} from {x}", "bulk edit {o} by {x}"),
    *("get alerts in {x} when {o} change", "filter {o} by {x}"),
]
TARGETS = [
    *("Salesforce", "HubSpot", "Jira", "Excel", "PDF", "CSV", "Okta", "Snowflake"),
    *("Zendesk", "NetSuite", "owner", "region", "Stripe", "Outlook"),
]
FRAMES = [
    "We really need a way to {a}. It blocks our rollout.",
    "Is there any way to {a}? Our ops team asks every week.",
    "Please let us {a}, we do it by hand today.",
    "Our finance team wants to {a} before the quarter ends.",
]


# --- the workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A customer's message in the simulator and the colleague who reacts to it."""

    channel: str
    ts: str
    reactor: str


def make_sets(sizes: list[int], seed: int = 7) -> tuple[list[list[Message]], list[str]]:
    """Message sets of the given sizes (distinct messages) and every message's text.

    Every text is a different single ask, so the offline extraction files one item each.
    """
    rng = random.Random(seed)
    texts = [
        frame.format(a=ask.format(o=o, x=x))
        for frame in FRAMES
        for ask in ASKS
        for o in OBJECTS
        for x in TARGETS
    ]
    if len(texts) < sum(sizes):
        raise SystemExit(f"only {len(texts)} distinct messages can be made; ask for fewer")
    rng.shuffle(texts)
    sets, n = [], 0
    for size in sizes:
        sets.append(
            [
                Message(f"C0CUS{i % ACCOUNTS:03d}", f"{1700000000 + n + i}.000100", _colleague(i))
                for i in range(size)
            ]
        )
        n += size
    return sets, texts[:n]


def _colleague(i: int) -> str:
    return f"U0COL{i * 7 % COLLEAGUES:03d}"


def seed_toml(sets: list[list[Message]], texts: list[str]) -> str:
    """The simulator's seed: colleagues, customers in Slack Connect channels, the messages."""
    lines = seed_workspace()
    messages = [m for s in sets for m in s]
    for message, text in zip(messages, texts, strict=True):
        author = "U0CUS" + message.channel[-3:]
        lines.append(
            f'[[messages]]\nchannel = "{message.channel}"\nuser = "{author}"\n'
            f'text = "{text}"\nts = "{message.ts}"\n'
        )
    return "\n".join(lines)


async def prepare_database(admin_url: str, name: str) -> None:
    """A fresh database with the domain tables, the accounts and their channels."""
    from feedback.migrate import upgrade

    await _recreate_pg(admin_url, name)
    url = _pg_url(admin_url, name, "postgresql+asyncpg")
    plain = _pg_url(admin_url, name, "postgresql")
    await upgrade(url)
    conn = await asyncpg.connect(plain)
    try:
        await conn.executemany(
            "INSERT INTO accounts (id, name, arr, tier, domain, created_at, updated_at)"
            " VALUES ($1, $2, $3, 'enterprise', $4, now(), now())",
            [
                (f"acc-{n}", f"Customer {n}", Decimal(100_000 * (n + 1)), f"customer{n}.example")
                for n in range(ACCOUNTS)
            ],
        )
        await conn.executemany(
            "INSERT INTO account_channels (channel_id, account_id) VALUES ($1, $2)",
            [(f"C0CUS{n:03d}", f"acc-{n}") for n in range(ACCOUNTS)],
        )
        await conn.execute(
            "INSERT INTO areas (id, name, slug, description) VALUES"
            " ('area-data', 'Data', 'data', 'Import, export, sync and integrations')"
        )
    finally:
        await conn.close()


def signed_events(messages: list[Message], reaction: str = EMOJI) -> list[SlackRequest]:
    """One signed ``reaction_added`` per message, each with an event id of its own."""
    return [
        reaction_added(m.channel, m.ts, m.reactor, reaction, item_user="U0CUS" + m.channel[-3:])
        for m in messages
    ]


# --- the processes ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Process:
    """A server (or a worker) in its own process, its output kept in a log file."""

    def __init__(
        self,
        name: str,
        command: list[str],
        folder: Path,
        *,
        listen: bool = True,
        nice: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.port = name, _free_port() if listen else 0
        self.url = f"http://127.0.0.1:{self.port}"
        self.events = f"{self.url}/slack/events"
        self.log = folder / f"{name}.log"
        self.companions: list[Process] = []  # a server's worker process
        argv = [sys.executable, *command] + (["--port", str(self.port)] if listen else [])
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["nice", "-n", str(nice), *argv] if nice else argv,
                cwd=folder,  # no stray .env is read
                env={**os.environ, "PYTHONPATH": str(ROOT), **BOT_ENV, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pids(self) -> list[int]:
        """This process, its companions, and their children (serve's worker)."""
        own = [self.proc.pid, *(c.proc.pid for c in self.companions)]
        return [*own, *(child for pid in own for child in _children(pid))]

    async def ready(self, session: aiohttp.ClientSession, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                async with session.get(self.url + path) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        self._failed()

    async def printed(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if text in self.log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.2)
        self._failed()

    def _failed(self) -> None:
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not start (exit {self.proc.poll()}):\n{tail}")

    def stop(self) -> None:
        for proc in [self, *self.companions]:
            if proc.proc.poll() is None:
                proc.proc.terminate()
        for proc in [self, *self.companions]:
            try:
                proc.proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.proc.kill()
                proc.proc.wait()


BOT_ENV = {  # the bot's settings, for every process (the simulator ignores them)
    "SLACK_BOT_TOKEN": TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "FEEDBACK_EMBEDDER": "local",
    "OPENAI_API_KEY": "",
}


def start_simulator(folder: Path) -> Process:
    command = ["-m", "bot", "simulator", "--quiet", "--token", TOKEN]
    return Process("simulator", [*command, "--seed", str(folder / "seed.toml")], folder)


def start_server(name: str, folder: Path, sim: Process, url: str, concurrency: int) -> Process:
    """``feedback-bot serve`` (``bot``), the baseline or a variant (:data:`VARIANTS`)."""
    env = {"SLACK_API_URL": f"{sim.url}/api/"}
    if name in ("bot", "inline"):
        command = ["-m", "bot", "serve", "--no-schedule", f"--concurrency={concurrency}"]
        if name == "inline":
            command.append("--worker=inline")
        return Process(name, [*command, f"--database-url={url}"], folder, env=env)
    command = [__file__, f"--serve={name}", f"--api-url={sim.url}/api/", f"--database-url={url}"]
    server = Process(name, command, folder)
    if name.startswith("split"):
        command = ["-m", "bot", "worker", f"--concurrency={concurrency}", f"--database-url={url}"]
        nice = 10 if name == "split-nice" else 0
        worker = Process(f"{name}-worker", command, folder, listen=False, nice=nice, env=env)
        server.companions.append(worker)
    return server


VARIANTS = {
    "inline": "feedback-bot serve --worker inline: the worker on the server's event loop",
    "insert": "stock AsyncApp, process_before_response, one asyncpg INSERT in the listener",
    "acks": "the bot's own app (bot.server) with serve's INFO logging, no worker",
    "acks-quiet": "the bot's own app (bot.server), logging not configured, no worker",
    "split": "the bot's app as acks, and `feedback-bot worker` in a process of its own",
    "split-nice": "split, its worker process at nice 10",
}
"""More servers (``--variants``), to tell where the bot's time goes. The ``split``
ones file what they acknowledge (each on a database of its own: checked like the
bot); the others on one database where nothing is filed."""
FILING = ("bot", "inline", "split", "split-nice")


def database_of(name: str) -> str:
    return {"bot": DB_NAME}.get(name) or (
        f"{DB_NAME}_{name.replace('-', '_')}" if name in FILING else ACKS_DB
    )


def serve(name: str, port: int, api_url: str, database_url: str) -> None:
    """Serve the baseline or a variant under ``feedback-bot serve``'s uvicorn settings."""
    if name == "baseline":
        asgi = _bolt_server(_baseline_app(api_url))
    elif name == "insert":
        asgi = _insert_server(api_url, database_url)
    else:
        asgi = _bot_server(api_url, database_url, logs=name != "acks-quiet")
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=20,
    )
    asyncio.run(uvicorn.Server(config).serve())


def _stock_app(api_url: str, **options: Any) -> AsyncApp:
    """A stock ``AsyncApp``: default settings unless ``options`` say otherwise."""
    client = AsyncWebClient(token=TOKEN, base_url=api_url)
    return AsyncApp(signing_secret=SIGNING_SECRET, client=client, **options)


def _baseline_app(api_url: str) -> AsyncApp:
    """The baseline: a stock app whose listener does nothing."""
    app = _stock_app(api_url)

    @app.event("reaction_added")
    async def reaction(event: dict[str, Any]) -> None:
        return None

    return app


def _bolt_server(app: AsyncApp, lifespan: Any = None) -> FastAPI:
    """``app`` at ``POST /slack/events`` (Bolt's FastAPI adapter), ``GET /healthz``."""
    handler = AsyncSlackRequestHandler(app)
    api = FastAPI(docs_url=None, redoc_url=None, lifespan=lifespan)

    @api.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api


def _insert_server(api_url: str, database_url: str) -> FastAPI:
    """The issue's second reference: one PostgreSQL insert before the acknowledgement."""
    app = _stock_app(api_url, process_before_response=True)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool: list[asyncpg.Pool] = []

    @app.event("reaction_added")
    async def reaction(body: dict[str, Any], event: dict[str, Any]) -> None:
        await pool[0].execute(
            "INSERT INTO bench_reactions (event_id, channel, ts) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            body["event_id"],
            event["item"]["channel"],
            event["item"]["ts"],
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.append(await asyncpg.create_pool(dsn, min_size=10, max_size=20))
        await pool[0].execute(
            "CREATE TABLE IF NOT EXISTS bench_reactions"
            " (event_id text PRIMARY KEY, channel text, ts text, at timestamptz DEFAULT now())"
        )
        yield
        await pool[0].close()

    return _bolt_server(app, lifespan)


def _bot_server(api_url: str, database_url: str, *, logs: bool) -> FastAPI:
    """The bot's own ASGI app, as ``serve`` builds it, without its worker."""
    from bot.server import create_server
    from feedback.settings import load_settings

    if logs:  # as `feedback-bot serve` configures them (bot/cli.py)
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    settings = load_settings(
        database_url=database_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        embedder="local",
        openai_api_key="",
    )
    return create_server(settings, worker=False, schedule=False)


# --- CPU accounting ---------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` (other databases on the server are
    other people's: the machine is shared). The bot's pool keeps its connections."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU seconds spent by the servers, the simulator, PostgreSQL (the bench database's
    backends) and this process."""

    def __init__(self, procs: dict[str, Process], databases: list[str]) -> None:
        self.procs, self.databases = procs, databases

    def sample(self) -> dict[str, float]:
        out = {name: sum(_cpu(pid) for pid in p.pids) for name, p in self.procs.items()}
        for name, p in self.procs.items():  # of which serve's worker child
            if children := _children(p.proc.pid):
                out[f"{name} worker"] = sum(_cpu(pid) for pid in children)
        backends = [pid for name in self.databases for pid in _backends(name)]
        out |= {f"pg{pid}": _cpu(pid) for pid in backends}
        out["sender"] = _cpu(os.getpid())
        return out

    @contextmanager
    def measure(self, into: dict[str, float]) -> Iterator[None]:
        before = self.sample()
        yield
        after = self.sample()
        spent = {k: after[k] - before.get(k, 0.0) for k in after}  # a new backend: all of it
        into.update({k: round(v, 2) for k, v in spent.items() if not k.startswith("pg")})
        into["postgres"] = round(sum(v for k, v in spent.items() if k.startswith("pg")), 2)


# --- the senders --------------------------------------------------------------------------


@dataclass
class Phase:
    """One phase against one server: what was sent and how it was answered."""

    events: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events / self.seconds, 1),
            "p50_ms": round(_pct(self.latencies_ms, 50), 1),
            "p99_ms": round(_pct(self.latencies_ms, 99), 1),
            "max_ms": round(max(self.latencies_ms), 1),
            "errors": self.errors,
            "cpu_s": self.cpu,
        }


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


Post = Callable[[str, SlackRequest], Awaitable[bool]]
"""Sends one request; whether it was answered 200."""


@asynccontextmanager
async def client(kind: str, connections: int) -> AsyncIterator[Post]:
    """The senders' HTTP client: ``aiohttp`` (light on CPU, the default) or ``httpx``
    (``httpx.AsyncClient``: about ten times the CPU per request, which on 2 cores
    makes the sender the limit; the issue's baseline figures match it)."""
    if kind == "httpx":
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as hc:

            async def post_httpx(url: str, request: SlackRequest) -> bool:
                answer = await hc.post(url, content=request.body, headers=request.headers)
                return answer.status_code == 200

            yield post_httpx
        return
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post_aiohttp(url: str, request: SlackRequest) -> bool:
            async with session.post(url, data=request.body, headers=request.headers) as answer:
                await answer.read()
                return answer.status == 200

        yield post_aiohttp


async def flat_out(url: str, requests: list[SlackRequest], args: argparse.Namespace) -> Phase:
    """``--senders`` concurrent senders, each sending its next event as soon as the last
    one is acknowledged, until all are sent."""
    latencies: list[float] = []
    errors = 0
    queue = iter(requests)

    async def sender(post: Post) -> None:
        nonlocal errors
        for request in queue:
            start = time.perf_counter()
            ok = await post(url, request)
            latencies.append(1000 * (time.perf_counter() - start))
            errors += not ok

    async with client(args.client, args.senders) as post:
        await _warm_up(post, url, requests[0], args.senders)
        t0 = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(args.senders):
                group.create_task(sender(post))
        seconds = time.perf_counter() - t0
    return Phase(len(requests), seconds, latencies, errors)


async def paced(url: str, requests: list[SlackRequest], args: argparse.Namespace) -> Phase:
    """One event every ``1/--rate`` s whatever the answers (open loop); each latency runs
    from the moment the event was due."""
    latencies: list[float] = []
    errors = 0

    async def send(post: Post, request: SlackRequest, due: float) -> None:
        nonlocal errors
        ok = await post(url, request)
        latencies.append(1000 * (time.perf_counter() - due))
        errors += not ok

    async with client(args.client, args.senders) as post:
        await _warm_up(post, url, requests[0], args.senders)
        t0 = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for n, request in enumerate(requests):
                due = t0 + n / args.rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                group.create_task(send(post, request, due))
        seconds = time.perf_counter() - t0
    return Phase(len(requests), seconds, latencies, errors)


async def _warm_up(post: Post, url: str, like: SlackRequest, connections: int) -> None:
    """Open the connections with reactions that file nothing (``thumbsup``)."""
    event = like.payload()["event"]
    item = event["item"]
    warm = reaction_added(item["channel"], item["ts"], event["user"], "thumbsup")
    for _ in range(2):
        await asyncio.gather(*(post(url, warm) for _ in range(connections)))


# --- the database: drained, counted -------------------------------------------------------


async def wait_drained(db: str, timeout: float) -> float:
    """Until no run is pending or running (a run waiting on a person or a timer is idle).

    Returns the seconds waited.

    Raises:
        RuntimeError: Not drained within ``timeout``, or a run failed.
    """
    t0 = time.monotonic()
    conn = await asyncpg.connect(db)
    try:
        quiet = 0
        while quiet < 2:  # twice in a row: a finishing run may start a child
            await asyncio.sleep(0.25)
            busy = await conn.fetchval(
                "SELECT count(*) FROM wf_runs WHERE status IN ('pending', 'running')"
            )
            quiet = quiet + 1 if busy == 0 else 0
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"the worker did not drain in {timeout:.0f} s ({busy} busy)")
        failed = await conn.fetch(
            "SELECT run_id, status FROM wf_runs WHERE status IN ('failed', 'crashed') LIMIT 3"
        )
    finally:
        await conn.close()
    if failed:
        raise RuntimeError(f"runs failed, e.g. {[tuple(r) for r in failed]}")
    return time.monotonic() - t0


class Count(NamedTuple):
    """Feedback items of a message set, and the ``ingest-reaction`` runs overall."""

    items: int
    messages: int
    runs: int


async def count(db: str, messages: list[Message]) -> Count:
    conn = await asyncpg.connect(db)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS items,"
            " count(DISTINCT (channel_id, message_ts)) AS messages"
            " FROM feedback WHERE message_ts = ANY($1::text[])",
            [m.ts for m in messages],
        )
        runs = await conn.fetchval(
            "SELECT count(*) FROM wf_runs WHERE workflow = $1", "ingest-reaction"
        )
    finally:
        await conn.close()
    return Count(row["items"], row["messages"], runs)


# --- one round ----------------------------------------------------------------------------


@dataclass
class Bench:
    """What the rounds share: the servers (in a round's order), the options."""

    args: argparse.Namespace
    servers: dict[str, Process]
    cpu: CpuMeter

    def dsn(self, server: Process) -> str:
        """The database of a server that files (for asyncpg)."""
        return _pg_url(self.args.pg_url, database_of(server.name), "postgresql")


async def measure(bench: Bench, server: Process, run: Awaitable[Phase], label: str) -> Phase:
    into: dict[str, float] = {}
    with bench.cpu.measure(into), _py_spy(bench.args.profile, server, label):
        phase = await run
    names = (server.name, f"{server.name} worker", "simulator", "postgres", "sender")
    phase.cpu = {k: into[k] for k in names if k in into}
    summary = phase.summary()
    print(
        f"  {label:30} {summary['events_per_s']:7.1f} ev/s  p50 {summary['p50_ms']:6.1f}"
        f"  p99 {summary['p99_ms']:6.1f}  max {summary['max_ms']:6.1f} ms"
        f"  errors {phase.errors}  cpu s {phase.cpu}",
        flush=True,
    )
    return phase


@contextmanager
def _py_spy(folder: Path | None, server: Process, label: str) -> Iterator[None]:
    """With ``--profile``: py-spy samples the server (not the baseline) during the phase."""
    if folder is None or server.name == "baseline":
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = folder / (label.replace(" ", "-").replace(",", "") + ".txt")
    command = [spy, "record", "--format", "raw", "--rate", "200", "--nonblocking", "--threads"]
    proc = subprocess.Popen(
        [*command, "--output", str(out), "--pid", str(server.pids[0])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # writes the profile
        proc.wait(30)


async def one_round(
    bench: Bench, n: int, flat: list[Message], slow: list[Message]
) -> dict[str, Any]:
    """Every server flat out, then every server paced; a filing server's worker drains
    after each of its phases, so that it never runs during another server's."""
    args, out = bench.args, dict[str, Any]()
    order = list(bench.servers.values())
    if n % 2:
        order.reverse()
    for server in order:
        requests = signed_events(flat)
        out[f"{server.name}_flat"] = await measure(
            bench,
            server,
            flat_out(server.events, requests, args),
            f"round {n + 1} {server.name}, flat out",
        )
        if server.name in FILING:
            out[f"{server.name}_once"] = await exactly_once(bench, server, n, flat, requests)
    for server in order:
        requests = signed_events(slow)
        out[f"{server.name}_paced"] = await measure(
            bench,
            server,
            paced(server.events, requests, args),
            f"round {n + 1} {server.name}, paced",
        )
        if server.name in FILING:
            drained = await wait_drained(bench.dsn(server), args.drain_timeout)
            items = out[f"{server.name}_paced_items"] = (await count(bench.dsn(server), slow)).items
            print(f"  round {n + 1} {server.name}: drained {drained:.1f} s after, {items} items")
    return out


async def exactly_once(
    bench: Bench, server: Process, n: int, messages: list[Message], requests: list[SlackRequest]
) -> dict[str, Any]:
    """Drain, count, redeliver the same events, drain, count again."""
    db, timeout = bench.dsn(server), bench.args.drain_timeout
    spent: dict[str, float] = {}
    with bench.cpu.measure(spent):
        drained = await wait_drained(db, timeout)
    first = await count(db, messages)
    again = [r.redelivered(1) for r in requests]
    redelivery = await measure(
        bench,
        server,
        flat_out(server.events, again, bench.args),
        f"round {n + 1} {server.name}, redelivered",
    )
    await wait_drained(db, timeout)
    second = await count(db, messages)
    print(
        f"  round {n + 1} {server.name}: drained {drained:.1f} s after; {first.items} items on "
        f"{first.messages} messages; after redelivery {second.items} items, "
        f"{second.runs - first.runs} new runs",
        flush=True,
    )
    return {
        "drain_s": round(drained, 1),
        "drain_cpu_s": {k: spent[k] for k in (server.name, "simulator", "postgres")},
        "items": first.items,
        "messages_with_items": first.messages,
        "items_after_redelivery": second.items,
        "new_runs_on_redelivery": second.runs - first.runs,
        "redelivery": redelivery.summary(),
    }


# --- the report ---------------------------------------------------------------------------

Row = tuple[str, str, bool]  # what, the value got, whether it passes


def _median(rounds: list[dict[str, Any]], phase: str, metric: str) -> float:
    return float(statistics.median(r[phase].summary()[metric] for r in rounds))


def report(rounds: list[dict[str, Any]], names: list[str], args: argparse.Namespace) -> None:
    """Print the medians, then each target and check with PASS or FAIL."""
    print(
        f"\n{args.events} events flat out from {args.senders} concurrent senders "
        f"({args.client}), then {args.paced} paced at {args.rate:g}/s; medians of "
        f"{len(rounds)} rounds.\n"
        f"The senders (this process), the servers, the Slack simulator and PostgreSQL "
        f"share this machine's {os.cpu_count()} cores; latency is to the acknowledgement.\n"
    )
    print(f"{'':24}" + "".join(f"{name:>12}" for name in names))
    for phase, title in (("flat", "flat out"), ("paced", f"paced {args.rate:g}/s")):
        for metric, unit in (("events_per_s", "ev/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms")):
            cells = [_median(rounds, f"{name}_{phase}", metric) for name in names]
            print(f"{title + ': ' + unit:24}" + "".join(f"{c:12.1f}" for c in cells))
        cpu = [_cpu_per_event(rounds, name, phase) for name in names]
        print(f"{title + ': cpu ms/event':24}" + "".join(f"{c:12.2f}" for c in cpu))
    print(f"{'flat out: x baseline':24}" + "".join(f"{_ratio(rounds, n):12.2f}" for n in names))
    for name in names[1:-1]:
        print(f"  {name}: {VARIANTS[name]}")
    print(f"\n{ISSUE_BASELINE}\n")
    print(f"{'target':50}{'got':>22}")
    for name in (n for n in names if n in FILING):
        for label, got, ok in targets(rounds, name, args) + checks(rounds, name, args):
            print(f"{label:50}{got:>22}  {'PASS' if ok else 'FAIL'}")
        print(_filing(rounds, name, args.events))


def _filing(rounds: list[dict[str, Any]], name: str, events: int) -> str:
    """How long the worker took to file the flat-out events, and the CPU it cost."""
    drain = statistics.median(r[f"{name}_once"]["drain_s"] for r in rounds)

    def per_item(who: str) -> float:
        spent = [r[f"{name}_flat"].cpu[who] + r[f"{name}_once"]["drain_cpu_s"][who] for r in rounds]
        return 1000 * float(statistics.median(spent)) / events

    return (
        f"  {name}: its worker filed the {events} in a median {drain:.1f} s more; CPU per "
        f"event, first event to last item:\n    {name} {per_item(name):.1f} ms (worker "
        f"included), PostgreSQL {per_item('postgres'):.1f} ms, simulator "
        f"{per_item('simulator'):.1f} ms"
    )


def _cpu_per_event(rounds: list[dict[str, Any]], name: str, phase: str) -> float:
    """The server's own CPU (its worker's included) per event, in milliseconds."""
    per = [r[f"{name}_{phase}"].cpu[name] / r[f"{name}_{phase}"].events for r in rounds]
    return 1000 * float(statistics.median(per))


def _ratio(rounds: list[dict[str, Any]], name: str) -> float:
    """Flat out: ``name``'s events per second over the baseline's (median of the rounds)."""
    return float(
        statistics.median(  # the same number of events: the ratio of the durations
            r["baseline_flat"].seconds / r[f"{name}_flat"].seconds for r in rounds
        )
    )


def targets(rounds: list[dict[str, Any]], name: str, args: argparse.Namespace) -> list[Row]:
    ratio = _ratio(rounds, name)
    p99 = _median(rounds, f"{name}_paced", "p99_ms")
    return [
        (
            f"{name}: flat out >= {TARGET_RATIO}x baseline's ev/s",
            f"{ratio:.2f}x",
            ratio >= TARGET_RATIO,
        ),
        (
            f"{name}: paced {args.rate:g}/s, p99 < {TARGET_PACED_P99_MS:g} ms",
            f"{p99:.1f} ms",
            p99 < TARGET_PACED_P99_MS,
        ),
    ]


def checks(rounds: list[dict[str, Any]], name: str, args: argparse.Namespace) -> list[Row]:
    once = [r[f"{name}_once"] for r in rounds]
    paced_items = [r[f"{name}_paced_items"] for r in rounds]
    phases = [p for r in rounds for k, p in r.items() if k.startswith(f"{name}_")]
    errors = sum(p.errors for p in phases if isinstance(p, Phase))
    errors += sum(c["redelivery"]["errors"] for c in once)
    rows = [  # what, per round, the value each round must have
        (f"items after the drain = {args.events}", [c["items"] for c in once], args.events),
        ("... on distinct messages", [c["messages_with_items"] for c in once], args.events),
        (
            f"items after redelivery = {args.events}",
            [c["items_after_redelivery"] for c in once],
            args.events,
        ),
        ("new runs on redelivery = 0", [c["new_runs_on_redelivery"] for c in once], 0),
        (f"paced, items after the drain = {args.paced}", paced_items, args.paced),
        ("requests answered with an error = 0", [errors], 0),
    ]
    return [
        (f"{name}: {what}", ", ".join(map(str, got)), all(n == want for n in got))
        for what, got, want in rows
    ]


def _to_json(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v.summary() if isinstance(v, Phase) else v for k, v in r.items()} for r in rounds]


# --- main ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace, names: list[str], folder: Path) -> list[dict[str, Any]]:
    sets, texts = make_sets([args.events, args.paced] * args.rounds)
    (folder / "seed.toml").write_text(seed_toml(sets, texts))
    databases = sorted({database_of(name) for name in names})
    for database in databases:
        await prepare_database(args.pg_url, database)
    sim = start_simulator(folder)
    servers: dict[str, Process] = {}
    try:
        async with aiohttp.ClientSession() as session:
            await sim.ready(session, "/_sim/state")
            for name in names:
                url = _pg_url(args.pg_url, database_of(name), "postgresql+asyncpg")
                servers[name] = start_server(name, folder, sim, url, args.concurrency)
            for server in servers.values():
                await server.ready(session, "/readyz" if server.name in FILING else "/healthz")
                if server.name == "bot":  # serve's worker child: started, not starting
                    await server.printed("worker ready")
                for worker in server.companions:
                    await worker.printed("worker ready")
        bench = Bench(args, servers, CpuMeter({"simulator": sim, **servers}, databases))
        print("servers ready: " + ", ".join(f"{s.name} pids {s.pids}" for s in servers.values()))
        return [await one_round(bench, n, sets[2 * n], sets[2 * n + 1]) for n in range(args.rounds)]
    finally:
        for proc in [*servers.values(), sim]:
            proc.stop()
        print(f"(server logs in {folder})")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--rounds", type=int, default=3, help="rounds of every phase (default 3; medians)")
    add("--events", type=int, default=1000, help="flat out: events per server (default 1000)")
    add("--senders", type=int, default=20, help="concurrent senders (default 20)")
    add("--client", choices=("aiohttp", "httpx"), default="aiohttp", help="the senders'")
    add("--paced", type=int, default=500, help="paced: events per server (default 500)")
    add("--rate", type=float, default=50.0, help="paced: events per second (default 50)")
    add("--concurrency", type=int, default=32, help="the bot's worker (serve's default 32)")
    add("--variants", default="", help=f"more servers, comma-separated: {', '.join(VARIANTS)}")
    add("--drain-timeout", type=float, default=300.0, help="seconds (default 300)")
    add("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    add("--profile", type=Path, help="py-spy (raw) profiles of the bot's phases in this folder")
    add("--json", type=Path, help="write the per-round results here")
    add("--strict", action="store_true", help="exit with status 2 when a target is missed")
    add("--serve", help=argparse.SUPPRESS)  # a server process of this benchmark
    add("--api-url", help=argparse.SUPPRESS)
    add("--database-url", help=argparse.SUPPRESS)
    add("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if unknown := set(args.variants) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    if len(set(args.variants) & set(FILING)) > 1:  # ~30 connections each, and the bot's
        parser.error("one split variant at a time: PostgreSQL's 100 connections run out")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.api_url, args.database_url)
        return 0
    if problem := asyncio.run(_pg_problem(args.pg_url)):
        print(f"PostgreSQL at {args.pg_url} is unreachable ({problem})", file=sys.stderr)
        return 1
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    print(f"bench/slack_ingest.py: {args.rounds} rounds; {os.cpu_count()} CPUs", flush=True)
    names = ["baseline", *args.variants, "bot"]
    try:
        rounds = asyncio.run(run(args, names, folder))
    except RuntimeError as exc:  # did not drain, a run failed, a server did not start
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(_drop_pg(args.pg_url, sorted({database_of(name) for name in names})))
    report(rounds, names, args)
    if args.json:
        args.json.write_text(json.dumps(_to_json(rounds), indent=2))
    filing = [name for name in names if name in FILING]
    if not all(ok for name in filing for *_, ok in checks(rounds, name, args)):
        return 1
    return 2 if args.strict and not all(ok for *_, ok in targets(rounds, "bot", args)) else 0


if __name__ == "__main__":
    sys.exit(main())
