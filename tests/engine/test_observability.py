"""What operators see of the engine: one log record per step attempt, and run counts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest

from workflows.engine import Engine, RetryableError, RunStatus, create_hook, sleep, step, workflow

_failures: dict[str, int] = {}


@step("obs.flaky", backoff=0.01)
async def flaky(key: str, secret_words: str) -> str:
    if _failures.setdefault(key, 0) < 1:
        _failures[key] += 1
        raise RetryableError(f"refused: {secret_words}", retry_after=0.01)
    return secret_words.upper()


@workflow("obs.once")
async def once(key: str, secret_words: str) -> str:
    return await flaky(key, secret_words)


@workflow("obs.sleeps")
async def sleeps(seconds: float) -> None:
    await sleep(timedelta(seconds=seconds))


@workflow("obs.waits")
async def waits(token: str) -> object:
    hook = await create_hook(token)
    return await hook.wait()


async def test_each_step_attempt_is_one_info_record_with_its_fields(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="workflows.engine.steps"):
        key = uuid.uuid4().hex  # the step fails once per key
        handle = await engine.start(once, key, "the customer's words", run_id="obs-1")
        assert await handle.result(timeout=10) == "THE CUSTOMER'S WORDS"

    records = [r for r in caplog.records if r.name == "workflows.engine.steps"]
    assert [(r.levelno, r.getMessage().split(" in ")[0]) for r in records] == [
        (logging.INFO, "run obs-1: step obs.flaky attempt 1 failed"),
        (logging.INFO, "run obs-1: step obs.flaky attempt 2 completed"),
    ]
    retry, done = records
    assert retry.getMessage().endswith("(RetryableError); next attempt in 0.01 s")
    assert (
        vars(done).items()
        >= {
            "run_id": "obs-1",
            "workflow": "obs.once",
            "step": "obs.flaky",
            "attempt": 2,
            "outcome": "completed",
        }.items()
    )
    assert isinstance(vars(done)["duration_ms"], float) and vars(done)["duration_ms"] >= 0
    assert (vars(retry)["outcome"], vars(retry)["error"]) == ("retrying", "RetryableError")
    # arguments, results and error messages stay out of the record
    assert all("words" not in str(vars(r)).lower() for r in records)


async def test_step_records_are_not_made_when_no_one_listens(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflows.engine.steps")
    handle = await engine.start(once, uuid.uuid4().hex, "words", run_id="obs-2")
    await handle.result(timeout=10)

    assert not [r for r in caplog.records if r.name == "workflows.engine.steps"]


async def test_count_runs_by_workflow_and_status_and_timers(bare_engine: Engine) -> None:
    await bare_engine.start(sleeps, 3600, run_id="ahead")
    await bare_engine.start(sleeps, 0.5, run_id="soon")
    await bare_engine.start(sleeps, 0.01, run_id="done")
    await bare_engine.start(waits, "obs-token", run_id="waiter")
    async with bare_engine.worker(concurrency=4), asyncio.timeout(20):
        await bare_engine.handle("done").result()
        while {(await bare_engine.get_run(r)).status for r in ("ahead", "soon", "waiter")} != {
            RunStatus.WAITING
        }:
            await asyncio.sleep(0.02)
    await bare_engine.start(sleeps, 0.01, run_id="pending")
    await asyncio.sleep(0.6)  # "soon" is due now, and no worker claims it

    counts = await bare_engine.count_runs()

    assert counts.runs == {
        ("obs.sleeps", RunStatus.WAITING): 2,
        ("obs.sleeps", RunStatus.COMPLETED): 1,
        ("obs.sleeps", RunStatus.PENDING): 1,
        ("obs.waits", RunStatus.WAITING): 1,
    }
    assert (counts.timers_ahead, counts.timers_due) == (1, 1)
