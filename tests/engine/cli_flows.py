"""Workflows for the CLI worker test: imported by ``python -m workflows worker --import``."""

from __future__ import annotations

from workflows.engine import step, workflow


@step("cli_flows_shout")
async def shout(text: str) -> str:
    return text.upper()


@workflow("cli_flows_echo")
async def echo(text: str) -> dict[str, str]:
    """Return ``text`` shouted, through one step."""
    return {"echo": await shout(text)}
