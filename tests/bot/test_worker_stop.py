"""``feedback-bot worker``: on SIGTERM a step in flight is left to another worker, not lost;
with ``--metrics-port`` it serves its own counts.

A real worker process files a reaction while Slack holds its answer to the thread read;
SIGTERM arrives mid-step. The worker hands the run back and exits 0 at once (it does
not wait the minute out); a second worker takes the run from that step on, and the
message is filed once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx

from bot.simulator import SlackSimulator
from feedback import imports
from feedback.database import Database
from feedback.migrate import upgrade
from tests.workflows.harness import ACME_CHANNEL, DANA, NEW_TEXT, SAM, TEAM, seed_slack
from workflows.engine import Engine, RunStatus
from workflows.intake import Reaction, ingest_reaction, reaction_run_id

ROOT = Path(__file__).resolve().parents[2]
SLOW = 60.0  # how long Slack holds the first thread read: far longer than a stop may take


async def _worker(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "worker", "--concurrency", "4", *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 60) == b"worker ready\n"
    return process


async def _seed_accounts(db_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "accounts.csv"
    csv.write_text("name,arr,domain\nAcme Corp,1200000,acme.example\n")  # Dana is at acme
    db = Database(db_url)
    try:
        await imports.import_accounts(db, csv)
    finally:
        await db.close()


async def test_sigterm_mid_step_hands_the_run_to_the_next_worker(
    db_url: str, tmp_path: Path
) -> None:
    await upgrade(db_url)
    await _seed_accounts(db_url, tmp_path)
    async with SlackSimulator(team_id=TEAM) as sim, Engine(db_url) as engine:
        seed_slack(sim)
        env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": sim.token, "SLACK_API_URL": sim.api_url}
        ts = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)
        sim.delay("conversations.replies", SLOW)
        reaction = Reaction(channel=ACME_CHANNEL, ts=ts, user=SAM)
        run_id = reaction_run_id(reaction)

        first = await _worker(env)
        await engine.start(ingest_reaction, reaction, run_id=run_id)
        async with asyncio.timeout(60):
            while sim.pending_faults():  # the thread read is in flight, held by Slack
                await asyncio.sleep(0.05)
        stopping = time.monotonic()
        first.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(first.communicate(), 30)
        stopped_in = time.monotonic() - stopping
        handed_back = await engine.get_run(run_id)

        second = await _worker(env)
        try:
            result = await engine.handle(run_id).result(timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.communicate(), 30)
        run = await engine.get_run(run_id)

    assert first.returncode == 0, err.decode()[-2000:]
    assert stopped_in < SLOW / 2
    assert handed_back.status in (RunStatus.PENDING, RunStatus.WAITING)
    assert handed_back.owner is None  # no lease to wait out: the next worker takes it at once
    assert "read_message" not in [s.name for s in handed_back.steps if s.status == "completed"]
    assert second.returncode == 0
    assert result["status"] == "filed" and len(result["items"]) == 1
    assert run.status == RunStatus.COMPLETED
    steps = [s.name for s in run.steps]
    assert steps.count("read_message") == 1 and steps.count("claim_message") == 1
    reads = [c for c in sim.journal if c.method == "conversations.replies"]
    assert len(reads) == 2  # the one held when the worker stopped, and the next worker's


async def test_a_worker_serves_its_own_step_latencies_with_metrics_port(
    sqlite_url: str, tmp_path: Path
) -> None:
    await upgrade(sqlite_url)
    await _seed_accounts(sqlite_url, tmp_path)
    port = _free_port()
    async with SlackSimulator(team_id=TEAM) as sim, Engine(sqlite_url) as engine:
        seed_slack(sim)
        env = {
            "DATABASE_URL": sqlite_url,
            "SLACK_BOT_TOKEN": sim.token,
            "SLACK_API_URL": sim.api_url,
        }
        worker = await _worker(env, "--metrics-port", str(port))
        try:
            reaction = Reaction(
                channel=ACME_CHANNEL, ts=sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT), user=SAM
            )
            await engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
            await engine.handle(reaction_run_id(reaction)).result(timeout=60)
            async with httpx.AsyncClient() as http:
                page = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.communicate(), 30)

    assert worker.returncode == 0
    assert (
        'feedback_bot_step_duration_seconds_count{outcome="completed",step="read_message",'
        'workflow="ingest-reaction"} 1.0'
    ) in page
    assert 'feedback_bot_slack_api_calls_total{method="conversations.replies"}' in page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
