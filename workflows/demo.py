"""A small durable workflow for the offline demo: triage one piece of feedback.

It shows the engine's moves on the embedded SQLite default: checkpointed steps, a
durable sleep, and a hook that waits for a person's decision (with a deadline).
The full feedback workflows replace it as the bot grows.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from workflows.engine import HookTimeout, create_hook, sleep, step, workflow


@step
async def summarize(text: str) -> str:
    """Keep the first sentence, without Slack markup."""
    plain = re.sub(r"<[^>]+>", "", text).strip()
    return re.split(r"(?<=[.!?])\s", plain, maxsplit=1)[0][:200]


@step
async def record_decision(summary: str, decision: str) -> dict[str, Any]:
    return {"summary": summary, "decision": decision}


@workflow("demo-triage")
async def triage(entry_id: str, text: str, wait_seconds: float = 5.0) -> dict[str, Any]:
    """Summarize feedback, ask a person whether it is new, and record the answer."""
    summary = await summarize(text)
    hook = await create_hook(f"demo-approve:{entry_id}")
    try:
        decision = await hook.wait(timeout=timedelta(seconds=wait_seconds))
    except HookTimeout:
        decision = "no answer: filed as a new request"
    await sleep(0.2)  # durable: survives a restart
    return await record_decision(summary, str(decision))
