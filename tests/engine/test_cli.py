"""The operator CLI: ``main(argv)`` in-process, and ``python -m workflows worker`` as a process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.engine import cli_flows
from workflows.cli import main
from workflows.engine import Engine, FatalError, RunHandle, RunStatus, create_hook, step, workflow

REPO_ROOT = Path(__file__).resolve().parents[2]
Capture = pytest.CaptureFixture[str]
_SWITCH = {"flaky_fails": True}


@step("cli_greet_step")
async def greet_step(name: str) -> str:
    return f"hello {name}"


@workflow("cli_greet")
async def greet(name: str) -> dict[str, str]:
    return {"greeting": await greet_step(name)}


@step("cli_flaky_step")
async def flaky_step() -> str:
    if _SWITCH["flaky_fails"]:
        raise FatalError("the flaky step is switched off")
    return "recovered"


@workflow("cli_flaky")
async def flaky() -> str:
    return await flaky_step()


@workflow("cli_wait")
async def wait_for_hook(token: str) -> Any:
    hook = await create_hook(token)
    return await hook.wait()


@dataclass(frozen=True)
class Seeded:
    """A database holding one completed, one failed and one waiting run."""

    url: str
    completed: str
    failed: str
    waiting: str
    token: str


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def _seed(url: str) -> Seeded:
    token = f"cli-token-{uuid.uuid4().hex[:8]}"
    async with Engine(url, idle_window=0.05, poll_interval=0.05) as engine, engine.worker():
        completed = await engine.start(greet, "ada")
        await completed.result(timeout=10)
        failed = await engine.start(flaky)
        with pytest.raises(FatalError):
            await failed.result(timeout=10)
        waiting = await engine.start(wait_for_hook, token)

        async def unloaded() -> bool:
            return await waiting.status() == RunStatus.WAITING

        await _until(unloaded)
    return Seeded(url, completed.run_id, failed.run_id, waiting.run_id, token)


@pytest.fixture
def seeded(db_url: str) -> Iterator[Seeded]:
    _SWITCH["flaky_fails"] = True
    yield asyncio.run(_seed(db_url))
    _SWITCH["flaky_fails"] = True


def cli(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main(list(argv), environ={})
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: Capture, *argv: str) -> Any:
    code, out, err = cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def line_of(text: str, needle: str) -> str:
    matches = [line for line in text.splitlines() if needle in line]
    assert len(matches) == 1, f"expected one line with {needle!r} in:\n{text}"
    return matches[0]


def is_iso_utc(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None


# -- runs list --------------------------------------------------------------------------------


def test_runs_list_shows_each_run_with_its_status(seeded: Seeded, capsys: Capture) -> None:
    code, out, err = cli(capsys, "runs", "list", "--database-url", seeded.url)

    assert (code, err) == (0, "")
    header = out.splitlines()[0].split()
    assert header[:4] == ["RUN", "ID", "WORKFLOW", "STATUS"]
    assert line_of(out, seeded.completed).split()[1:3] == ["cli_greet", "completed"]
    assert line_of(out, seeded.failed).split()[1:3] == ["cli_flaky", "failed"]
    assert line_of(out, seeded.waiting).split()[1:3] == ["cli_wait", "waiting"]
    # aligned: every row starts its STATUS column where the header does
    column = out.splitlines()[0].index("STATUS")
    assert {line[column:].split()[0] for line in out.splitlines()[1:]} == {
        "completed",
        "failed",
        "waiting",
    }


def test_runs_list_filters(seeded: Seeded, capsys: Capture) -> None:
    url = ("--database-url", seeded.url)

    failed = cli_json(capsys, "runs", "list", "--status", "failed", *url)
    either = cli_json(capsys, "runs", "list", "--status", "failed", "--status", "waiting", *url)
    greets = cli_json(capsys, "runs", "list", "--workflow", "cli_greet", *url)
    one = cli_json(capsys, "runs", "list", "--limit", "1", *url)

    assert [run["run_id"] for run in failed] == [seeded.failed]
    assert {run["run_id"] for run in either} == {seeded.failed, seeded.waiting}
    assert [run["run_id"] for run in greets] == [seeded.completed]
    assert len(one) == 1


def test_runs_list_json_is_machine_readable(seeded: Seeded, capsys: Capture) -> None:
    runs = {
        run["run_id"]: run for run in cli_json(capsys, "runs", "list", "--database-url", seeded.url)
    }

    done = runs[seeded.completed]
    assert done["workflow"] == "cli_greet"
    assert done["status"] == "completed"
    assert done["result"] == {"greeting": "hello ada"}
    assert all(is_iso_utc(done[key]) for key in ("created_at", "updated_at", "completed_at"))
    assert runs[seeded.failed]["error"]["message"] == "the flaky step is switched off"
    assert runs[seeded.waiting]["completed_at"] is None


def test_runs_list_with_no_runs_says_so(db_url: str, capsys: Capture) -> None:
    asyncio.run(_open_and_close(db_url))

    assert cli(capsys, "runs", "list", "--database-url", db_url) == (0, "no runs match\n", "")
    assert cli_json(capsys, "runs", "list", "--database-url", db_url) == []


async def _open_and_close(url: str) -> None:
    async with Engine(url):
        pass


# -- runs show ----------------------------------------------------------------------------------


def test_runs_show_prints_header_steps_and_history(seeded: Seeded, capsys: Capture) -> None:
    code, out, err = cli(capsys, "runs", "show", seeded.completed, "--database-url", seeded.url)

    assert (code, err) == (0, "")
    header, steps, events = out.strip().split("\n\n")
    assert line_of(header, "Run:").split() == ["Run:", seeded.completed]
    assert line_of(header, "Status:").split() == ["Status:", "completed"]
    assert '{"greeting":"hello ada"}' in line_of(header, "Result:")
    assert steps.splitlines()[1].split() == [
        "POS",
        "NAME",
        "STATUS",
        "ATTEMPTS",
        "DURATION",
        "RESULT",
        "/",
        "ERROR",
    ]
    row = line_of(steps, "cli_greet_step")
    assert row.split()[:4] == ["0", "cli_greet_step", "completed", "1"]
    assert row.endswith('  "hello ada"')
    types = [line.split()[3] for line in events.splitlines()[2:]]
    assert types == ["run_created", "step_completed", "run_completed"]


def test_runs_show_names_the_error_of_a_failed_run(seeded: Seeded, capsys: Capture) -> None:
    code, out, _ = cli(capsys, "runs", "show", seeded.failed, "--database-url", seeded.url)
    header, steps, events = out.strip().split("\n\n")

    assert code == 0
    assert line_of(header, "Error:").endswith("  FatalError: the flaky step is switched off")
    step_row = line_of(steps, "cli_flaky_step")
    assert step_row.split()[:4] == ["0", "cli_flaky_step", "failed", "1"]
    assert step_row.endswith("  FatalError: the flaky step is switched off")
    assert line_of(events, "run_failed").endswith("  FatalError: the flaky step is switched off")
    assert "Traceback" not in out


def test_runs_show_json_has_steps_and_events(seeded: Seeded, capsys: Capture) -> None:
    run = cli_json(capsys, "runs", "show", seeded.completed, "--database-url", seeded.url)

    assert run["run_id"] == seeded.completed
    assert run["status"] == "completed"
    [greeting] = run["steps"]
    assert greeting["name"] == "cli_greet_step"
    assert greeting["status"] == "completed"
    assert greeting["result"] == "hello ada"
    assert greeting["duration_seconds"] >= 0
    assert is_iso_utc(greeting["started_at"])
    assert [event["type"] for event in run["events"]] == [
        "run_created",
        "step_completed",
        "run_completed",
    ]
    assert run["events"][1]["data"] == "hello ada"
    assert all(is_iso_utc(event["at"]) for event in run["events"])


# -- cancel and retry ---------------------------------------------------------------------------


def test_runs_cancel_cancels_a_waiting_run(seeded: Seeded, capsys: Capture) -> None:
    code, out, err = cli(capsys, "runs", "cancel", seeded.waiting, "--database-url", seeded.url)

    assert (code, err) == (0, "")
    assert out == f"run {seeded.waiting} cancelled\n"
    shown = cli_json(capsys, "runs", "show", seeded.waiting, "--database-url", seeded.url)
    assert shown["status"] == "cancelled"
    assert shown["events"][-1]["type"] == "run_cancelled"
    assert cli_json(capsys, "hooks", "list", "--database-url", seeded.url) == []


def test_runs_cancel_json_and_finished_runs(seeded: Seeded, capsys: Capture) -> None:
    cancelled = cli_json(capsys, "runs", "cancel", seeded.waiting, "--database-url", seeded.url)
    code, out, _ = cli(capsys, "runs", "cancel", seeded.completed, "--database-url", seeded.url)

    assert cancelled == {"run_id": seeded.waiting, "status": "cancelled", "outcome": "cancelled"}
    assert code == 0
    assert out == f"run {seeded.completed} already completed; left as it is\n"
    assert (
        cli_json(capsys, "runs", "show", seeded.completed, "--database-url", seeded.url)["status"]
        == "completed"
    )


def test_runs_retry_continues_a_failed_run(seeded: Seeded, capsys: Capture) -> None:
    _SWITCH["flaky_fails"] = False

    code, out, err = cli(capsys, "runs", "retry", seeded.failed, "--database-url", seeded.url)

    assert (code, err) == (0, "")
    assert out.startswith(f"run {seeded.failed} is pending")
    assert asyncio.run(_result_with_a_worker(seeded.url, seeded.failed)) == "recovered"
    shown = cli_json(capsys, "runs", "show", seeded.failed, "--database-url", seeded.url)
    assert shown["status"] == "completed"
    assert "run_retried" in [event["type"] for event in shown["events"]]


async def _result_with_a_worker(url: str, run_id: str) -> Any:
    async with Engine(url, poll_interval=0.05) as engine, engine.worker():
        return await engine.handle(run_id).result(timeout=10)


def test_runs_retry_json(seeded: Seeded, capsys: Capture) -> None:
    retried = cli_json(capsys, "runs", "retry", seeded.failed, "--database-url", seeded.url)

    assert retried == {"run_id": seeded.failed, "status": "pending"}


def test_retrying_a_completed_run_is_refused(seeded: Seeded, capsys: Capture) -> None:
    code, out, err = cli(capsys, "runs", "retry", seeded.completed, "--database-url", seeded.url)

    assert (code, out) == (1, "")
    assert err == (
        f"error: run {seeded.completed!r} is completed; only failed, cancelled or crashed runs "
        "can be retried\n"
    )


@pytest.mark.parametrize("action", ["show", "cancel", "retry"])
def test_unknown_run_is_one_clear_line(db_url: str, action: str, capsys: Capture) -> None:
    asyncio.run(_open_and_close(db_url))

    code, out, err = cli(capsys, "runs", action, "no-such-run", "--database-url", db_url)

    assert (code, out) == (1, "")
    assert err.startswith("error: no run with id 'no-such-run'")
    assert err.count("\n") == 1


# -- hooks --------------------------------------------------------------------------------------


def test_hooks_list_shows_live_hooks(seeded: Seeded, capsys: Capture) -> None:
    code, out, _ = cli(capsys, "hooks", "list", "--database-url", seeded.url)
    hooks = cli_json(capsys, "hooks", "list", "--database-url", seeded.url)

    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["TOKEN", "RUN", "ID", "WORKFLOW"]
    assert line_of(out, seeded.token).split()[:3] == [seeded.token, seeded.waiting, "cli_wait"]
    [hook] = hooks
    assert hook["token"] == seeded.token
    assert hook["run_id"] == seeded.waiting
    assert hook["buffered"] == 0
    assert is_iso_utc(hook["created_at"])


# -- the database URL ---------------------------------------------------------------------------


def test_missing_database_url_names_both_sources(capsys: Capture) -> None:
    code, out, err = cli(capsys, "runs", "list")

    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "--database-url" in err
    assert "WORKFLOWS_DATABASE_URL" in err


def test_database_url_from_the_environment(seeded: Seeded, capsys: Capture) -> None:
    code = main(["runs", "list", "--json"], environ={"WORKFLOWS_DATABASE_URL": seeded.url})
    out, _ = capsys.readouterr()

    assert code == 0
    assert {run["run_id"] for run in json.loads(out)} == {
        seeded.completed,
        seeded.failed,
        seeded.waiting,
    }


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "typo.db"

    code, _, err = cli(capsys, "runs", "list", "--database-url", f"sqlite+aiosqlite:///{path}")

    assert code == 1
    assert f"no SQLite database at {path}" in err
    assert not path.exists()


def test_worker_with_an_unimportable_module_exits_2(tmp_path: Path, capsys: Capture) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"

    code, _, err = cli(
        capsys, "worker", "--database-url", url, "--import", "tests.engine.no_such_module"
    )

    assert code == 2
    assert "cannot import 'tests.engine.no_such_module'" in err


# -- the worker process -------------------------------------------------------------------------


def _with_password(url: str) -> tuple[str, str | None]:
    """Give a PostgreSQL URL a password (trust auth ignores it) to check that logs hide it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url, None
    if parsed.password is None:
        parsed = parsed.set(password="cli-test-secret")
    return parsed.render_as_string(hide_password=False), str(parsed.password)


def test_worker_process_runs_workflows_and_stops_on_sigterm(db_url: str, tmp_path: Path) -> None:
    url, password = _with_password(db_url)
    log_path = tmp_path / "worker.log"
    env = {key: value for key, value in os.environ.items() if key != "WORKFLOWS_DATABASE_URL"}
    command = [sys.executable, "-m", "workflows", "worker", "--database-url", url]
    command += ["--import", cli_flows.__name__, "--concurrency", "2"]
    with (
        log_path.open("w") as log,
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stderr=log) as proc,
    ):
        try:
            result = asyncio.run(_start_and_wait(url, proc))
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    logs = log_path.read_text()

    assert result == {"echo": "HELLO"}, logs
    assert code == 0, logs
    started = line_of(logs, "serving")
    assert "cli_flows_echo" in started
    assert "concurrency 2" in started
    if password is not None:
        assert password not in logs
        assert ":***@" in started
    assert "received SIGTERM" in logs
    assert "stopped; its unfinished runs were handed back" in logs
    assert "Traceback" not in logs


async def _start_and_wait(url: str, proc: subprocess.Popen[bytes]) -> Any:
    """Start a run and return its result, or ``"worker exited"`` if the worker died first."""
    async with Engine(url, poll_interval=0.05) as engine:
        handle: RunHandle = await engine.start(cli_flows.echo, "hello")
        async with asyncio.timeout(60):
            while proc.poll() is None:
                try:
                    return await handle.result(timeout=0.2)
                except TimeoutError:
                    continue
    return "worker exited"
