"""A hook wait with a timeout times out even when the run unloads while that wait's first
probe of the database is still in flight (a slow database, a batch queued behind a big
one): the unloaded run's wake-up time includes the wait's deadline (both databases)."""

from __future__ import annotations

import asyncio

import pytest

from tests.engine.conftest import FAST
from workflows.engine import Engine, HookTimeout, _waits, create_hook, workflow


@workflow
async def uf_flow(ta: str, tb: str) -> str:
    a_hook = await create_hook(ta)
    b_hook = await create_hook(tb)
    a = asyncio.ensure_future(a_hook.wait(timeout=0.6))
    b = asyncio.ensure_future(b_hook.wait())  # no timeout: it parks, so the run unloads
    try:
        done, _ = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        a.cancel()
        b.cancel()
    try:
        return f"a:{a.result()}" if a in done else f"b:{b.result()}"
    except HookTimeout:
        return "a timed out"


@pytest.fixture(autouse=True)
def _slow_first_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the first probe of each ``uf-a`` wait for 0.3 s."""
    take_payload = _waits.Waits._take_payload
    slowed: set[str] = set()

    async def slow_take_payload(
        self: _waits.Waits, token: str, position: int, deadline: float | None
    ) -> tuple[str] | None:
        if token.startswith("uf-a") and token not in slowed:
            slowed.add(token)
            await asyncio.sleep(0.3)
        return await take_payload(self, token, position, deadline)

    monkeypatch.setattr(_waits.Waits, "_take_payload", slow_take_payload)


async def test_a_wait_times_out_when_the_run_unloads_during_its_first_probe(
    db_url: str,
) -> None:
    async with Engine(db_url, **FAST) as engine, engine.worker():
        handle = await engine.start(uf_flow, "uf-a", "uf-b")
        assert await handle.result(timeout=6) == "a timed out"
