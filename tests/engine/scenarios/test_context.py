"""A run runs in its worker's context, whoever started it (both databases)."""

from __future__ import annotations

import asyncio
import contextvars

from tests.engine.conftest import FAST
from workflows.engine import Engine, workflow

setting: contextvars.ContextVar[str] = contextvars.ContextVar("setting")


@workflow
async def context_reader() -> str:
    return setting.get("unset")


async def test_a_run_started_elsewhere_sees_the_workers_context(db_url: str) -> None:
    async def start_from_a_request(engine: Engine) -> str:
        # like a web request's task: started outside the worker's context
        setting.set("the request's")
        handle = await engine.start(context_reader)
        return str(await handle.result(timeout=10))

    token = setting.set("the worker's")
    try:
        async with Engine(db_url, **FAST) as engine, engine.worker(concurrency=2):
            request = asyncio.create_task(
                start_from_a_request(engine), context=contextvars.Context()
            )
            assert await request == "the worker's"
    finally:
        setting.reset(token)
