"""Multi-workspace mode: workspaces install the app through OAuth, each is served with its
own token, and the workflows reach each workspace with the right one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from agents import Embedder
from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as slack
from feedback.migrate import upgrade
from tests.bot.app_harness import app_settings, build_server, serving
from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    NEW_TEXT,
    SAM,
    TEAM,
    Product,
    seed_domain,
    seed_slack,
)

# slack_sdk sends the client credentials with aiohttp.BasicAuth, which aiohttp deprecates
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

OTHER = "T0OTHER"
OTHER_SELLER, OTHER_CUSTOMER, OTHER_CHANNEL = "U0OSELL", "U0OCUST", "C0OTHER"


async def install(http: httpx.AsyncClient, sim: SlackSimulator, team_id: str) -> httpx.Response:
    """What a person does: open the install page, approve in Slack, come back with the code."""
    page = await http.get("/slack/install")
    assert page.status_code == 200
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert link is not None, page.text
    state = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)["state"][0]
    code = sim.approve_install(team_id, user_id=f"U0{team_id[2:]}ADMIN")
    return await http.get("/slack/oauth_redirect", params={"code": code, "state": state})


@pytest.fixture
async def multi(
    db_url: str, local_embedder: Embedder
) -> AsyncIterator[tuple[Product, httpx.AsyncClient]]:
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = app_settings(
            db_url,
            sim,
            slack_bot_token="",
            slack_client_id=sim.client_id,
            slack_client_secret=sim.client_secret,
        )
        async with serving(build_server(settings, local_embedder)) as (running, http):
            backlog, known = await seed_domain(running.bot.deps)
            yield Product(running.bot.engine, running.bot.deps, sim, backlog, known), http


async def test_two_workspaces_install_and_each_is_served_with_its_own_token(
    multi: tuple[Product, httpx.AsyncClient],
) -> None:
    product, http = multi
    sim = product.sim
    assert (await install(http, sim, TEAM)).status_code == 200
    assert (await install(http, sim, OTHER)).status_code == 200
    other = sim.workspace_of(OTHER)
    other.add_user(OTHER_SELLER, "osell", email="sell@other.example")
    other.add_user(OTHER_CUSTOMER, "ocust", email="c@customer.example", team_id="T0CUST")
    other.add_channel(OTHER_CHANNEL, "customer-shared", members=[OTHER_SELLER, OTHER_CUSTOMER])
    other_ts = other.post(OTHER_CHANNEL, OTHER_CUSTOMER, NEW_TEXT).ts
    home_ts = sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT + " (home)")

    # a reaction in each workspace, each event sent as that workspace's
    other_bot = sim.workspace_of(OTHER).bot_user_id
    authorizations = [
        {
            "enterprise_id": None,
            "team_id": OTHER,
            "user_id": other_bot,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    from_other = slack.reaction_added(
        OTHER_CHANNEL,
        other_ts,
        OTHER_SELLER,
        item_user=OTHER_CUSTOMER,
        team_id=OTHER,
        authorizations=authorizations,
    )
    assert (
        await http.post("/slack/events", content=from_other.body, headers=from_other.headers)
    ).status_code == 200
    from_home = slack.reaction_added(ACME_CHANNEL, home_ts, SAM, item_user=DANA)
    assert (
        await http.post("/slack/events", content=from_home.body, headers=from_home.headers)
    ).status_code == 200
    await product.settle()

    # both filed; each submitter heard back in their own workspace
    assert len(await product.items()) == 2
    other_dm = other.dm_of(OTHER_SELLER)
    assert other_dm is not None and other.all_messages(other_dm)
    assert any("new request" in m.get("text", "") for m in sim.dms(SAM))
    other_token, home_token = sim.token_of(OTHER), sim.token_of(TEAM)
    reads = sim.calls("conversations.replies")
    assert {c.team_id for c in reads} == {OTHER, TEAM}
    assert all(
        c.team_id == OTHER
        for c in sim.calls("reactions.add")
        if c.args.get("channel") == OTHER_CHANNEL
    )
    assert other_token != home_token


async def test_an_event_from_a_workspace_that_never_installed_is_refused(
    multi: tuple[Product, httpx.AsyncClient],
) -> None:
    product, http = multi
    ts = product.sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)

    stray = slack.reaction_added(ACME_CHANNEL, ts, SAM, team_id="T0NEVER")
    response = await http.post("/slack/events", content=stray.body, headers=stray.headers)

    assert response.status_code == 200  # acknowledged (Slack must not retry), not filed
    assert not await product.engine.list_runs(limit=10)


async def test_a_forged_install_state_is_refused(multi: tuple[Product, httpx.AsyncClient]) -> None:
    product, http = multi
    code = product.sim.approve_install(OTHER)

    response = await http.get("/slack/oauth_redirect", params={"code": code, "state": "forged"})

    assert response.status_code == 400
    assert not product.sim.calls("oauth.v2.access")
