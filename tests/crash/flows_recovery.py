"""Workflows for tests/crash/test_recovery.py: how fast runs of dead workers resume."""

from __future__ import annotations

from tests.crash.flows import journal
from workflows.engine import now, sleep, step, workflow


@step
async def recovery_note(tag: str) -> str:
    journal(f"recovery_{tag}")
    return tag


@workflow
async def recovery_sleeper(seconds: float) -> float:
    """Sleep, then report when the sleep ended (epoch seconds)."""
    await recovery_note("before")
    await sleep(seconds)
    await recovery_note("after")
    return now().timestamp()
