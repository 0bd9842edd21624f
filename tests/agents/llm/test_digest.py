"""weekly_digest: headline and highlights via the LLM, lists always from the data."""

from __future__ import annotations

from datetime import date

from agents.llm import DigestItem, LLMClient, weekly_digest
from tests.agents.llm.conftest import data_of
from tests.fakes import FakeOpenAIServer

WEEK = date(2024, 3, 4)
NEW = [DigestItem("SSO for Okta", "https://fb.example/r/1", 3, area="Identity")]
SHIPPED = [DigestItem("Dark mode <b>", None, 12)]
TRENDING = [DigestItem(f"Request {i}", None, 20 + i, new_feedback_count=i) for i in range(12)]


async def test_digest_through_the_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with(
        {"headline": "Dark mode shipped <!here>!", "highlights": ["SSO demand keeps growing"]}
    )
    digest = await weekly_digest(week_of=WEEK, new=NEW, shipped=SHIPPED, trending=TRENDING, llm=llm)
    assert digest.source == "llm"
    lines = digest.text.splitlines()
    assert lines[:3] == [
        "*Weekly feedback digest, week of March 4, 2024*",
        "Dark mode shipped !",
        "• SSO demand keeps growing",
    ]
    assert "• Dark mode &lt;b&gt; (12 feedback)" in lines
    assert "• <https://fb.example/r/1|SSO for Okta> (3 feedback, Identity)" in lines
    assert "• Request 0 (+0 this week, 20 total)" in lines
    assert lines[-1] == "• …and 2 more"
    data = data_of(fake_openai.chat_requests[0].messages)
    assert data["week_of"] == "2024-03-04"
    assert [i["title"] for i in data["shipped"]] == ["Dark mode <b>"]


async def test_links_in_the_headline_are_rejected_then_fall_back(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    bad = {"headline": "Read more at https://evil.example", "highlights": []}
    fake_openai.reply_with(bad, bad)
    digest = await weekly_digest(week_of=WEEK, new=NEW, shipped=SHIPPED, trending=[], llm=llm)
    assert digest.source == "fallback"
    assert "evil" not in digest.text
    assert len(fake_openai.chat_requests) == 2


async def test_fallback_template() -> None:
    digest = await weekly_digest(week_of=WEEK, new=NEW, shipped=SHIPPED, trending=[], llm=None)
    assert digest.source == "fallback"
    assert digest.headline == "This week: 1 new request(s), 1 shipped, 0 trending."
    assert "*Shipped*" in digest.text
    assert "*Trending*" not in digest.text


async def test_quiet_week_needs_no_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    digest = await weekly_digest(week_of=WEEK, new=[], shipped=[], trending=[], llm=llm)
    assert digest.headline == "A quiet week: no new, shipped or trending requests."
    assert fake_openai.journal == []
