"""The product on one database, against the Slack simulator: what the e2e tests drive.

A test reacts (or submits) as the listeners will, lets the worker run, and asserts on
the simulator's journal and the tables.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from agents import Embedder
from bot.simulator import SlackSimulator
from feedback import items as items_db
from feedback import requests as requests_db
from feedback import users
from feedback.migrate import upgrade
from feedback.schema import account_channels, accounts, areas, audit_log, feedback_items
from feedback.schema import users as users_table
from feedback.settings import Settings
from workflows.deps import Deps, open_deps, use_deps
from workflows.engine import Engine, RunHandle, RunNotFound, RunStatus
from workflows.intake import (
    Reaction,
    Submission,
    ingest_message,
    ingest_reaction,
    message_run_id,
    reaction_run_id,
)
from workflows.matching import REQUEST_TEXT, index_text

TEAM = "T0SIM"
SAM, JO, PRIYA = "U0SAM", "U0JO", "U0PRIYA"
DANA = "U0DANA"  # Acme's person, in a Slack Connect channel
ACME_CHANNEL, NOACCOUNT_CHANNEL, AREA_CHANNEL = "C0ACME", "C0PROSPECT", "C0REPORTING"

BACKLOG = {
    "pdf": (
        "Export dashboards to PDF",
        "Download any dashboard as a PDF file to share in board meetings.",
    ),
    "okta": ("SSO with Okta", "Sign in to the app through Okta single sign-on (SAML)."),
    "alerts": ("Alerts in Slack", "Send threshold alerts from monitors to a Slack channel."),
}
# real scores with the local model against BACKLOG: link >= 0.87, ask >= 0.585, else new
LINK_TEXT = "We really need to export dashboards to PDF for our board meetings."
ASK_TEXT = "We need single sign-on with Okta before renewal."
NEW_TEXT = "The CSV import silently drops rows with emoji"


def seed_slack(sim: SlackSimulator) -> None:
    """People and channels: three colleagues, one customer, a shared and a plain channel."""
    sim.add_user(SAM, "sam", real_name="Sam Seller", email="sam@ourco.example")
    sim.add_user(JO, "jo", real_name="Jo Success", email="jo@ourco.example")
    sim.add_user(PRIYA, "priya", real_name="Priya PM", email="priya@ourco.example")
    sim.add_user(DANA, "dana", real_name="Dana", email="dana@acme.example", team_id="T0ACME")
    sim.add_channel(ACME_CHANNEL, "acme-shared", members=[SAM, JO, DANA], is_ext_shared=True)
    sim.add_channel(NOACCOUNT_CHANNEL, "prospects", members=[SAM, JO])
    sim.add_channel(AREA_CHANNEL, "product-reporting", members=[PRIYA])


@dataclass
class Product:
    """The running product: engine with a worker, its collaborators, the simulator."""

    engine: Engine
    deps: Deps
    sim: SlackSimulator
    backlog: dict[str, str]  # short name -> request id
    accounts: dict[str, str]  # name -> account id

    async def person(self, slack_id: str, *, product_team: bool = False) -> str:
        """A colleague known to the bot (on the product team if asked); their user id."""
        async with self.deps.db.transaction() as conn:
            user = await users.ensure(
                conn, user_id=f"u-{slack_id}", slack_id=slack_id, name=slack_id
            )
            if product_team:
                await conn.execute(
                    update(users_table)
                    .where(users_table.c.id == user.id)
                    .values(is_product_team=True)
                )
        return user.id

    async def react(self, channel: str, ts: str, user: str) -> RunHandle:
        reaction = Reaction(channel=channel, ts=ts, user=user)
        return await self.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))

    async def submit(self, submission: Submission) -> RunHandle:
        return await self.engine.start(
            ingest_message, submission, run_id=message_run_id(submission)
        )

    async def unsure_question(self) -> tuple[str, str, list[dict[str, Any]]]:
        """Dana's unsure ask, reacted to by Sam: waits for the question in Sam's DM.

        Returns:
            The item id, its process run id and the question's blocks.
        """
        ts = self.sim.post_message(ACME_CHANNEL, DANA, ASK_TEXT)
        await (await self.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
        [item] = await self.items()
        run_id = f"process:{item['id']}:0"
        await self.wait_status(run_id, RunStatus.WAITING)
        await self.sim.wait_for("chat.postMessage")
        [blocks] = self.dm_blocks(SAM)
        return item["id"], run_id, blocks

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until no run is pending or running (waiting runs may stay)."""
        busy = {RunStatus.PENDING, RunStatus.RUNNING}
        async with asyncio.timeout(timeout):
            while True:
                runs = await self.engine.list_runs(limit=1000)
                if not [r for r in runs if r.status in busy]:
                    return
                await asyncio.sleep(0.05)

    async def wait_status(self, run_id: str, *statuses: RunStatus, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    if (await self.engine.get_run(run_id)).status in statuses:
                        return
                except RunNotFound:  # not started yet
                    pass
                await asyncio.sleep(0.05)

    async def items(self) -> list[dict[str, Any]]:
        async with self.deps.db.read() as conn:
            rows = await conn.execute(
                select(feedback_items).order_by(
                    feedback_items.c.created_at, feedback_items.c.position
                )
            )
            return [dict(r) for r in rows.mappings()]

    async def item(self, item_id: str) -> items_db.FeedbackItem:
        async with self.deps.db.read() as conn:
            return await items_db.get(conn, item_id)

    async def audit(self) -> list[dict[str, Any]]:
        async with self.deps.db.read() as conn:
            rows = await conn.execute(select(audit_log).order_by(audit_log.c.id))
            return [dict(r) for r in rows.mappings()]

    async def followers(self, request_id: str) -> list[str]:
        async with self.deps.db.read() as conn:
            return await requests_db.followers(conn, request_id)

    async def request(self, request_id: str) -> requests_db.Request:
        async with self.deps.db.read() as conn:
            return await requests_db.get(conn, request_id)

    def dm_texts(self, user: str) -> list[str]:
        """What the bot said to a person in its DM (after updates), oldest first."""
        return [m.get("text", "") for m in self.sim.dms(user)]

    def dm_blocks(self, user: str) -> list[list[dict[str, Any]]]:
        return [m.get("blocks", []) for m in self.sim.dms(user)]


def button_values(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, str]]:
    """The decoded values of every button with this action id in a message."""
    found = []
    for block in blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id and "value" in element:
                found.append(json.loads(element["value"]))
    return found


async def seed_domain(deps: Deps) -> tuple[dict[str, str], dict[str, str]]:
    """Accounts (Acme owns the shared channel), an area, and the indexed backlog."""
    from feedback._util import utcnow

    async with deps.db.transaction() as conn:
        now = utcnow()
        for account_id, name, arr, domain in (
            ("acc-acme", "Acme Corp", Decimal("1200000"), "acme.example"),
            ("acc-globex", "Globex", Decimal("450000"), "globex.example"),
        ):
            await conn.execute(
                accounts.insert().values(
                    id=account_id,
                    name=name,
                    arr=arr,
                    tier="enterprise",
                    domain=domain,
                    created_at=now,
                    updated_at=now,
                )
            )
        await conn.execute(
            account_channels.insert().values(channel_id=ACME_CHANNEL, account_id="acc-acme")
        )
        await conn.execute(
            areas.insert().values(
                id="area-reporting",
                name="Reporting",
                slug="reporting",
                description="Dashboards, reports, exports and scheduled e-mails",
                channel_id=AREA_CHANNEL,
            )
        )
        for key, (title, description) in BACKLOG.items():
            await requests_db.create(
                conn, request_id=f"req-{key}", title=title, description=description, creator_id=None
            )
    backlog = {key: f"req-{key}" for key in BACKLOG}
    for key, request_id in backlog.items():
        title, description = BACKLOG[key]
        await index_text(deps, request_id, REQUEST_TEXT, f"{title}. {description}")
    return backlog, {"Acme Corp": "acc-acme", "Globex": "acc-globex"}


@asynccontextmanager
async def running_product(
    db_url: str,
    embedder: Embedder,
    *,
    reminder: float = 3600.0,
    timeout: float = 7200.0,
    account_timeout: float = 3600.0,
    request_reminder: float = 3600.0,
) -> AsyncIterator[Product]:
    """The product, migrated and seeded, with a worker running."""
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            slack_api_url=sim.api_url,
            slack_bot_token=sim.token,  # type: ignore[arg-type]
            approval_reminder=timedelta(seconds=reminder),
            approval_timeout=timedelta(seconds=timeout),
            account_pick_timeout=timedelta(seconds=account_timeout),
            request_reminder_delay=timedelta(seconds=request_reminder),
        )
        async with open_deps(settings, embedder=embedder) as deps:
            backlog, known = await seed_domain(deps)
            async with Engine(db_url, idle_window=0.2, poll_interval=0.2) as engine:
                with use_deps(deps):
                    async with engine.worker(concurrency=8):
                        yield Product(engine, deps, sim, backlog, known)
