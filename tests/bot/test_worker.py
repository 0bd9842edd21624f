"""``feedback-bot worker``: refuses a bad configuration in one line, serves, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.simulator import SlackSimulator
from feedback.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]


async def _worker(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_missing_token_stops_start_up_with_one_line(sqlite_url: str) -> None:
    process = await _worker({"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": ""})
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "feedback-bot worker: error: SLACK_BOT_TOKEN: not set; use the app's Bot User OAuth "
        "Token (xoxb-...)"
    ]


async def test_missing_tables_say_to_run_db_upgrade(sqlite_url: str) -> None:
    process = await _worker({"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-1"})
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    assert "feedback-bot db upgrade" in err.decode()


async def test_a_wrong_token_is_named_at_start_up(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    async with SlackSimulator() as sim:
        process = await _worker(
            {
                "DATABASE_URL": sqlite_url,
                "SLACK_BOT_TOKEN": "xoxb-wrong",
                "SLACK_API_URL": sim.api_url,
            }
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    assert "invalid_auth" in err.decode() and "SLACK_BOT_TOKEN" in err.decode()


async def test_it_serves_until_sigterm(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    async with SlackSimulator() as sim:
        process = await _worker(
            {"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": sim.token, "SLACK_API_URL": sim.api_url}
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 60)

    assert line == b"worker ready\n"
    assert process.returncode == 0
    assert [c.method for c in sim.journal] == ["auth.test"]


async def test_with_schedule_a_missed_report_tick_runs_once_at_start_up(sqlite_url: str) -> None:
    from workflows.engine import Engine, RunStatus

    await upgrade(sqlite_url)
    async with SlackSimulator() as sim:
        env = {
            "DATABASE_URL": sqlite_url,
            "SLACK_BOT_TOKEN": sim.token,
            "SLACK_API_URL": sim.api_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", "--schedule",
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 60)
        async with Engine(sqlite_url) as engine, asyncio.timeout(60):
            while True:
                runs = await engine.list_runs()
                if len(runs) == 3 and all(r.status == RunStatus.COMPLETED for r in runs):
                    break
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 60)

    assert sorted(r.workflow for r in runs) == [
        "area-insights",
        "notification-batch",
        "weekly-digest",
    ]
    assert all(r.run_id.startswith(f"{r.workflow}:") for r in runs)
