"""Intake end to end, on both databases, against the Slack simulator."""

from __future__ import annotations

from tests.workflows.harness import (
    ACME_CHANNEL,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    SAM,
    Product,
    button_values,
)
from workflows import messages
from workflows.intake import Submission


async def test_a_reaction_to_a_confident_match_links_it_and_confirms(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    handle = await product.react(ACME_CHANNEL, ts, SAM)
    result = await handle.result(timeout=30)
    await product.settle()

    assert result["status"] == "filed"
    [item] = await product.items()
    assert item["request_id"] == product.backlog["pdf"]
    assert item["status"] == "filed"
    assert item["account_id"] == product.accounts["Acme Corp"]
    assert item["quote"].startswith("We really need to export dashboards to PDF")
    # the bot marks the message as being filed
    assert SAM not in product.sim.reactions(ACME_CHANNEL, ts).get("eyes", [])
    assert product.sim.reactions(ACME_CHANNEL, ts)["eyes"] == [product.sim.bot_user_id]
    # the submitter follows the request and gets one confirmation with Open and Undo
    followers = await product.followers(product.backlog["pdf"])
    assert len(followers) == 1
    [dm] = product.dm_texts(SAM)
    assert dm == "Filed under Export dashboards to PDF."
    [blocks] = product.dm_blocks(SAM)
    assert "(Acme Corp, " in blocks[0]["text"]["text"]
    assert "1 customer asked, $1.2M ARR" in blocks[0]["text"]["text"]
    assert button_values(blocks, messages.UNDO) == [{"feedback": item["id"], "turn": "0"}]
    audit = await product.audit()
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("match", "system:process-feedback"),  # the decision's evidence
        ("link", "system:process-feedback"),
    ]


async def test_a_second_reactor_follows_and_files_nothing_new(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()

    second = await (await product.react(ACME_CHANNEL, ts, JO)).result(timeout=30)
    again = await (await product.react(ACME_CHANNEL, ts, JO)).result(timeout=30)  # redelivery
    await product.settle()

    assert second == {"status": "follower", "requests": [product.backlog["pdf"]]}
    assert again == second
    assert len(await product.items()) == 1
    assert len(await product.followers(product.backlog["pdf"])) == 2
    assert product.dm_texts(JO) == []
    assert len(product.sim.calls("reactions.add")) == 1


async def test_a_message_with_two_asks_files_two_items_each_matched(product: Product) -> None:
    ts = product.sim.post_message(
        ACME_CHANNEL, DANA, f"Hey team, quick one: {LINK_TEXT[0].lower()}{LINK_TEXT[1:]}"
    )
    product.sim.post_message(ACME_CHANNEL, SAM, "Thanks, logging this", thread_ts=ts)
    product.sim.post_message(
        ACME_CHANNEL, DANA, f"Also, unrelated: {NEW_TEXT.lower()}", thread_ts=ts
    )

    result = await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()

    assert len(result["items"]) == 2
    pdf, csv = await product.items()
    assert (pdf["position"], csv["position"]) == (0, 1)
    assert pdf["request_id"] == product.backlog["pdf"] and pdf["match_tier"] == "link"
    assert not pdf["quote"].startswith("Hey team")
    assert "emoji" in csv["quote"] and "logging" not in csv["quote"]
    assert csv["match_tier"] == "new" and csv["request_id"] not in product.backlog.values()
    assert {pdf["account_id"], csv["account_id"]} == {product.accounts["Acme Corp"]}
    texts = product.dm_texts(SAM)
    assert len(texts) == 2
    assert "Filed under Export dashboards to PDF." in texts


async def test_a_reaction_on_a_thread_reply_reads_the_reply_and_its_parent(
    product: Product,
) -> None:
    parent = product.sim.post_message(ACME_CHANNEL, JO, "Notes from the Acme QBR below")
    reply = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT, thread_ts=parent)

    await (await product.react(ACME_CHANNEL, reply, SAM)).result(timeout=30)
    await product.settle()

    [item] = await product.items()
    assert item["message_ts"] == reply and item["request_id"] == product.backlog["pdf"]
    assert product.sim.reactions(ACME_CHANNEL, reply)["eyes"] == [product.sim.bot_user_id]
    assert "thread_ts" in item["permalink"]


async def test_a_user_unknown_to_slack_still_files(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    await (await product.react(ACME_CHANNEL, ts, "U0GHOST")).result(timeout=30)
    await product.settle()

    [item] = await product.items()
    assert item["submitter_id"] == "u-U0GHOST" and item["status"] == "filed"
    assert any(c.error == "user_not_found" for c in product.sim.calls("users.info"))


async def test_slack_429_and_500_on_the_way_are_retried(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    product.sim.fail("conversations.replies", status=429, retry_after=1)
    product.sim.fail("reactions.add", status=500)
    product.sim.fail("chat.postMessage", status=500, times=3)  # past the client's own retries

    result = await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    [item_id] = result["items"]
    await product.engine.handle(f"process:{item_id}:0").result(timeout=60)

    [item] = await product.items()
    assert item["request_id"] == product.backlog["pdf"]
    assert len(product.dm_texts(SAM)) == 1  # one DM, however many tries
    statuses = [c.status for c in product.sim.journal]
    assert 429 in statuses and 500 in statuses


async def test_a_channel_the_bot_cannot_read_is_explained(product: Product) -> None:
    product.sim.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)

    result = await (await product.react("C0SECRET", "1733000000.000100", SAM)).result(timeout=30)

    assert result["status"] == "unreadable"
    assert await product.items() == []
    [text] = product.dm_texts(SAM)
    assert "invite me with `/invite @Feedback Bot`" in text


async def test_chatter_only_files_nothing_and_says_so(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, "Thanks so much, have a great weekend!")

    result = await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)

    assert result["status"] == "nothing-to-file"
    assert await product.items() == []
    assert "found no customer ask" in product.dm_texts(SAM)[0]


async def test_a_slash_command_files_the_typed_feedback(product: Product) -> None:
    submission = Submission(
        source="command", user=SAM, key="trigger-1", channel=ACME_CHANNEL, text=LINK_TEXT
    )

    result = await (await product.submit(submission)).result(timeout=30)
    await product.settle()

    assert result["status"] == "filed"
    [item] = await product.items()
    assert item["source"] == "command" and item["request_id"] == product.backlog["pdf"]
    assert item["account_id"] == product.accounts["Acme Corp"]


async def test_a_message_shortcut_files_the_message_it_was_used_on(product: Product) -> None:
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    submission = Submission(
        source="shortcut", user=SAM, key="trigger-2", channel=ACME_CHANNEL, ts=ts
    )

    result = await (await product.submit(submission)).result(timeout=30)
    await product.settle()

    assert result["status"] == "filed"
    [item] = await product.items()
    assert item["source"] == "shortcut" and item["message_ts"] == ts
    # a reaction on the same message afterwards only follows
    again = await (await product.react(ACME_CHANNEL, ts, JO)).result(timeout=30)
    assert again["status"] == "follower"
