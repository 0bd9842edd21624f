"""A product worker killed in the middle of filing: every feedback filed once, every DM once."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from agents import Embedder, get_embedder
from bot.simulator import SlackSimulator
from feedback import users
from feedback.migrate import upgrade
from feedback.schema import feedback_items, requests, sent_messages
from feedback.schema import users as users_table
from feedback.settings import Settings
from tests.crash.conftest import ROOT, WorkerProcess
from tests.workflows.harness import (
    ACME_CHANNEL,
    AREA_CHANNEL,
    ASK_TEXT,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    PRIYA,
    SAM,
    TEAM,
    button_values,
    seed_domain,
    seed_slack,
)
from workflows import messages
from workflows.decisions import answer_approval
from workflows.deps import Deps, open_deps
from workflows.engine import Engine, RunStatus
from workflows.intake import Reaction, ingest_reaction, reaction_run_id
from workflows.requests import ship

pytestmark = pytest.mark.crash

TWO_ASKS = f"{LINK_TEXT}\n\nAlso, unrelated: {NEW_TEXT.lower()}"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder("local")


@dataclass
class Stage:
    sim: SlackSimulator
    deps: Deps
    engine: Engine
    url: str
    tmp: Path
    workers: list[WorkerProcess]

    async def spawn(self, fault: str | None = None) -> WorkerProcess:
        """Start a worker (off the loop: it waits for "ready" while the simulator answers)."""
        return await asyncio.to_thread(self._spawn, fault)

    def _spawn(self, fault: str | None) -> WorkerProcess:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_API_URL": self.sim.api_url,
            "SLACK_BOT_TOKEN": self.sim.token,
        }
        args = ["--fault", fault] if fault else []
        log = self.tmp / f"product-worker-{len(self.workers)}.log"
        worker = WorkerProcess(self.url, log, env, args, module="tests.crash.product_worker")
        self.workers.append(worker)
        return worker


@pytest.fixture
async def stage(db_url: str, tmp_path: Path, embedder: Embedder) -> AsyncIterator[Stage]:
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            slack_api_url=sim.api_url,
            slack_bot_token=sim.token,  # type: ignore[arg-type]
        )
        async with open_deps(settings, embedder=embedder) as deps, Engine(db_url) as engine:
            await seed_domain(deps)
            stage = Stage(sim, deps, engine, db_url, tmp_path, [])
            try:
                yield stage
            finally:
                for worker in stage.workers:
                    worker.close()


def _done(run: Any) -> bool:
    """Completed; a new request's follow-up may sleep until its creator's reminder."""
    sleeping = run.workflow == "new-request" and run.status == RunStatus.WAITING
    return bool(run.status == RunStatus.COMPLETED or sleeping)


async def _finished(engine: Engine, timeout: float = 60.0) -> None:
    """Every run of the product completed (none pending, running or failed)."""
    async with asyncio.timeout(timeout):
        while True:
            runs = await engine.list_runs(limit=1000)
            if runs and all(_done(r) for r in runs):
                return
            failed = [r for r in runs if r.status == RunStatus.FAILED]
            assert not failed, [(await engine.get_run(r.run_id)).error for r in failed]
            await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    "fault",
    [
        "after_step:extract_items",
        "after_step_committed:match_item",
        "after_step:link_item",
        "after_step:create_request",
        "after_step:send_new_request",
    ],
)
async def test_a_killed_worker_files_each_feedback_once_and_sends_each_dm_once(
    stage: Stage, fault: str
) -> None:
    ts = stage.sim.post_message(ACME_CHANNEL, DANA, TWO_ASKS)
    first = await stage.spawn(fault=fault)
    reaction = Reaction(ACME_CHANNEL, ts, SAM)
    await stage.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))

    assert await first.exited() == -9  # SIGKILL at the fault point
    await stage.spawn()
    await _finished(stage.engine)

    await _assert_filed_once(stage, backlog=3)


async def test_a_dm_posted_but_never_recorded_is_found_not_sent_again(stage: Stage) -> None:
    """The window between chat.postMessage and its record: found by the message's metadata."""
    ts = stage.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    first = await stage.spawn(fault="after_step:link_item")
    reaction = Reaction(ACME_CHANNEL, ts, SAM)
    await stage.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
    assert await first.exited() == -9
    async with stage.deps.db.transaction() as conn:  # as if it died before recording the ts
        await conn.execute(update(sent_messages).values(ts=None))

    await stage.spawn()
    await _finished(stage.engine)

    assert len(stage.sim.dms(SAM)) == 1
    assert stage.sim.calls("conversations.history")  # it looked before posting again


async def test_a_question_posted_before_a_crash_is_asked_once(stage: Stage) -> None:
    ts = stage.sim.post_message(ACME_CHANNEL, DANA, ASK_TEXT)
    first = await stage.spawn(fault="after_step:ask_person")
    reaction = Reaction(ACME_CHANNEL, ts, SAM)
    handle = await stage.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
    assert await first.exited() == -9

    await stage.spawn()
    [item_id] = (await handle.result(timeout=60))["items"]
    run_id = f"process:{item_id}:0"
    async with asyncio.timeout(60):
        while (await stage.engine.get_run(run_id)).status != RunStatus.WAITING:
            await asyncio.sleep(0.1)
    [question] = stage.sim.dms(SAM)
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    answer = await answer_approval(
        stage.engine, approval_id=new["approval"], slack_user=SAM, choice="new"
    )
    result = await stage.engine.handle(run_id).result(timeout=60)

    assert answer.status == "decided" and result["outcome"] == "new"
    assert len(stage.sim.dms(SAM)) == 1  # the one question, updated in place


@pytest.mark.parametrize(
    "fault", ["after_step:set_shipped", "after_step:tell_shipped", "after_step:reply_shipped"]
)
async def test_a_worker_killed_while_shipping_tells_everyone_once(stage: Stage, fault: str) -> None:
    filer = await stage.spawn()
    first = stage.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    parent = stage.sim.post_message(ACME_CHANNEL, JO, "Notes from the Acme QBR")
    second = stage.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT, thread_ts=parent)
    for ts, user in ((first, SAM), (first, JO), (second, JO)):
        reaction = Reaction(ACME_CHANNEL, ts, user)
        await stage.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
    await _finished(stage.engine)
    filer.close()
    async with stage.deps.db.transaction() as conn:
        priya = await users.ensure(conn, user_id="u-priya", slack_id=PRIYA, name="priya")
        await conn.execute(
            update(users_table).where(users_table.c.id == priya.id).values(is_product_team=True)
        )
    dms_before = {who: len(stage.sim.dms(who)) for who in (SAM, JO)}

    crashing = await stage.spawn(fault=fault)
    answer = await ship(
        stage.engine, stage.deps.db, request="export-dashboards-to-pdf", slack_user=PRIYA
    )
    assert await crashing.exited() == -9
    await stage.spawn()
    result = await stage.engine.handle(answer.run_id or "").result(timeout=60)

    assert result["failed"] == [] and result["threads"] == 2
    for who in (SAM, JO):
        told = [m["text"] for m in stage.sim.dms(who)[dms_before[who] :]]
        assert told == ["Shipped: Export dashboards to PDF"]
    replies = [
        c.args["thread_ts"]
        for c in stage.sim.calls("chat.postMessage")
        if c.ok and c.args.get("channel") == ACME_CHANNEL
    ]
    assert sorted(replies) == sorted([first, parent])


async def _assert_filed_once(stage: Stage, *, backlog: int) -> None:
    async with stage.deps.db.read() as conn:
        filed = list((await conn.execute(select(feedback_items))).mappings())
        request_count = len(list(await conn.execute(select(requests.c.id))))
    assert len(filed) == 2
    assert {row["status"] for row in filed} == {"filed"}
    assert request_count == backlog + 1  # the CSV ask became one new request
    posts = Counter(str(c.args.get("channel")) for c in stage.sim.calls("chat.postMessage") if c.ok)
    assert sum(n for channel, n in posts.items() if channel.startswith("D")) == 2  # a DM each
    assert posts[AREA_CHANNEL] == 1  # the new request, announced once
    assert len(stage.sim.dms(SAM)) == 2
    assert stage.sim.reactions(ACME_CHANNEL, filed[0]["message_ts"])["eyes"] == ["U0BOT"]
