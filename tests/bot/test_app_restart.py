"""A restart between a reaction and its filing loses nothing."""

from __future__ import annotations

from agents import Embedder
from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as slack
from feedback.migrate import upgrade
from tests.bot.app_harness import app_settings, build_server, serving
from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    LINK_TEXT,
    SAM,
    TEAM,
    Product,
    seed_domain,
    seed_slack,
)
from workflows.engine import RunStatus


async def test_a_reaction_acknowledged_before_a_restart_is_filed_after_it(
    db_url: str, local_embedder: Embedder
) -> None:
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = app_settings(db_url, sim)
        ts = sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

        # the first server acknowledges the reaction, then stops before any worker files it
        first = build_server(settings, local_embedder, worker=False)
        async with serving(first) as (running, http):
            backlog, known = await seed_domain(running.bot.deps)
            body, headers = slack.reaction_added(ACME_CHANNEL, ts, SAM)
            assert (
                await http.post("/slack/events", content=body, headers=headers)
            ).status_code == 200
            [pending] = await running.bot.engine.list_runs(limit=10)
            assert pending.status == RunStatus.PENDING
        assert not sim.dms(SAM)

        # the next server's worker finds it and files it
        second = build_server(settings, local_embedder)
        async with serving(second) as (running, _):
            product = Product(running.bot.engine, running.bot.deps, sim, backlog, known)
            await product.engine.handle(pending.run_id).result(timeout=30)
            await product.settle()
            [item] = await product.items()
            assert item["request_id"] == backlog["pdf"]
            assert any("Filed under" in t for t in product.dm_texts(SAM))
