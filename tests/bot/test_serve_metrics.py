"""``feedback-bot serve``'s ``/metrics`` shows what its worker child counted."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as slack
from feedback.migrate import upgrade
from tests.workflows.harness import ACME_CHANNEL, DANA, NEW_TEXT, SAM, TEAM, seed_slack

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _ready(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_worker_childs_steps_and_slack_calls_reach_the_servers_metrics(
    sqlite_url: str, tmp_path: Path
) -> None:
    await upgrade(sqlite_url)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by a previous run")
    port = _free_port()
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        ts = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)
        env = {
            "DATABASE_URL": sqlite_url,
            "SLACK_BOT_TOKEN": sim.token,
            "SLACK_API_URL": sim.api_url,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "LOG_FORMAT": "json",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-schedule",
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await _ready(http)
                body, headers = slack.reaction_added(ACME_CHANNEL, ts, SAM)
                assert (await http.post("/slack/events", content=body, headers=headers)).is_success
                await sim.wait_for("chat.postMessage", timeout=30)  # the account question
                response = await http.get("/metrics")
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 0, err.decode()[-2000:]
    assert response.status_code == 200
    samples = _samples(response.text)
    steps = {"workflow": "ingest-reaction", "step": "read_message", "outcome": "completed"}
    step_count = ("feedback_bot_step_duration_seconds_count", frozenset(steps.items()))
    assert samples[step_count] == 1  # counted in the child, summed by the server
    posted = ("feedback_bot_slack_api_calls_total", frozenset({("method", "chat.postMessage")}))
    assert samples[posted] >= 1
    waiting = ("feedback_bot_waiting_on_people", frozenset({("kind", "account")}))
    assert samples[waiting] == 1
    # the child logs its steps as JSON on the server's stderr
    assert b'"step": "read_message"' in err and b'"outcome": "completed"' in err
