"""Benchmark: customer messages through ``ingest-reaction`` to a filed result.

Workload: a backlog of 5,000 requests (title and description, embedded with the
offline MiniLM model and indexed), 20 customer accounts each with a Slack Connect
channel, and 1,000 customer messages posted in those channels: about half close to
an existing request (linked), a quarter loosely related (put to a person), a quarter
about something new (drafted as a new request). Each message gets the feedback
reaction from one of 20 colleagues, and the product files it: resolve the user, read
the thread, react, extract, match, then link and DM, ask, or draft and DM.

Slack is the simulator in its own process (``feedback-bot simulator``), reached over
HTTP as Slack would be; the engine and its worker run in this process with the
offline model and no LLM. Two phases per run:

- **burst**: all messages reacted to at once: feedback filed per second, and the
  latency of each message from its start to its last Slack call (queueing included);
- **paced**: 200 more messages at a steady rate below capacity (``--rate``): p50 and
  p99 latency of the runs that do not wait for a person (link and new).

A message is *filed* when its last Slack call is made: the confirmation DM (link,
new) or the question (ask). Each run uses a fresh database; ``--repeat`` runs are
made and medians reported.

Run::

    .venv/bin/python bench/pipeline.py                      # both databases, 3 runs each
    .venv/bin/python bench/pipeline.py --backends postgres --repeat 1 --messages 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import numpy as np
import numpy.typing as npt
from sqlalchemy import distinct, func, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/pipeline.py` from anywhere
    sys.path.insert(0, str(ROOT))

from agents import Embedder, get_embedder  # noqa: E402
from feedback import embeddings  # noqa: E402
from feedback._util import utcnow  # noqa: E402
from feedback.migrate import upgrade  # noqa: E402
from feedback.schema import account_channels, accounts, areas, feedback_items  # noqa: E402
from feedback.schema import requests as requests_table  # noqa: E402
from feedback.settings import Settings  # noqa: E402
from workflows.deps import Deps, open_deps, use_deps  # noqa: E402
from workflows.engine import Engine, RunStatus  # noqa: E402
from workflows.intake import Reaction, ingest_reaction, reaction_run_id  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_pipeline"
TOKEN = "xoxb-bench"
ACCOUNTS, COLLEAGUES = 20, 20

OBJECTS = [
    "invoices",
    "dashboards",
    "projects",
    "tickets",
    "contacts",
    "deals",
    "tasks",
    "reports",
    "campaigns",
    "orders",
    "shipments",
    "assets",
    "contracts",
    "leads",
    "expenses",
    "timesheets",
    "documents",
    "surveys",
    "events",
    "subscriptions",
    "products",
    "vendors",
    "incidents",
    "playbooks",
    "forecasts",
    "quotes",
    "budgets",
    "candidates",
    "courses",
    "devices",
    "licenses",
    "locations",
    "meetings",
    "partners",
    "policies",
]
INTEGRATIONS = [
    "Salesforce",
    "HubSpot",
    "Jira",
    "Slack",
    "Microsoft Teams",
    "Okta",
    "Azure AD",
    "Snowflake",
    "BigQuery",
    "Zendesk",
    "NetSuite",
    "Workday",
    "GitHub",
    "Google Sheets",
    "Outlook",
    "Stripe",
    "Intercom",
    "Marketo",
    "ServiceNow",
    "Tableau",
]
TEMPLATES = [
    ("Export {o} to {f}", "Download {o} as a {f} file for sharing and archiving."),
    ("Sync {o} with {i}", "Two-way sync of {o} with {i}, so changes show up in both."),
    ("Import {o} from {i}", "Bring existing {o} over from {i} in one step."),
    ("Bulk edit {o}", "Select many {o} and change a field on all of them at once."),
    ("Alerts when {o} change in {i}", "Notify the owner in {i} when {o} change."),
    ("Custom fields on {o}", "Add our own fields to {o} and filter by them."),
    ("Role-based permissions for {o}", "Limit who can view or edit {o} by role."),
    ("Audit log for {o}", "See who changed {o}, when, and what the old value was."),
    ("Webhooks for {o} updates to {i}", "Call our endpoint in {i} when {o} are created."),
    ("Schedule {o} reports in {f}", "E-mail a {f} summary of {o} every week."),
    ("Archive old {o}", "Move {o} older than a year out of the default views."),
    ("Duplicate detection for {o}", "Warn when a new one looks like existing {o}."),
]
FORMATS = ["PDF", "CSV", "Excel", "JSON", "XML", "Markdown", "PNG", "HTML", "Parquet"]
NOVEL = [
    "The app should support right-to-left languages like Hebrew and Arabic.",
    "We need a kiosk mode for the warehouse tablets that locks the screen.",
    "Please add keyboard shortcuts for everything, our power users hate the mouse.",
    "Our auditors need data residency in the EU region with proof of location.",
    "Could the login page carry our own logo and colours for our customers?",
    "We want to pay by bank transfer instead of card, our finance team insists.",
    "The session times out after five minutes, which is far too aggressive for us.",
    "Voice notes would help our field engineers who cannot type on site.",
]


@dataclass(frozen=True)
class Backlog:
    """The 5,000 requests and their embeddings (computed once, reused every run)."""

    titles: list[str]
    descriptions: list[str]
    vectors: npt.NDArray[np.float32]


def make_backlog(size: int, rng: random.Random) -> tuple[list[str], list[str]]:
    combos = []
    for title, description in TEMPLATES:
        for obj in OBJECTS:
            for extra in INTEGRATIONS if "{i}" in title else FORMATS:
                combos.append(
                    (
                        title.format(o=obj, i=extra, f=extra),
                        description.format(o=obj, i=extra, f=extra),
                    )
                )
    rng.shuffle(combos)
    chosen = combos[:size]
    if len(chosen) < size:
        raise SystemExit(f"only {len(combos)} distinct requests can be generated")
    return [t for t, _ in chosen], [d for _, d in chosen]


def make_message(backlog: Backlog, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:  # close to an existing request
        title = rng.choice(backlog.titles)
        return f"We really need this: {title[0].lower()}{title[1:]}. It blocks our rollout."
    if roll < 0.75:  # loosely related
        obj, integ = rng.choice(OBJECTS), rng.choice(INTEGRATIONS)
        return f"Is there any way to get our {obj} talking to {integ}? Asking for the ops team."
    return rng.choice(NOVEL)


def seed_workspace() -> list[str]:
    """The simulator seed's people and channels (TOML): colleagues, and one customer per
    account in a Slack Connect channel of its own (``C0CUS000``...)."""
    lines = ['[workspace]\nname = "Bench"\n']
    for n in range(COLLEAGUES):
        lines.append(
            f'[[users]]\nid = "U0COL{n:03d}"\nname = "colleague{n}"\n'
            f'email = "colleague{n}@ourco.example"\n'
        )
    for n in range(ACCOUNTS):
        lines.append(
            f'[[users]]\nid = "U0CUS{n:03d}"\nname = "customer{n}"\n'
            f'email = "buyer@customer{n}.example"\nteam_id = "T0CUS{n:03d}"\n'
        )
    members = ", ".join(f'"U0COL{n:03d}"' for n in range(COLLEAGUES))
    for n in range(ACCOUNTS):
        lines.append(
            f'[[channels]]\nid = "C0CUS{n:03d}"\nname = "customer{n}-shared"\n'
            f'members = [{members}, "U0CUS{n:03d}"]\nis_ext_shared = true\n'
        )
    return lines


def seed_file(path: Path) -> None:
    lines = seed_workspace()
    path.write_text("\n".join(lines))


class Simulator:
    """``feedback-bot simulator`` in its own process."""

    def __init__(self, seed: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "simulator",
                "--port",
                str(self.port),
                "--quiet",
                "--seed",
                str(seed),
                "--token",
                TOKEN,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self, session: aiohttp.ClientSession) -> None:
        async with asyncio.timeout(30):
            while True:
                try:
                    async with session.get(f"{self.url}/_sim/state") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)


async def start_workers(
    args: argparse.Namespace, url: str, sim: Simulator
) -> list[subprocess.Popen[bytes]]:
    """``feedback-bot worker`` processes, as an operator would run them."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SLACK_API_URL": f"{sim.url}/api/",
        "SLACK_BOT_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "bot", "worker", "--concurrency", str(args.concurrency)]
    workers = [_spawn(command, env) for _ in range(args.workers)]
    for worker in workers:
        assert worker.stdout is not None
        line = await asyncio.to_thread(worker.stdout.readline)
        if b"ready" not in line:
            raise RuntimeError(f"a worker did not start (exit {worker.poll()})")
    return workers


async def fresh_database(backend: str, folder: Path) -> str:
    if backend == "sqlite":  # the folder is new for each run
        return f"sqlite+aiosqlite:///{folder / 'pipeline.db'}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


async def seed_domain(url: str, backlog: Backlog, embedder_name: str) -> None:
    await upgrade(url)
    from feedback.database import Database

    db = Database(url)
    now = utcnow()
    async with db.transaction() as conn:
        await conn.execute(
            accounts.insert(),
            [
                {
                    "id": f"acc-{n}",
                    "name": f"Customer {n}",
                    "arr": Decimal(100_000 * (n + 1)),
                    "tier": "enterprise",
                    "domain": f"customer{n}.example",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(ACCOUNTS)
            ],
        )
        await conn.execute(
            account_channels.insert(),
            [{"channel_id": f"C0CUS{n:03d}", "account_id": f"acc-{n}"} for n in range(ACCOUNTS)],
        )
        await conn.execute(
            areas.insert(),
            [
                {
                    "id": "area-data",
                    "name": "Data",
                    "slug": "data",
                    "description": "Import, export, sync and integrations",
                },
                {
                    "id": "area-admin",
                    "name": "Admin",
                    "slug": "admin",
                    "description": "Permissions, audit, security and settings",
                },
            ],
        )
        await conn.execute(
            requests_table.insert(),
            [
                {
                    "id": f"req-{n}",
                    "title": title,
                    "description": description,
                    "status": "open",
                    "slug": f"req-{n}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, (title, description) in enumerate(
                    zip(backlog.titles, backlog.descriptions, strict=True)
                )
            ],
        )
        for n, vector in enumerate(backlog.vectors):
            text = f"{backlog.titles[n]}. {backlog.descriptions[n]}"
            await embeddings.save(
                conn,
                request_id=f"req-{n}",
                embedder=embedder_name,
                text_id="request",
                text=text,
                vector=vector,
            )
    await db.close()


async def post_messages(
    session: aiohttp.ClientSession, sim: Simulator, texts: list[str], rng: random.Random
) -> list[tuple[str, str, str]]:
    """Customers post the messages; returns (channel, ts, reactor) for each."""
    posted = []
    for text in texts:
        n = rng.randrange(ACCOUNTS)
        body = {"channel": f"C0CUS{n:03d}", "user": f"U0CUS{n:03d}", "text": text}
        async with session.post(f"{sim.url}/_sim/messages", json=body) as answer:
            ts = (await answer.json())["ts"]
        posted.append((body["channel"], ts, f"U0COL{rng.randrange(COLLEAGUES):03d}"))
    return posted


async def wait_filed(
    deps: Deps,
    session: aiohttp.ClientSession,
    sim: Simulator,
    engine: Engine,
    messages: int,
    timeout: float = 600.0,
) -> None:
    """Until every message has its items filed or asked about, and every DM is posted.

    Polls two cheap counts (not the engine's run list, which would cost the worker's
    process more than the work it measures), then checks once that no run failed.
    """
    filed = feedback_items.c.status.in_(("filed", "pending", "discarded"))
    messages_done = select(
        func.count(distinct(feedback_items.c.channel_id + ":" + feedback_items.c.message_ts))
    ).where(filed)
    items_done = select(func.count()).select_from(feedback_items).where(filed)
    async with asyncio.timeout(timeout):
        while True:
            await asyncio.sleep(0.25)
            async with deps.db.read() as conn:
                done = (await conn.execute(messages_done)).scalar_one()
                items = (await conn.execute(items_done)).scalar_one()
            if done < messages:
                continue
            async with session.get(f"{sim.url}/_sim/journal?method=chat.postMessage") as answer:
                posts = [c for c in await answer.json() if c["ok"]]
            if len(posts) >= items:
                break
    failed = await engine.list_runs(status=RunStatus.FAILED, limit=10)
    if failed:
        raise RuntimeError(f"runs failed, e.g. {[r.run_id for r in failed[:3]]}")


async def latencies(
    deps: Deps,
    session: aiohttp.ClientSession,
    sim: Simulator,
    started: dict[tuple[str, str], float],
) -> dict[tuple[str, str], tuple[float, str]]:
    """Per message: seconds from its start to its last Slack call, and its tiers."""
    async with session.get(f"{sim.url}/_sim/journal?method=chat.postMessage") as answer:
        calls = await answer.json()
    posted_at: dict[str, float] = {}
    for call in calls:
        metadata = call["args"].get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        key = ((metadata or {}).get("event_payload") or {}).get("key")
        if key and call["ok"]:
            posted_at[key] = max(posted_at.get(key, 0.0), call["at"])
    async with deps.db.read() as conn:
        rows = (await conn.execute(feedback_items.select())).mappings().all()
    by_message: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_message.setdefault((row["channel_id"], row["message_ts"]), []).append(dict(row))
    out = {}
    for message, start in started.items():
        ends, tiers = [], []
        for item in by_message.get(message, []):
            for key in (
                f"{item['id']}:0:linked",
                f"{item['id']}:0:new",
                f"match:{item['id']}:0:ask",
            ):
                if key in posted_at:
                    ends.append(posted_at[key])
            tiers.append(item["match_tier"] or "?")
        if ends:
            out[message] = (max(ends) - start, "+".join(sorted(tiers)))
    return out


async def one_run(
    backend: str, backlog: Backlog, embedder: Embedder, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        folder = Path(tmp)
        seed_file(folder / "seed.toml")
        url = await fresh_database(backend, folder)
        await seed_domain(url, backlog, embedder.name)
        sim = Simulator(folder / "seed.toml")
        try:
            async with aiohttp.ClientSession() as session:
                await sim.ready(session)
                burst_texts = [make_message(backlog, rng) for _ in range(args.messages)]
                paced_texts = [make_message(backlog, rng) for _ in range(args.paced)]
                burst = await post_messages(session, sim, burst_texts, rng)
                paced = await post_messages(session, sim, paced_texts, rng)
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    database_url=url,
                    slack_api_url=f"{sim.url}/api/",
                    slack_bot_token=TOKEN,  # type: ignore[arg-type]
                )
                async with (
                    open_deps(settings, embedder=embedder) as deps,
                    Engine(url, idle_window=0.5) as engine,
                ):
                    if args.workers == 0:  # everything in this process
                        with use_deps(deps):
                            async with engine.worker(concurrency=args.concurrency):
                                return await _measure(
                                    deps, engine, session, sim, burst, paced, args
                                )
                    workers = await start_workers(args, url, sim)
                    try:
                        return await _measure(deps, engine, session, sim, burst, paced, args)
                    finally:
                        for worker in workers:
                            worker.terminate()
                            worker.wait(30)
        finally:
            sim.stop()
            if backend == "postgres":
                conn = await asyncpg.connect(PG_ADMIN)
                await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
                await conn.close()


async def _start(engine: Engine, channel: str, ts: str, user: str) -> None:
    reaction = Reaction(channel, ts, user)
    await engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))


async def _measure(
    deps: Deps,
    engine: Engine,
    session: aiohttp.ClientSession,
    sim: Simulator,
    burst: list[tuple[str, str, str]],
    paced: list[tuple[str, str, str]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    started: dict[tuple[str, str], float] = {}
    gate = asyncio.Semaphore(args.inflight)  # events arrive at once, as many listeners'

    async def arrive(channel: str, ts: str, user: str) -> None:
        async with gate:
            started[(channel, ts)] = time.monotonic()
            await _start(engine, channel, ts, user)

    t0 = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for channel, ts, user in burst:
            group.create_task(arrive(channel, ts, user))
    await wait_filed(deps, session, sim, engine, len(burst))
    burst_lat = await latencies(deps, session, sim, started)
    burst_end = max(started[m] + lat for m, (lat, _) in burst_lat.items())
    paced_started: dict[tuple[str, str], float] = {}
    for channel, ts, user in paced:
        paced_started[(channel, ts)] = time.monotonic()
        await _start(engine, channel, ts, user)
        await asyncio.sleep(1 / args.rate)
    await wait_filed(deps, session, sim, engine, len(burst) + len(paced))
    paced_lat = await latencies(deps, session, sim, paced_started)
    tiers = [tier for _, tier in burst_lat.values()]
    quick = [lat for lat, tier in paced_lat.values() if "ask" not in tier]
    return {
        "filed_per_s": len(burst_lat) / (burst_end - t0),
        "burst_p50_ms": 1000 * _pct([lat for lat, _ in burst_lat.values()], 50),
        "burst_p99_ms": 1000 * _pct([lat for lat, _ in burst_lat.values()], 99),
        "paced_p50_ms": 1000 * _pct(quick, 50),
        "paced_p99_ms": 1000 * _pct(quick, 99),
        "filed": len(burst_lat),
        "tiers": {t: tiers.count(t) for t in sorted(set(tiers))},
    }


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.array(values), pct))


async def main_async(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    embedder = get_embedder("local")
    titles, descriptions = make_backlog(args.requests, rng)
    texts = [f"{t}. {d}" for t, d in zip(titles, descriptions, strict=True)]
    t = time.monotonic()
    vectors = await embedder.embed(texts)
    print(f"backlog: {len(texts)} requests embedded in {time.monotonic() - t:.1f}s", flush=True)
    backlog = Backlog(titles, descriptions, np.asarray(vectors, dtype=np.float32))
    results: dict[str, list[dict[str, Any]]] = {}
    for backend in args.backends.split(","):
        for n in range(args.repeat):
            result = await one_run(backend, backlog, embedder, args, seed=100 + n)
            results.setdefault(backend, []).append(result)
            print(f"{backend} run {n + 1}: " + json.dumps(result), flush=True)
    print(
        f"\n{args.messages} messages (burst) + {args.paced} paced at {args.rate}/s, "
        f"{args.requests} requests, concurrency {args.concurrency}; medians of {args.repeat}"
    )
    print(
        f"{'backend':10} {'filed/s':>8} {'burst p50':>10} {'burst p99':>10} "
        f"{'paced p50':>10} {'paced p99':>10}  (ms; paced: link and new only)"
    )
    for backend, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k not in ("tiers",)}
        print(
            f"{backend:10} {med['filed_per_s']:8.1f} {med['burst_p50_ms']:10.0f} "
            f"{med['burst_p99_ms']:10.0f} {med['paced_p50_ms']:10.0f} {med['paced_p99_ms']:10.0f}"
        )
        print(f"{'':10} tiers (last run): {runs[-1]['tiers']}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--paced", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="paced messages per second")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64, help="each worker's")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes (0: one in this process)"
    )
    parser.add_argument("--inflight", type=int, default=100, help="burst: starts at once")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
