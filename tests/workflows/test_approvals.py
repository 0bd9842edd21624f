"""The ask tier end to end: the question, each button, the reminder and the timeout."""

from __future__ import annotations

import pytest

from tests.workflows.harness import JO, SAM, Product, button_values
from workflows import messages
from workflows.decisions import answer_approval
from workflows.engine import RunStatus


async def test_the_question_offers_candidates_new_and_not_feedback(product: Product) -> None:
    item_id, _, blocks = await product.unsure_question()

    offered = button_values(blocks, messages.APPROVAL_LINK)
    assert offered[0]["request"] == product.backlog["okta"]
    assert 1 <= len(offered) <= 3
    assert len(button_values(blocks, messages.APPROVAL_NEW)) == 1
    assert len(button_values(blocks, messages.APPROVAL_NOT_FEEDBACK)) == 1
    text = " ".join(b.get("text", {}).get("text", "") for b in blocks)
    assert "SSO with Okta" in text and "> We need single sign-on with Okta" in text
    assert (await product.item(item_id)).status == "pending"


async def test_choosing_a_candidate_links_it_and_updates_the_question(product: Product) -> None:
    item_id, run_id, blocks = await product.unsure_question()
    [first, *_] = button_values(blocks, messages.APPROVAL_LINK)

    answer = await answer_approval(
        product.engine,
        approval_id=first["approval"],
        slack_user=SAM,
        choice="link",
        request_id=first["request"],
    )
    result = await product.engine.handle(run_id).result(timeout=30)

    assert answer.status == "decided"
    assert result["outcome"] == "linked" and result["request_id"] == product.backlog["okta"]
    item = await product.item(item_id)
    assert (item.status, item.request_id) == ("filed", product.backlog["okta"])
    [question] = product.sim.dms(SAM)
    assert question["text"] == f"Linked to *SSO with Okta* by <@{SAM}>."
    assert button_values(question["blocks"], messages.APPROVAL_LINK) == []
    audit = await product.audit()
    assert audit[-1]["action"] == "link" and audit[-1]["actor"] == f"u-{SAM}"


async def test_a_second_click_learns_who_decided(product: Product) -> None:
    _, run_id, blocks = await product.unsure_question()
    [first, *_] = button_values(blocks, messages.APPROVAL_LINK)
    [new] = button_values(blocks, messages.APPROVAL_NEW)
    await answer_approval(product.engine, approval_id=new["approval"], slack_user=SAM, choice="new")

    again = await answer_approval(
        product.engine,
        approval_id=first["approval"],
        slack_user=SAM,
        choice="link",
        request_id=first["request"],
    )
    result = await product.engine.handle(run_id).result(timeout=30)

    assert (again.status, again.text) == ("already", f"Already decided by <@{SAM}>.")
    assert result["outcome"] == "new"


async def test_only_the_submitter_or_the_product_team_may_answer(product: Product) -> None:
    _, run_id, blocks = await product.unsure_question()
    [new] = button_values(blocks, messages.APPROVAL_NEW)

    denied = await answer_approval(
        product.engine, approval_id=new["approval"], slack_user=JO, choice="new"
    )

    assert denied.status == "forbidden"
    assert (await product.engine.get_run(run_id)).status == RunStatus.WAITING


async def test_a_forged_candidate_is_refused(product: Product) -> None:
    _, _, blocks = await product.unsure_question()
    [new] = button_values(blocks, messages.APPROVAL_NEW)

    forged = await answer_approval(
        product.engine,
        approval_id=new["approval"],
        slack_user=SAM,
        choice="link",
        request_id=product.backlog["alerts"] + "-not-offered",
    )

    assert forged.status == "invalid"


async def test_new_request_drafts_one_and_files_the_feedback_there(product: Product) -> None:
    item_id, run_id, blocks = await product.unsure_question()
    [new] = button_values(blocks, messages.APPROVAL_NEW)

    await answer_approval(product.engine, approval_id=new["approval"], slack_user=SAM, choice="new")
    result = await product.engine.handle(run_id).result(timeout=30)
    await product.settle()

    request = await product.request(result["request_id"])
    item = await product.item(item_id)
    assert item.request_id == request.id and item.status == "filed"
    assert request.creator_id == f"u-{SAM}" and request.possible_duplicate_of is None
    assert SAM in [f.removeprefix("u-") for f in await product.followers(request.id)]
    new_run = await product.engine.get_run(f"new-request:{request.id}")
    assert new_run.status == RunStatus.WAITING  # sleeping until the creator's reminder
    assert product.sim.dms(SAM)[0]["text"].startswith("Filed as a new request: *")


async def test_not_feedback_discards_it_with_an_audit_record(product: Product) -> None:
    item_id, run_id, blocks = await product.unsure_question()
    [nope] = button_values(blocks, messages.APPROVAL_NOT_FEEDBACK)

    await answer_approval(
        product.engine,
        approval_id=nope["approval"],
        slack_user=SAM,
        choice="not_feedback",
    )
    result = await product.engine.handle(run_id).result(timeout=30)

    assert result["outcome"] == "discarded"
    item = await product.item(item_id)
    assert (item.status, item.request_id) == ("discarded", None)
    assert (await product.audit())[-1]["action"] == "discard"
    assert "Marked as not feedback" in product.sim.dms(SAM)[0]["text"]


@pytest.mark.usefixtures("quick_product")
async def test_no_answer_reminds_once_then_files_a_possible_duplicate(
    quick_product: Product,
) -> None:
    product = quick_product
    item_id, run_id, _ = await product.unsure_question()

    result = await product.engine.handle(run_id).result(timeout=30)

    assert result["outcome"] == "new"
    request = await product.request(result["request_id"])
    assert request.possible_duplicate_of == product.backlog["okta"]
    reminders = [
        c for c in product.sim.calls("chat.postMessage") if c.args.get("thread_ts") is not None
    ]
    assert len(reminders) == 1
    question, told = [m for m in product.sim.dms(SAM) if m.get("thread_ts") in (None, m["ts"])]
    assert question["text"].startswith("No answer in time: filed as a new request")
    assert "possible duplicate of *SSO with Okta*" in told["text"]
    assert (await product.item(item_id)).request_id == request.id


async def test_different_specifics_are_asked_with_the_reason(product: Product) -> None:
    from feedback import requests as requests_db
    from feedback import thresholds as thresholds_db
    from tests.workflows.harness import ACME_CHANNEL, DANA
    from workflows.matching import REQUEST_TEXT, index_text

    async with product.deps.db.transaction() as conn:
        await requests_db.create(
            conn,
            request_id="req-netty",
            title="We need you to upgrade Netty to 4.1.89 please",
            description="",
            creator_id=None,
        )
    title = "We need you to upgrade Netty to 4.1.89 please"
    await index_text(product.deps, "req-netty", REQUEST_TEXT, title)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, title.replace("4.1.89", "4.1.77"))
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    [item] = await product.items()
    run_id = f"process:{item['id']}:0"
    await product.wait_status(run_id, RunStatus.WAITING)
    await product.sim.wait_for("chat.postMessage")
    [blocks] = product.dm_blocks(SAM)

    [first, *_] = button_values(blocks, messages.APPROVAL_LINK)
    assert first["request"] == "req-netty"
    context = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert (
        "Not linked automatically: They name different specifics: `4.1.77` vs `4.1.89`." in context
    )

    await answer_approval(
        product.engine, approval_id=first["approval"], slack_user=SAM, choice="new"
    )
    await product.engine.handle(run_id).result(timeout=30)
    async with product.deps.db.read() as conn:
        [example] = await thresholds_db.examples(conn)
    assert (example.kind, example.guarded, example.top_correct, example.matchable) == (
        "ask",
        True,
        False,
        False,
    )
    assert example.best >= product.deps.matcher.thresholds.link  # the score alone would link


async def test_a_long_technical_paste_is_still_asked_with_a_short_reason(product: Product) -> None:
    from feedback import requests as requests_db
    from tests.workflows.harness import ACME_CHANNEL, DANA
    from workflows.matching import REQUEST_TEXT, index_text

    def log(line: int, factor: int, size: int) -> str:
        return " ".join(
            f"ERROR job-{i} failed at com.acme.etl.Step{i}.run(Step{i}.java:{line + i}) "
            f"req_{i * factor}"
            for i in range(60)
        )[:size]

    async with product.deps.db.transaction() as conn:
        await requests_db.create(
            conn,
            request_id="req-etl",
            title="Nightly ETL job crashes",
            description="",
            creator_id=None,
        )
    await index_text(product.deps, "req-etl", REQUEST_TEXT, "Nightly ETL job crashes")
    await index_text(product.deps, "req-etl", "fb-old", log(200, 9, 3000))  # filed earlier
    ts = product.sim.post_message(ACME_CHANNEL, DANA, log(100, 7, 1000))
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    [item] = await product.items()
    run_id = f"process:{item['id']}:0"
    await product.wait_status(run_id, RunStatus.WAITING, RunStatus.FAILED, timeout=90)

    assert (await product.engine.get_run(run_id)).status == RunStatus.WAITING
    [blocks] = product.dm_blocks(SAM)
    [context] = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert context.startswith("Not linked automatically: They name different specifics: `")
    assert " more vs " in context and len(context) < 500
