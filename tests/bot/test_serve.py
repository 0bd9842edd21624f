"""``feedback-bot serve``: one line for a missing setting; real HTTP; stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from bot.serve import WorkerChild
from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as slack
from feedback.migrate import upgrade
from tests.bot.app_harness import app_settings
from tests.workflows.harness import ACME_CHANNEL, DANA, NEW_TEXT, SAM, TEAM, seed_slack
from workflows.engine import Engine, RunStatus
from workflows.intake import Reaction, ingest_reaction

ROOT = Path(__file__).resolve().parents[2]


async def _serve(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_missing_signing_secret_stops_start_up_with_one_line(sqlite_url: str) -> None:
    process = await _serve(
        {"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": ""}
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    [line] = err.decode().strip().splitlines()
    assert line.startswith("feedback-bot serve: error: SLACK_SIGNING_SECRET: not set")


async def test_socket_mode_needs_an_app_token(sqlite_url: str) -> None:
    env = {"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": ""}
    process = await _serve(env, "--socket")
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    assert "SLACK_APP_TOKEN: not set" in err.decode()


async def test_it_serves_slack_over_http_and_stops_on_sigterm(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    port = _free_port()
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        ts = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)
        process = await _serve(
            {
                "DATABASE_URL": sqlite_url,
                "SLACK_BOT_TOKEN": sim.token,
                "SLACK_API_URL": sim.api_url,
                "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
            },
            "--port",
            str(port),
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                async with asyncio.timeout(60):
                    while True:
                        try:
                            if (await http.get("/readyz")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.1)
                body, headers = slack.reaction_added(ACME_CHANNEL, ts, SAM)
                response = await http.post("/slack/events", content=body, headers=headers)
                assert response.status_code == 200
                # no customer is known for the channel: Sam is asked which one it is
                await sim.wait_for("chat.postMessage", timeout=30)

                # the worker is a child process: killed, it is started again
                [worker] = _children(process.pid)
                os.kill(worker, signal.SIGKILL)
                again = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT + " again")
                body, headers = slack.reaction_added(ACME_CHANNEL, again, SAM)
                assert (await http.post("/slack/events", content=body, headers=headers)).is_success
                await sim.wait_for("chat.postMessage", count=2, timeout=60)
                workers = _children(process.pid)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 0
    assert workers and workers != [worker]
    assert not [pid for pid in workers if _alive(pid)]  # stopped with the server
    assert sim.reactions(ACME_CHANNEL, ts)["eyes"] == ["U0BOT"]
    assert [m["text"] for m in sim.dms(SAM)] == ["Which customer is this feedback from?"] * 2


async def test_the_worker_child_holds_back_while_told_and_files_when_released(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await upgrade(sqlite_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        ts = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)
        for name, value in {
            "SLACK_BOT_TOKEN": sim.token,
            "SLACK_API_URL": sim.api_url,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PYTHONPATH", str(ROOT))
        settings = app_settings(sqlite_url, sim)
        async with (
            WorkerChild(settings, concurrency=4, schedule=False) as child,
            Engine(sqlite_url) as engine,
        ):
            child.hold(True)  # as a burst of requests would
            handle = await engine.start(ingest_reaction, Reaction(ACME_CHANNEL, ts, SAM, "1.1"))
            await asyncio.sleep(3)  # the child starts, reads its pipe and claims nothing
            assert await handle.status() == RunStatus.PENDING
            assert not sim.calls("chat.postMessage")

            child.hold(False)
            await sim.wait_for("chat.postMessage", timeout=30)
    assert [m["text"] for m in sim.dms(SAM)] == ["Which customer is this feedback from?"]
