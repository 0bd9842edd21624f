"""Requests take turns, so that the first write of a burst goes out at once (:mod:`bot.turns`)."""

from __future__ import annotations

import asyncio

from bot.turns import Turns


class Writer:
    """A group-committing writer, as the engine's: woken by a submit, it writes all that
    is queued, one batch at a time."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.queue: list[tuple[int, asyncio.Future[None]]] = []
        self.pending = asyncio.Event()

    def submit(self, n: int) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((n, future))
        self.pending.set()
        return future

    async def run(self) -> None:
        while True:
            await self.pending.wait()
            self.pending.clear()
            batch, self.queue = self.queue, []
            self.log.append(f"write {[n for n, _ in batch]}")
            await asyncio.sleep(0.001)  # the round trip to the database
            for _, future in batch:
                future.set_result(None)


async def burst(turns: Turns | None, size: int = 5) -> list[str]:
    log: list[str] = []
    writer = Writer(log)
    task = asyncio.create_task(writer.run())

    async def request(n: int) -> None:
        if turns is not None:
            await turns.take()
        log.append(f"start {n}")
        await writer.submit(n)
        log.append(f"answer {n}")

    await asyncio.gather(*(request(n) for n in range(size)))
    task.cancel()
    return log


async def test_the_first_write_goes_out_before_the_rest_of_the_burst_starts() -> None:
    log = await burst(Turns())
    assert log[:3] == ["start 0", "write [0]", "start 1"]
    assert log.index("write [0]") < log.index("start 4")
    assert [line for line in log if line.startswith("answer")] == [f"answer {n}" for n in range(5)]


async def test_without_turns_the_burst_is_written_in_one_batch_after_all_started() -> None:
    # what Turns is for: asyncio wakes the writer behind every request already ready
    log = await burst(None)
    assert log[:6] == [*(f"start {n}" for n in range(5)), "write [0, 1, 2, 3, 4]"]


async def test_turns_are_first_come_first_served() -> None:
    turns, order = Turns(), list[int]()

    async def request(n: int) -> None:
        await turns.take()
        order.append(n)

    await asyncio.gather(*(request(n) for n in range(20)))
    assert order == list(range(20))


async def test_a_request_waiting_on_something_slow_does_not_hold_the_turn() -> None:
    turns, slow_done = Turns(), asyncio.Event()
    log: list[str] = []

    async def slow() -> None:
        await turns.take()
        log.append("slow started")
        await slow_done.wait()  # a Slack call from a listener, say
        log.append("slow answered")

    async def quick() -> None:
        await turns.take()
        log.append("quick answered")

    slow_task = asyncio.create_task(slow())
    await asyncio.wait_for(quick(), timeout=1)
    slow_done.set()
    await slow_task
    assert log == ["slow started", "quick answered", "slow answered"]


async def test_a_request_cancelled_while_waiting_passes_its_turn_on() -> None:
    turns, order = Turns(), list[str]()

    async def request(name: str) -> None:
        await turns.take()
        order.append(name)

    await turns.take()  # a request is starting: the next ones wait
    first, second, third = (asyncio.create_task(request(n)) for n in ("1st", "2nd", "3rd"))
    await asyncio.sleep(0)  # all three are waiting now
    second.cancel()
    await asyncio.wait_for(asyncio.gather(first, third), timeout=1)
    assert order == ["1st", "3rd"] and second.cancelled()
