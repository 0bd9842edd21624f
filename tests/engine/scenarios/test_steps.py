"""Steps: checkpoints, retries, stored errors, parallel steps (both databases)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from workflows.engine import (
    Engine,
    FatalError,
    RetryableError,
    RunStatus,
    SerializationError,
    StepRetriesExhausted,
    step,
    workflow,
)

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


@step
async def steps_double(x: int) -> int:
    calls["double"] += 1
    return x * 2


@workflow
async def steps_pipeline(x: int) -> dict[str, int]:
    a = await steps_double(x)
    b = await steps_double(a)
    return {"a": a, "b": b}


async def test_a_workflow_returns_its_value_and_records_its_steps(engine: Engine) -> None:
    handle = await engine.start(steps_pipeline, 3)
    assert await handle.result(timeout=10) == {"a": 6, "b": 12}
    run = await engine.get_run(handle.run_id)
    assert run.status == RunStatus.COMPLETED
    assert [(s.position, s.name, s.status, s.attempts) for s in run.steps] == [
        (0, "steps_double", "completed", 1),
        (1, "steps_double", "completed", 1),
    ]
    assert run.steps[0].result == 6 and run.steps[0].duration is not None
    types = [e.type for e in run.events]
    assert types[0] == "run_created" and types[-1] == "run_completed"


async def test_starting_twice_with_one_run_id_gives_one_run(engine: Engine) -> None:
    first = await engine.start(steps_pipeline, 1, run_id="same")
    second = await engine.start(steps_pipeline, 1, run_id="same")
    assert first.run_id == second.run_id == "same"
    assert await second.result(timeout=10) == {"a": 2, "b": 4}
    assert calls["double"] == 2
    assert len(await engine.list_runs()) == 1


async def test_concurrent_starts_with_one_run_id_give_one_run(engine: Engine) -> None:
    handles = await asyncio.gather(
        *(engine.start(steps_pipeline, 1, run_id="race") for _ in range(10))
    )
    assert {h.run_id for h in handles} == {"race"}
    await handles[0].result(timeout=10)
    assert calls["double"] == 2


async def test_a_step_outside_a_workflow_just_runs() -> None:
    assert await steps_double(5) == 10


flaky_failures: dict[str, int] = {}


@step(max_attempts=4, backoff=0.01)
async def steps_flaky(key: str) -> str:
    calls[key] += 1
    if calls[key] <= flaky_failures.get(key, 0):
        raise ConnectionError(f"attempt {calls[key]} failed")
    return f"ok after {calls[key]}"


@workflow
async def steps_uses_flaky(key: str) -> str:
    return await steps_flaky(key)


async def test_failed_attempts_are_retried_and_recorded(engine: Engine) -> None:
    flaky_failures["k1"] = 2
    handle = await engine.start(steps_uses_flaky, "k1")
    assert await handle.result(timeout=10) == "ok after 3"
    run = await engine.get_run(handle.run_id)
    assert run.steps[0].attempts == 3
    failures = [e for e in run.events if e.type == "step_failed"]
    assert [e.attempt for e in failures] == [1, 2]


async def test_exhausted_retries_fail_the_run_with_the_last_cause(engine: Engine) -> None:
    flaky_failures["k2"] = 10
    handle = await engine.start(steps_uses_flaky, "k2")
    with pytest.raises(StepRetriesExhausted) as info:
        await handle.result(timeout=10)
    assert calls["k2"] == 4
    assert info.value.attempts == 4
    assert isinstance(info.value.cause, ConnectionError)
    assert (await handle.status()) == RunStatus.FAILED


@step(max_attempts=5, backoff=0.01)
async def steps_fatal() -> None:
    calls["fatal"] += 1
    raise FatalError("card declined")


@workflow
async def steps_catches_fatal() -> str:
    try:
        await steps_fatal()
    except FatalError as exc:
        return f"caught: {exc}"
    return "not raised"


async def test_fatal_errors_are_not_retried_and_can_be_caught(engine: Engine) -> None:
    handle = await engine.start(steps_catches_fatal)
    assert await handle.result(timeout=10) == "caught: card declined"
    assert calls["fatal"] == 1


@step(max_attempts=2, backoff=100.0)
async def steps_retry_after() -> str:
    calls["retry_after"] += 1
    if calls["retry_after"] == 1:
        raise RetryableError("rate limited", retry_after=0.05)
    return "done"


@workflow
async def steps_honours_retry_after() -> str:
    return await steps_retry_after()


async def test_retry_after_is_honoured_instead_of_backoff(engine: Engine) -> None:
    handle = await engine.start(steps_honours_retry_after)
    assert await handle.result(timeout=5) == "done"
    run = await engine.get_run(handle.run_id)
    failure = next(e for e in run.events if e.type == "step_failed")
    assert failure.attempt == 1


@step(max_attempts=2, backoff=0.01)
async def steps_always_fails() -> None:
    calls["always"] += 1
    raise KeyError("missing")


@workflow
async def steps_catches_exhaustion() -> str:
    try:
        await steps_always_fails()
    except StepRetriesExhausted as exc:
        return f"gave up after {exc.attempts}"
    return "unreachable"


async def test_the_workflow_may_catch_exhaustion(engine: Engine) -> None:
    handle = await engine.start(steps_catches_exhaustion)
    assert await handle.result(timeout=10) == "gave up after 2"


@step
async def steps_bad_result() -> object:
    calls["bad"] += 1
    return object()


@workflow
async def steps_returns_unserializable() -> object:
    return await steps_bad_result()


async def test_an_unserializable_result_fails_loudly_naming_the_step(engine: Engine) -> None:
    handle = await engine.start(steps_returns_unserializable)
    with pytest.raises(SerializationError, match="steps_bad_result"):
        await handle.result(timeout=10)
    assert calls["bad"] == 1  # not retried


async def test_an_unserializable_argument_fails_at_start(engine: Engine) -> None:
    with pytest.raises(SerializationError, match="arguments of workflow"):
        await engine.start(steps_pipeline, object())


gates: dict[str, asyncio.Event] = {}


@step(max_attempts=1)
async def steps_slow(tag: str, delay: float) -> str:
    calls["started"] += 1
    if calls["started"] == 3:
        gates["all_started"].set()
    await asyncio.wait_for(gates["all_started"].wait(), 5)  # run one after another, this times out
    await asyncio.sleep(delay)
    return tag


@workflow
async def steps_parallel() -> list[str]:
    return list(
        await asyncio.gather(steps_slow("a", 0.03), steps_slow("b", 0.01), steps_slow("c", 0.02))
    )


async def test_parallel_steps_run_concurrently_and_keep_call_order(engine: Engine) -> None:
    gates["all_started"] = asyncio.Event()
    handle = await engine.start(steps_parallel)
    assert await handle.result(timeout=10) == ["a", "b", "c"]
    run = await engine.get_run(handle.run_id)
    assert [s.name for s in run.steps] == ["steps_slow"] * 3
    assert [s.result for s in run.steps] == ["a", "b", "c"]


async def test_two_engines_racing_on_one_run_id_make_one_run(db_url: str) -> None:
    from tests.engine.conftest import FAST

    async with Engine(db_url, **FAST) as first, Engine(db_url, **FAST) as second:
        async with first.worker(), second.worker():
            starts = [e.start(steps_pipeline, 2, run_id="contested") for e in (first, second) * 5]
            handles = await asyncio.gather(*starts)
            assert {h.run_id for h in handles} == {"contested"}
            assert await handles[0].result(timeout=10) == {"a": 4, "b": 8}
        assert len(await first.list_runs()) == 1
    assert calls["double"] == 2
