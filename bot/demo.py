"""The offline demo: durable feedback triage on the embedded SQLite default."""

from __future__ import annotations

import asyncio
from pathlib import Path

from workflows.demo import triage
from workflows.engine import Engine, RunStatus

FEEDBACK = {
    "acme-1": "Acme can't export dashboards to PDF. They need it for board meetings.",
    "globex-7": "Globex wants SSO with Okta before they renew.",
    "initech-3": "Initech reports the CSV import silently drops rows with emoji.",
}


async def run_demo(database_url: str | None) -> int:
    """Run three triage workflows; answer one, let one time out, print the runs."""
    if database_url is None:  # a fresh demo database each time
        database_url = await asyncio.to_thread(_fresh_database, Path("var"))
    print(f"database: {database_url}")
    async with Engine(database_url, idle_window=0.5) as engine, engine.worker(concurrency=4):
        handles = {
            entry: await engine.start(triage, entry, text, 2.0, run_id=f"demo:{entry}")
            for entry, text in FEEDBACK.items()
        }
        await _wait_until_waiting(engine, [h.run_id for h in handles.values()])
        print("all three runs wait for a decision (unloaded from memory)")
        await engine.resume_hook("demo-approve:acme-1", "linked to 'PDF export'")
        await engine.resume_hook("demo-approve:globex-7", "new request drafted")
        print("answered two; the third will time out\n")
        for entry, handle in handles.items():
            result = await handle.result(timeout=30)
            print(f"{entry:10} -> {result['decision']}\n{'':13}{result['summary']}")
        print()
        for run in await engine.list_runs(workflow="demo-triage"):
            detail = await engine.get_run(run.run_id)
            steps = ", ".join(f"{s.name}:{s.status}" for s in detail.steps)
            print(f"{run.run_id:18} {run.status:10} {steps}")
    print("inspect: .venv/bin/python -m workflows runs list --database-url", database_url)
    return 0


def _fresh_database(folder: Path) -> str:
    folder.mkdir(exist_ok=True)
    for leftover in folder.glob("demo.db*"):
        leftover.unlink()
    return f"sqlite+aiosqlite:///{folder / 'demo.db'}"


async def _wait_until_waiting(engine: Engine, run_ids: list[str]) -> None:
    async with asyncio.timeout(30):
        while True:
            runs = [await engine.get_run(run_id) for run_id in run_ids]
            if all(r.status in (RunStatus.WAITING, RunStatus.COMPLETED) for r in runs):
                return
            await asyncio.sleep(0.1)
