"""``oauth.v2.access`` and the workspaces it opens: a second team, its own bot token."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator import SlackSimulator
from bot.simulator.oauth import DEFAULT_SCOPES
from tests.bot.simulator.conftest import FakeClock

REDIRECT = "https://bot.example/slack/oauth_redirect"

# slack_sdk (3.48) sends the client credentials with aiohttp's BasicAuth, which aiohttp 3.14
# deprecates (aio-libs/aiohttp#12499): the real client warns on every oauth.v2.access
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


async def exchange(sim: SlackSimulator, code: str, **options: Any) -> dict[str, Any]:
    """``oauth.v2.access`` as Bolt's OAuth flow calls it: the app's own client, no token."""
    arguments: dict[str, Any] = {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    answer = await AsyncWebClient(base_url=sim.api_url).oauth_v2_access(**arguments | options)
    return answer.data  # type: ignore[return-value]


async def refused(sim: SlackSimulator, code: str, **options: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await exchange(sim, code, **options)
    error: str = caught.value.response["error"]
    return error


async def test_an_approved_install_gets_a_bot_token_for_that_team(sim: SlackSimulator) -> None:
    code = sim.approve_install(
        "T0OTHER", user_id="U0ADMIN", team_name="Other Co", redirect_uri=REDIRECT
    )

    answer = await exchange(sim, code)
    token = answer["access_token"]
    assert token.startswith("xoxb-T0OTHER-")
    assert answer == {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": ",".join(DEFAULT_SCOPES),
        "bot_user_id": "U0OTHERBOT",
        "app_id": "A0FEEDBACK",
        "team": {"name": "Other Co", "id": "T0OTHER"},
        "enterprise": None,
        "authed_user": {"id": "U0ADMIN"},
        "is_enterprise_install": False,
    }
    other = await AsyncWebClient(token=token, base_url=sim.api_url).auth_test()
    assert (other["team_id"], other["team"], other["user_id"], other["bot_id"]) == (
        "T0OTHER",
        "Other Co",
        "U0OTHERBOT",
        "B0OTHERBOT",
    )
    assert other["app_id"] == "A0FEEDBACK"
    ours = await AsyncWebClient(token=sim.token, base_url=sim.api_url).auth_test()
    assert (ours["team_id"], ours["user_id"], ours["app_id"]) == ("T0SIM", "U0BOT", "A0FEEDBACK")
    assert [(c.method, c.team_id) for c in sim.journal] == [
        ("oauth.v2.access", "T0OTHER"),
        ("auth.test", "T0OTHER"),
        ("auth.test", "T0SIM"),
    ]
    assert "client_secret" not in sim.journal[0].args
    assert sim.token_of("T0OTHER") == token


async def test_each_token_acts_on_its_own_workspace(sim: SlackSimulator) -> None:
    token = sim.install("T0OTHER", user_id="U0ADMIN")
    other_ws = sim.workspace_of("T0OTHER")
    other_ws.add_channel("C0OTHER", "general", members=["U0ADMIN"])
    other = AsyncWebClient(token=token, base_url=sim.api_url)

    with pytest.raises(SlackApiError, match="channel_not_found"):
        await other.chat_postMessage(channel="C0GENERAL", text="not my workspace")
    posted = await other.chat_postMessage(channel="C0OTHER", text="hello other")
    assert posted["message"]["bot_id"] == "B0OTHERBOT"
    assert [m.text for m in other_ws.all_messages("C0OTHER")] == ["hello other"]
    assert sim.messages("C0GENERAL") == []
    assert (await other.users_info(user="U0ADMIN"))["user"]["team_id"] == "T0OTHER"
    with pytest.raises(LookupError, match="not installed in T0NONE"):
        sim.workspace_of("T0NONE")


async def test_reinstalling_keeps_the_token_and_our_team_answers_with_ours(
    sim: SlackSimulator,
) -> None:
    first = sim.install("T0OTHER")
    assert (await exchange(sim, sim.approve_install("T0OTHER")))["access_token"] == first
    ours = await exchange(sim, sim.approve_install("T0SIM", user_id="U0ALICE"))
    assert (ours["access_token"], ours["bot_user_id"]) == (sim.token, "U0BOT")
    assert ours["team"] == {"name": "Simulator", "id": "T0SIM"}


async def test_a_code_is_used_once_and_lives_ten_minutes() -> None:
    clock = FakeClock()
    async with SlackSimulator(clock=clock) as sim:
        code = sim.approve_install("T0OTHER", redirect_uri=REDIRECT)
        assert (await exchange(sim, code))["ok"] is True
        assert await refused(sim, code) == "invalid_code"

        late = sim.approve_install("T0LATE", redirect_uri=REDIRECT)
        clock.now += 10 * 60 + 1
        assert await refused(sim, late) == "invalid_code"
        assert await refused(sim, "made-up") == "invalid_code"


async def test_client_credentials_and_redirect_uri_are_checked(sim: SlackSimulator) -> None:
    code = sim.approve_install("T0OTHER", redirect_uri=REDIRECT)

    assert await refused(sim, code, client_secret="wrong") == "bad_client_secret"
    assert await refused(sim, code, client_id="123.456") == "invalid_client_id"
    assert await refused(sim, code, redirect_uri="https://evil.example/cb") == "bad_redirect_uri"
    assert await refused(sim, "x", grant_type="refresh_token") == "invalid_grant_type"
    assert [c.error for c in sim.calls("oauth.v2.access")] == [
        "bad_client_secret",
        "invalid_client_id",
        "bad_redirect_uri",
        "invalid_grant_type",
    ]


async def test_credentials_may_come_as_form_fields(sim: SlackSimulator) -> None:
    code = sim.approve_install("T0OTHER")  # no redirect_uri: none is needed then
    form = {"client_id": sim.client_id, "client_secret": sim.client_secret, "code": code}

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sim.api_url}oauth.v2.access", data=form) as response,
    ):
        answer = await response.json()
    assert (response.status, answer["ok"], answer["team"]["id"]) == (200, True, "T0OTHER")
    (call,) = sim.calls("oauth.v2.access")
    assert call.args == {"client_id": sim.client_id, "code": code}
