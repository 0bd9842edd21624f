"""Races between hook payloads, deadlines and waits that lost (both databases)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest

from tests.engine.scenarios.test_waits import wait_for_status
from workflows.engine import (
    Engine,
    HookNotFound,
    HookTimeout,
    RunStatus,
    create_hook,
    sleep,
    step,
    workflow,
)

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


@step
async def races_note(text: str) -> str:
    calls[text.split(":")[0]] += 1
    return text


@workflow
async def races_reminder_loop(token: str, every: float) -> dict[str, Any]:
    """Wait for an answer, sending a reminder each time ``every`` seconds pass first."""
    hook = await create_hook(token)
    reminders = 0
    while True:
        answer = asyncio.ensure_future(hook.wait())
        tick = asyncio.ensure_future(sleep(every))
        try:
            done, _ = await asyncio.wait({answer, tick}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for branch in (answer, tick):  # the loser is abandoned; so are both on unload
                branch.cancel()
        if answer in done:
            payload = answer.result()
            break
        reminders += 1
        await races_note(f"remind:{reminders}")
    # a run whose replay diverged gets an earlier position's stored result here
    receipt = await races_note(f"receipt:{payload}")
    return {"reminders": reminders, "payload": payload, "receipt": receipt}


async def test_a_wait_abandoned_earlier_does_not_take_a_payload_after_a_reload(
    engine: Engine,
) -> None:
    handle = await engine.start(races_reminder_loop, "answer", 0.8)
    async with asyncio.timeout(10):  # two reminders sent, the run unloaded in its third wait
        while calls["remind"] < 2 or (await engine.get_run(handle.run_id)).status != "waiting":
            await asyncio.sleep(0.02)
    sent = calls["remind"]
    await engine.resume_hook("answer", "yes")
    result = await handle.result(timeout=10)
    assert result == {"reminders": sent, "payload": "yes", "receipt": "receipt:yes"}
    run = await engine.get_run(handle.run_id)
    consumed = [e for e in run.events if e.type == "hook_consumed"]
    assert len(consumed) == 1  # the payload went to one wait: the one live when it came
    assert calls == Counter({"remind": sent, "receipt": 1})


@workflow
async def races_answer_or_timeout(token: str, timeout: float) -> Any:
    hook = await create_hook(token)
    try:
        return await hook.wait(timeout=timeout)
    except HookTimeout:
        return "timed out"


async def unload_then_stop_the_worker(engine: Engine, token: str, timeout: float) -> str:
    """Start a run that waits on ``token``; return its id once it is unloaded and no
    worker is left, and sleep until its wait's deadline has passed."""
    async with engine.worker():
        handle = await engine.start(races_answer_or_timeout, token, timeout)
        await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    run = await engine.get_run(handle.run_id)
    assert run.wake_at is not None  # the wait's deadline
    await asyncio.sleep(max(0.0, run.wake_at.timestamp() - engine._clock.time()) + 0.3)
    return handle.run_id


async def test_a_payload_delivered_after_the_deadline_does_not_beat_the_timeout(
    bare_engine: Engine,
) -> None:
    engine = bare_engine
    run_id = await unload_then_stop_the_worker(engine, "late", 0.5)
    with contextlib.suppress(HookNotFound):  # refusing the late payload is right too
        await engine.resume_hook("late", "too late")
    async with engine.worker():
        assert await engine.handle(run_id).result(timeout=10) == "timed out"
    run = await engine.get_run(run_id)
    assert "hook_consumed" not in [e.type for e in run.events]


async def test_resuming_a_hook_whose_wait_timed_out_raises_hook_not_found(
    bare_engine: Engine,
) -> None:
    engine = bare_engine
    run_id = await unload_then_stop_the_worker(engine, "expired", 0.5)
    # no worker has looked at the run since its deadline: the wait timed out all the same
    with pytest.raises(HookNotFound):
        await engine.resume_hook("expired", "too late")
    async with engine.worker():
        assert await engine.handle(run_id).result(timeout=10) == "timed out"


@workflow
async def races_clicked_twice(token: str) -> list[Any]:
    hook = await create_hook(token)
    first = await hook.wait(timeout=30)
    try:
        second = await hook.wait(timeout=0.5)
    except HookTimeout:
        second = None
    return [first, second]


async def test_a_delivery_repeated_with_its_idempotency_key_is_consumed_once(
    engine: Engine,
) -> None:
    handle = await engine.start(races_clicked_twice, "click")
    await wait_for_status(engine, handle.run_id, RunStatus.WAITING)
    resume: Any = engine.resume_hook  # (typed loosely: idempotency_key is new)
    # Slack retries a button click it thinks was lost: the same key, twice
    first = await resume("click", "approve", idempotency_key="k1")
    second = await resume("click", "approve", idempotency_key="k1")
    assert first == second == handle.run_id
    assert await handle.result(timeout=10) == ["approve", None]
