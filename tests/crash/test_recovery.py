"""Runs of dead workers resume in seconds, not after a lease (both databases).

The leases here are long (15 s, the old default): a test that finishes well within
them shows that takeover did not wait for the lease to expire.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import pytest

import tests.crash.flows as flows
import tests.crash.flows_recovery as recovery
from tests.crash.conftest import WorkerProcess
from workflows.engine import Engine, RunStatus

pytestmark = pytest.mark.crash

Spawn = Callable[..., WorkerProcess]
Journal = Callable[[], Counter[str]]
LONG_LEASE = 15.0


async def until(predicate: Callable[[], object], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def sleeping(client: Engine, run_id: str) -> None:
    """Until the run's sleep is scheduled (its deadline stored)."""
    async with asyncio.timeout(20):
        while not any(s.status == "sleeping" for s in (await client.get_run(run_id)).steps):
            await asyncio.sleep(0.02)


async def test_a_restarted_worker_resumes_a_sleep_on_time_not_after_the_lease(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(lease_ttl=LONG_LEASE, idle_window=30)  # the sleeping run stays loaded
    started = time.time()
    handle = await client.start(recovery.recovery_sleeper, 3.0)
    await sleeping(client, handle.run_id)
    await asyncio.sleep(1.0)
    assert (await client.get_run(handle.run_id)).status == RunStatus.RUNNING  # leased
    worker.kill()
    await asyncio.sleep(1.0)
    spawn(lease_ttl=LONG_LEASE, idle_window=30)
    woke_at = await handle.result(timeout=20)
    assert 3.0 <= woke_at - started < 4.5  # on time: not 15 s of lease later
    assert journal() == Counter({"recovery_before": 1, "recovery_after": 1})


async def test_an_overdue_timer_fires_within_a_second_of_a_restart(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    worker = spawn(lease_ttl=LONG_LEASE, idle_window=30)
    handle = await client.start(recovery.recovery_sleeper, 1.0)
    await sleeping(client, handle.run_id)
    worker.kill()
    await asyncio.sleep(2.0)  # the timer is overdue now
    spawn(lease_ttl=LONG_LEASE, idle_window=30)
    restarted = time.time()
    woke_at = await handle.result(timeout=20)
    assert woke_at - restarted < 1.0
    assert journal() == Counter({"recovery_before": 1, "recovery_after": 1})


async def test_a_live_worker_on_the_same_host_takes_over_at_once(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    doomed = spawn(worker_id="doomed", lease_ttl=LONG_LEASE)
    handle = await client.start(flows.crash_takeover)
    await until(lambda: journal()["crash_slow_owner_start"] == 1)
    survivor = spawn(worker_id="survivor", lease_ttl=LONG_LEASE, extra_env={"CRASH_SLOW": "0.05"})
    doomed.kill()
    killed = time.monotonic()
    assert await handle.result(timeout=20) == survivor.pid
    assert time.monotonic() - killed < 2.0  # a heartbeat (poll interval 0.1 s) or two


async def test_a_worker_on_another_host_is_taken_over_within_the_default_lease(
    client: Engine, spawn: Spawn, journal: Journal
) -> None:
    # the doomed worker pretends to run elsewhere: its pid cannot be checked from here
    doomed = spawn(worker_id="doomed", lease_ttl=None, host="elsewhere")
    handle = await client.start(flows.crash_takeover)
    await until(lambda: journal()["crash_slow_owner_start"] == 1)
    survivor = spawn(worker_id="survivor", lease_ttl=None, extra_env={"CRASH_SLOW": "0.05"})
    doomed.kill()
    killed = time.monotonic()
    assert await handle.result(timeout=20) == survivor.pid
    assert time.monotonic() - killed < 5.0
