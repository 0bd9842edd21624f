"""``feedback-bot simulator``: in-process option handling, and a real process on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import main

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def journal_when_ready(
    url: str, process: asyncio.subprocess.Process, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Poll ``/_sim/journal`` until the process answers (or dies, or time runs out)."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(timeout):
        while process.returncode is None:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(f"{url}/_sim/journal") as response:
                    journal: list[dict[str, Any]] = await response.json()
                    return journal
            await asyncio.sleep(0.05)
    raise AssertionError(f"the simulator exited early with status {process.returncode}")


async def test_the_simulator_process_serves_until_terminated() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "simulator",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert await journal_when_ready(url, process) == []
        client = AsyncWebClient(token="xoxb-simulator", base_url=f"{url}/api/")
        assert (await client.auth_test())["team"] == "Brightloop"  # the demo seed by default
        assert [c["method"] for c in await journal_when_ready(url, process)] == ["auth.test"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert f"api url: {url}/api/" in stdout.decode()
    assert "token:   xoxb-simulator" in stdout.decode()
    assert "auth.test 200 ok" in stderr.decode()  # each call is logged


def test_an_unreadable_seed_exits_with_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulator", "--seed", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read seed file" in capsys.readouterr().err


def test_a_taken_port_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulator", "--empty", "--quiet", "--port", str(port)]) == 2
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
