"""The worker holds back while Slack's requests queue up (:mod:`bot.pressure`)."""

from __future__ import annotations

import asyncio
import os

from bot.pressure import HOLD, RELEASE, Pressure, follow


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pressure(clock: Clock) -> tuple[Pressure, list[bool]]:
    changes: list[bool] = []
    return Pressure(changes.append, busy_at=3, calm_after=0.5, max_hold=5, clock=clock), changes


async def test_one_request_at_a_time_never_holds_the_worker() -> None:
    clock = Clock()
    p, changes = pressure(clock)
    for _ in range(100):
        p.enter()
        clock.now += 0.01
        p.exit()
    assert changes == [] and not p.busy


async def test_a_burst_holds_it_and_a_calm_half_second_releases_it() -> None:
    clock = Clock()
    p, changes = pressure(clock)
    for _ in range(3):
        p.enter()
    assert changes == [True]
    for _ in range(3):
        p.enter()  # more of the burst: no second word
    assert changes == [True]

    for _ in range(5):
        p.exit()
    clock.now += 0.3
    p.check()  # one in flight, but crowded 0.3 s ago: still held
    assert changes == [True]
    clock.now += 0.3
    p.check()
    assert changes == [True, False] and not p.busy
    p.exit()


async def test_a_flood_holds_it_five_seconds_then_lets_it_work_as_long() -> None:
    clock = Clock()
    p, changes = pressure(clock)
    for _ in range(4):
        p.enter()
    for _ in range(60):  # requests keep queuing
        clock.now += 0.1
        p.exit()
        p.enter()
        p.check()
    assert changes == [True, False]  # released after max_hold
    clock.now += 1
    p.enter()
    assert changes == [True, False]  # resting: not held again yet
    clock.now += 4.5
    p.exit()
    p.enter()
    assert changes == [True, False, True]


class FakeWorker:
    def __init__(self) -> None:
        self.paused = False
        self.calls: list[str] = []

    def pause(self) -> None:
        self.paused = True
        self.calls.append("pause")

    def resume(self) -> None:
        self.paused = False
        self.calls.append("resume")


async def test_the_worker_follows_the_pipe_and_stops_at_its_end() -> None:
    read, write = os.pipe()
    worker, stop = FakeWorker(), asyncio.Event()
    following = asyncio.create_task(follow(read, worker, stop))  # type: ignore[arg-type]

    async def settled(expected: list[str]) -> None:
        async with asyncio.timeout(5):
            while worker.calls != expected:
                await asyncio.sleep(0.01)

    os.write(write, HOLD)
    await settled(["pause"])
    os.write(write, RELEASE + HOLD + RELEASE)  # only the latest word counts
    await settled(["pause", "resume"])
    os.write(write, HOLD)
    await settled(["pause", "resume", "pause"])
    assert not stop.is_set()

    os.close(write)  # the server is gone
    await asyncio.wait_for(following, 5)
    assert stop.is_set()
