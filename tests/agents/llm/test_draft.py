"""draft_request: title, description and area via the LLM, and the offline fallback."""

from __future__ import annotations

import pytest

from agents.embedders.fake import FakeEmbedder
from agents.llm import (
    ExtractedItem,
    LLMClient,
    ProductArea,
    RequestDraft,
    draft_request,
    nearest_area,
)
from agents.llm.draft import title_from
from tests.agents.llm.conftest import TopicEmbedder, data_of
from tests.fakes import FakeOpenAIServer

AREAS = [
    ProductArea("Billing", "Invoices, payments, refunds and plans"),
    ProductArea("Identity", "Login, SSO, SAML, passwords and user management"),
    ProductArea("Data export", "CSV export, downloads and reporting"),
]
ITEM = ExtractedItem(
    summary="Customer wants to pay invoices by bank transfer.",
    pain="Finance cannot settle invoices without a card; they need bank transfer payment.",
    quote="We can't pay invoices without a card, we need bank transfer.",
    severity="medium",
)
ANSWER = {
    "title": "Pay invoices by bank transfer",
    "description": "Let finance teams settle invoices by bank transfer.",
    "area": "billing",
}


async def test_draft_through_the_llm(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with(ANSWER)
    draft = await draft_request(ITEM, areas=AREAS, llm=llm)
    assert draft == RequestDraft(
        title=ANSWER["title"], description=ANSWER["description"], area="Billing", source="llm"
    )
    data = data_of(fake_openai.chat_requests[0].messages)
    assert data["areas"][1] == {
        "name": "Identity",
        "description": "Login, SSO, SAML, passwords and user management",
    }
    assert data["feedback"]["pain"] == ITEM.pain


async def test_unknown_area_is_repaired(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with({**ANSWER, "area": "Payments"}, ANSWER)
    draft = await draft_request(ITEM, areas=AREAS, llm=llm)
    assert draft.area == "Billing"
    repair = fake_openai.chat_requests[1].messages[-1]["content"]
    assert "one of the listed area names" in repair


async def test_short_title_twice_falls_back(llm: LLMClient, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply_with({**ANSWER, "title": "Pay"}, {**ANSWER, "title": "Pay it"})
    draft = await draft_request(ITEM, areas=AREAS, llm=llm, embedder=TopicEmbedder())
    assert draft.source == "fallback"
    assert draft.area == "Billing"


async def test_fallback_uses_the_embedder_for_the_area() -> None:
    embedder = TopicEmbedder()
    draft = await draft_request(
        "Okta sign in keeps failing for the whole team :fire:",
        areas=AREAS,
        llm=None,
        embedder=embedder,
    )
    assert draft.source == "fallback"
    assert draft.area == "Identity"
    assert draft.title == "Okta sign in keeps failing for the whole team"
    assert embedder.calls  # the injected embedder was used


async def test_fallback_without_embedder_uses_the_local_model() -> None:
    draft = await draft_request(ITEM, areas=AREAS, llm=None)
    assert draft.area == "Billing"
    assert draft.title == "Customer wants to pay invoices by bank transfer"
    assert ITEM.pain in draft.description
    # No word in common with "Identity: Login, SSO, ...": only a model of meaning finds it.
    assert await nearest_area("Okta sign in keeps failing", AREAS) == AREAS[1]
    assert await nearest_area("invoices", []) is None


async def test_nearest_area_needs_some_similarity() -> None:
    assert await nearest_area("zzz", AREAS, embedder=FakeEmbedder()) is None


async def test_fallback_without_areas_has_no_area(
    llm: LLMClient, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply_with(ANSWER)
    assert (await draft_request(ITEM, areas=[], llm=llm)).area is None
    assert (await draft_request(ITEM, areas=[], llm=None)).area is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSO. More details follow.", "Customer request: SSO"),
        ("", "Customer feedback to triage"),
        ("export " * 100, "Export" + " export" * 27 + "…"),
    ],
)
def test_title_from_respects_limits(text: str, expected: str) -> None:
    title = title_from(text)
    assert 10 <= len(title) <= 200
    assert title == expected
