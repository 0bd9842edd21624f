"""The account picker and Undo, end to end."""

from __future__ import annotations

from typing import Any

from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NOACCOUNT_CHANNEL,
    SAM,
    Product,
    button_values,
)
from workflows import messages
from workflows.decisions import answer_account, answer_approval, undo
from workflows.engine import RunStatus


async def _picker(product: Product) -> tuple[str, list[dict[str, Any]]]:
    ts = product.sim.post_message(NOACCOUNT_CHANNEL, JO, f"From a call today: {LINK_TEXT}")
    handle = await product.react(NOACCOUNT_CHANNEL, ts, SAM)
    await product.wait_status(handle.run_id, RunStatus.WAITING)
    await product.sim.wait_for("chat.postMessage")
    [blocks] = product.dm_blocks(SAM)
    return handle.run_id, blocks


async def test_the_account_picker_sets_the_customer(product: Product) -> None:
    run_id, blocks = await _picker(product)
    [unknown] = button_values(blocks, messages.ACCOUNT_UNKNOWN)
    select = next(e for b in blocks for e in b.get("elements", []) if e["type"] == "static_select")
    assert [o["text"]["text"] for o in select["options"]] == ["Acme Corp", "Globex"]

    answer = await answer_account(
        product.engine,
        approval_id=unknown["approval"],
        slack_user=SAM,
        account_id=product.accounts["Globex"],
    )
    result = await product.engine.handle(run_id).result(timeout=30)
    await product.settle()

    assert answer.status == "decided"
    assert result["account_id"] == product.accounts["Globex"]
    [item] = await product.items()
    assert item["account_id"] == product.accounts["Globex"]
    assert item["request_id"] == product.backlog["pdf"]
    assert product.sim.dms(SAM)[0]["text"] == f"Customer: *Globex*, chosen by <@{SAM}>."


async def test_an_unanswered_picker_leaves_the_account_unknown(quick_product: Product) -> None:
    run_id, _ = await _picker(quick_product)

    result = await quick_product.engine.handle(run_id).result(timeout=30)
    await quick_product.settle()

    assert result["account_id"] is None
    [item] = await quick_product.items()
    assert item["account_id"] is None and item["status"] == "filed"
    assert quick_product.sim.dms(SAM)[0]["text"] == "Customer: *unknown* (no answer in time)."


async def test_an_account_named_in_the_text_needs_no_picker(product: Product) -> None:
    ts = product.sim.post_message(NOACCOUNT_CHANNEL, JO, f"Globex told me: {LINK_TEXT}")

    result = await (await product.react(NOACCOUNT_CHANNEL, ts, SAM)).result(timeout=30)

    assert result["account_id"] == product.accounts["Globex"]


async def test_undo_unlinks_records_it_and_asks_again(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()
    [confirmation] = product.dm_blocks(SAM)
    [value] = button_values(confirmation, messages.UNDO)

    denied = await undo(
        product.engine, product.deps.db, feedback_id=value["feedback"], turn=0, slack_user=JO
    )
    answer = await undo(
        product.engine, product.deps.db, feedback_id=value["feedback"], turn=0, slack_user=SAM
    )
    await undo(  # a double click starts nothing more
        product.engine, product.deps.db, feedback_id=value["feedback"], turn=0, slack_user=SAM
    )
    await product.wait_status(f"process:{value['feedback']}:1", RunStatus.WAITING)
    await product.sim.wait_for("chat.postMessage", count=2)

    assert denied.status == "forbidden" and answer.status == "decided"
    item = await product.item(value["feedback"])
    assert (item.status, item.request_id) == ("pending", None)
    assert [a["action"] for a in await product.audit()] == ["match", "link", "unlink"]
    first, question = product.sim.dms(SAM)
    assert first["text"] == "Unlinked from Export dashboards to PDF."
    offered = [v["request"] for v in button_values(question["blocks"], messages.APPROVAL_LINK)]
    assert product.backlog["pdf"] not in offered
    # the second answer files it for good
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    await answer_approval(product.engine, approval_id=new["approval"], slack_user=SAM, choice="new")
    result = await product.engine.handle(f"process:{value['feedback']}:1").result(timeout=30)
    assert result["outcome"] == "new"
    runs = await product.engine.list_runs(workflow="undo-link")
    assert len(runs) == 1
