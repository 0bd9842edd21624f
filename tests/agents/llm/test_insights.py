"""area_insights: sections via the LLM (checked), and computed offline."""

from __future__ import annotations

from typing import Any

from agents.llm import (
    AccountInfo,
    AreaInsights,
    AreaRequest,
    InsightSection,
    LLMClient,
    ProductArea,
    area_insights,
)
from tests.agents.llm.conftest import TopicEmbedder, data_of
from tests.fakes import FakeOpenAIServer

AREA = ProductArea("Identity", "Login and SSO")
ACME = AccountInfo("Acme", 250_000)
GLOBEX = AccountInfo("Globex", 30_000)
SMALL = AccountInfo("Tiny Co", 5_000)
REQUESTS = [
    AreaRequest(
        "r1",
        "SAML SSO with Okta",
        "Enterprise SSO",
        "open",
        5,
        (
            "Okta SSO login fails for Acme",
            "SAML SSO needed for Okta",
            "Our login via Okta SSO is a blocker",
        ),
        (ACME, GLOBEX),
        high_severity_count=2,
    ),
    AreaRequest(
        "r2",
        "Password rules",
        "Custom password policy",
        "planned",
        2,
        ("Password rules too weak", "Need custom password length"),
        (SMALL,),
    ),
    AreaRequest("r3", "Session timeout setting", "", "open", 0),
]
SECTION: dict[str, Any] = {
    "kind": "themes",
    "title": "SSO pain <!channel>",
    "summary": "Most feedback is about Okta SSO.",
    "items": ["SAML SSO with Okta (5)"],
}


async def test_insights_through_the_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with({"sections": [SECTION]})
    report = await area_insights(AREA, REQUESTS, llm=llm)
    assert report == AreaInsights(
        area="Identity",
        source="llm",
        sections=(
            InsightSection(
                kind="themes",
                title="SSO pain",
                summary=SECTION["summary"],
                items=("SAML SSO with Okta (5)",),
            ),
        ),
    )
    data = data_of(fake_openai.chat_requests[0].messages)
    assert data["totals"] == {"requests": 3, "feedback": 7, "arr": 285_000.0}
    assert data["requests"][0]["accounts"][0] == {"name": "Acme", "arr": 250_000}


async def test_duplicate_kinds_are_repaired(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with({"sections": [SECTION, SECTION]}, {"sections": [SECTION]})
    report = await area_insights("Identity", REQUESTS, llm=llm)
    assert len(report.sections) == 1
    assert "at most once" in fake_openai.chat_requests[1].messages[-1]["content"]


async def test_schema_default_answer_is_accepted(llm: LLMClient) -> None:
    report = await area_insights(AREA, REQUESTS, llm=llm)
    assert report.source == "llm"
    assert len(report.sections) <= 4


async def test_fallback_computes_every_section() -> None:
    report = await area_insights(
        AREA, REQUESTS, llm=None, embedder=TopicEmbedder(), theme_threshold=0.9
    )
    assert report.source == "fallback"
    sections = {s.kind: s for s in report.sections}
    assert list(sections) == ["dealbreakers", "segments", "themes", "delivery"]
    assert sections["dealbreakers"].items == (
        "SAML SSO with Okta: 2 high-severity, 5 feedback, $280k ARR",
    )
    assert sections["segments"].items[0] == (
        "Enterprise (ARR $100k+): 1 account(s), 1 request link(s), $250k ARR"
    )
    assert "Enterprise" in sections["segments"].summary
    themes = sections["themes"]
    assert len(themes.items) == 2
    assert themes.items[0].endswith("(3 similar mentions)")
    assert sections["delivery"].summary == "3 requests: 2 open, 1 planned."
    assert sections["delivery"].items == ("Not planned yet: SAML SSO with Okta (5 feedback)",)


async def test_fallback_with_little_data_keeps_only_supported_sections() -> None:
    report = await area_insights("Identity", REQUESTS[2:], llm=None)
    assert [s.kind for s in report.sections] == ["delivery"]
    empty = await area_insights("Identity", [], llm=None)
    assert empty.sections == ()
