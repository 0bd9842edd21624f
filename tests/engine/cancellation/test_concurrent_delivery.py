"""Two concurrent ``resume_hook`` calls with one idempotency key (a client retrying a
delivery while the first is still being handled) both succeed: neither raises, on either
database."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.engine.conftest import FAST
from workflows.engine import Engine, create_hook, workflow


@workflow
async def cd_waiter(token: str) -> Any:
    hook = await create_hook(token)
    return await hook.wait()


async def test_concurrent_deliveries_with_one_idempotency_key_both_succeed(db_url: str) -> None:
    async with Engine(db_url, **FAST) as a, Engine(db_url, **FAST) as b, a.worker():
        failures: list[BaseException] = []
        for i in range(20):
            token = f"cd-{i}"
            await a.start(cd_waiter, token)
            async with asyncio.timeout(5):
                while token not in {hook.token for hook in await a.list_hooks(1000)}:
                    await asyncio.sleep(0.01)
            outcomes = await asyncio.gather(
                a.resume_hook(token, "x", idempotency_key="click"),
                b.resume_hook(token, "x", idempotency_key="click"),
                return_exceptions=True,
            )
            failures += [r for r in outcomes if isinstance(r, BaseException)]
        assert failures == []
