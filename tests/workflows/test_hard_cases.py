"""Hard cases of intake, process-feedback and decisions, found by an adversarial review.

Each test pins down behaviour a user or an operator would notice when it broke; its
``# FINDING n`` comment says what went wrong before. They use the e2e harness (the
product on SQLite and PostgreSQL against the Slack simulator).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

import workflows.process_feedback as process_module
from agents import Embedder
from bot.simulator import SlackSimulator
from feedback.migrate import upgrade
from feedback.schema import request_embeddings
from feedback.settings import Settings
from tests import databases
from tests.workflows.harness import (
    ACME_CHANNEL,
    ASK_TEXT,
    DANA,
    JO,
    LINK_TEXT,
    NEW_TEXT,
    NOACCOUNT_CHANNEL,
    SAM,
    TEAM,
    Product,
    button_values,
    running_product,
    seed_domain,
    seed_slack,
)
from workflows import messages
from workflows.decisions import answer_account, answer_approval, undo
from workflows.deps import Deps, open_deps, use_deps
from workflows.engine import Engine, RunStatus
from workflows.matching import forget_text, index_text

# --- helpers ----------------------------------------------------------------------------


async def _linked(product: Product) -> str:
    """A confident link of Dana's PDF ask, filed by Sam; returns the item id."""
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()
    [confirmation] = product.dm_blocks(SAM)
    [value] = button_values(confirmation, messages.UNDO)
    return value["feedback"]


def _once_then(real: Any, error: BaseException) -> Any:
    """Wrap an async function so that its first call fails with ``error`` (then it works)."""
    calls = {"n": 0}

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return await real(*args, **kwargs)

    return flaky


# --- Slack Connect customers ------------------------------------------------------------


async def test_a_customer_in_a_shared_channel_is_not_shown_internal_figures(
    product: Product,
) -> None:
    # FINDING 1: a Slack Connect guest (the customer, team T0ACME) who reacts with the
    # feedback emoji (or mentions the bot) becomes the *submitter*: claim_message
    # creates them with is_external=True but files anyway, and the bot DMs the customer
    # the internal request title, how many customers asked and their ARR, plus Undo.
    # schema.py says an external user is "never a submitter". (intake.claim_message)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)

    await (await product.react(ACME_CHANNEL, ts, DANA)).result(timeout=30)
    await product.settle()

    leaked = [m["blocks"] for m in product.sim.dms(DANA)]
    assert leaked == [], f"the customer was DMed internal data: {leaked}"
    assert all(i["submitter_id"] != f"u-{DANA}" for i in await product.items())


# --- intake -----------------------------------------------------------------------------


async def test_after_inviting_the_bot_a_new_reaction_files_the_message(product: Product) -> None:
    # FINDING 5: a message the bot could not read stays claimed for ever. The DM says
    # "invite me with /invite @Feedback Bot, then add the reaction again", but the claim
    # (filed_messages) was committed before the read failed, so every later reaction,
    # shortcut or mention of that message only "follows" nothing, and the submitter's own
    # re-added reaction is the same run id. The feedback can never be filed from Slack.
    # (intake._file_message: claim_message before read_message, never released)
    product.sim.add_channel(
        "C0SECRET", "secret", is_private=True, bot_is_member=False, members=[SAM, JO, DANA]
    )
    ts = product.sim.post_message("C0SECRET", DANA, LINK_TEXT)
    first = await (await product.react("C0SECRET", ts, SAM)).result(timeout=30)
    assert first["status"] == "unreadable"
    assert "then add the reaction again" in product.dm_texts(SAM)[0]

    product.sim.workspace.channel("C0SECRET").members.add(product.sim.bot_user_id)  # invited
    again = await (await product.react("C0SECRET", ts, JO)).result(timeout=30)
    await product.settle()

    assert again["status"] == "filed", again
    assert len(await product.items()) == 1


async def test_a_reaction_on_a_reply_of_a_filed_thread_files_nothing_twice(
    product: Product,
) -> None:
    # FINDING 6: a reaction reads the *whole* thread (thread_of), and the claim is per
    # message ts. Dana's thread is filed from its parent (two asks); a colleague then
    # reacts to Dana's reply in the same thread: the reply is a new claim, the whole
    # thread is extracted again and both asks are filed a second time (double demand,
    # duplicate DMs, a second new request for the CSV ask).
    # (intake.read_message / items.claim_message keyed by the reacted ts only)
    parent = product.sim.post_message(ACME_CHANNEL, DANA, LINK_TEXT)
    reply = product.sim.post_message(
        ACME_CHANNEL, DANA, f"Also, unrelated: {NEW_TEXT.lower()}", thread_ts=parent
    )
    await (await product.react(ACME_CHANNEL, parent, SAM)).result(timeout=30)
    await product.settle()
    filed_once = await product.items()

    await (await product.react(ACME_CHANNEL, reply, JO)).result(timeout=30)
    await product.settle()

    quotes = [i["quote"] for i in await product.items()]
    assert len(quotes) == len(filed_once), quotes


async def test_an_extraction_that_differs_on_a_retry_strands_no_item(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FINDING 2: extract_items saves the items (ids from the message and the ask's
    # *position*) and returns them; when the step runs again after its commit (the
    # worker died before the checkpoint, or anything failed after the commit), the
    # extraction runs again. An LLM answer is not deterministic (and an LLM outage on
    # the re-run means the offline extractor, which splits differently): here the
    # re-run finds one ask instead of two. Position 0 already holds the PDF ask, so the
    # insert is ignored; the step returns only item 0, and the CSV ask (item 1) stays
    # in status "processing" for ever, never matched, never filed.
    # (intake.extract_items: re-extracts instead of returning what it saved)
    import workflows.intake as intake_module
    from agents import ExtractedItem, Extraction

    pdf = ExtractedItem(
        summary="Export dashboards to PDF", pain=LINK_TEXT, quote=LINK_TEXT, severity="medium"
    )
    csv = ExtractedItem(
        summary="CSV import drops rows", pain=NEW_TEXT, quote=NEW_TEXT, severity="medium"
    )
    answers = [
        Extraction(items=(pdf, csv), customer_specific=True, source="llm"),
        Extraction(items=(csv,), customer_specific=True, source="fallback"),  # the re-run
    ]
    state = {"fail_after_commit": False}

    async def extract(*args: Any, **kwargs: Any) -> Extraction:
        state["fail_after_commit"] = len(answers) == 2
        return answers.pop(0)

    real_transaction = product.deps.db.transaction

    @asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        async with real_transaction() as conn:
            yield conn
        if state["fail_after_commit"]:  # committed, then the worker lost the step
            state["fail_after_commit"] = False
            raise ConnectionResetError("connection lost after the commit")

    monkeypatch.setattr(intake_module, "extract_feedback", extract)
    monkeypatch.setattr(product.deps.db, "transaction", transaction)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, f"{LINK_TEXT} Also: {NEW_TEXT}")

    await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    await product.settle()

    stranded = [
        (i["quote"], i["status"]) for i in await product.items() if i["status"] == "processing"
    ]
    assert stranded == []


async def test_a_submitter_slack_does_not_know_does_not_strand_the_feedback(
    product: Product,
) -> None:
    # FINDING 4: the e2e list has "a user unknown to the simulator"; the test
    # only covers the link tier. For an unsure match, ask_person DMs the submitter,
    # conversations.open answers user_not_found (a SlackFatal), and process-feedback
    # FAILS: the item stays "pending" for ever with an approval no one can see, no
    # reminder, no timeout, never filed. On the link tier the run fails as well (after
    # linking) when the confirmation cannot be sent. (process_feedback.ask_person /
    # _confirm_link -> notify.post_once -> Slack.dm_channel raising SlackFatal)
    ts = product.sim.post_message(ACME_CHANNEL, DANA, ASK_TEXT)

    result = await (await product.react(ACME_CHANNEL, ts, "U0GHOST")).result(timeout=30)
    [item_id] = result["items"]
    await product.wait_status(
        f"process:{item_id}:0", RunStatus.WAITING, RunStatus.COMPLETED, RunStatus.FAILED
    )
    await product.settle()

    run = await product.engine.get_run(f"process:{item_id}:0")
    assert run.status != RunStatus.FAILED, run.error
    item = await product.item(item_id)
    asked = [m for m in product.sim.journal if m.method == "chat.postMessage" and m.ok]
    assert item.status == "filed" or asked, (item.status, "and no question was posted anywhere")


# --- Undo -------------------------------------------------------------------------------


async def test_an_undo_whose_step_is_retried_still_unlinks_and_asks_again(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FINDING 3: unlink_item is not idempotent. Its transaction commits the unlink,
    # then forget_text runs; if anything after the commit fails (a database blip while
    # dropping the embedding, or the worker dies before the checkpoint) the step runs
    # again, items.unlink now returns None, the step returns "not-linked" and undo-link
    # ends: the item is left in status "processing", filed nowhere, and never asked
    # about, although the user was told "Undone: I'll ask again".
    # (process_feedback.unlink_item)
    item_id = await _linked(product)
    monkeypatch.setattr(
        process_module,
        "forget_text",
        _once_then(forget_text, ConnectionResetError("database restarting")),
    )

    answer = await undo(
        product.engine, product.deps.db, feedback_id=item_id, turn=0, slack_user=SAM
    )
    result = await product.engine.handle(f"undo:{item_id}:0").result(timeout=30)
    await product.settle()

    assert answer.text == "Undoing: I'll ask again which request it is."
    item = await product.item(item_id)
    assert result["status"] == "unlinked", (result, item.status, item.request_id)
    assert item.status == "pending"


async def test_undo_with_no_other_candidate_still_asks_a_person(product: Product) -> None:
    # FINDING 10: the issue says Undo "puts the feedback back through the ask path", and
    # process_feedback's docstring says turn > 0 "always asks a person". But match_item
    # turns the tier into "new" when no candidate is left after excluding the undone
    # request, so the bot drafts a new request on its own right after the person said
    # "wrong request", without asking. (process_feedback.match_item: `if not ranked:
    # tier = "new"` runs after the turn > 0 override)
    for key in ("okta", "alerts"):  # a backlog with only the PDF request
        async with product.deps.db.transaction() as conn:
            await conn.execute(
                delete(request_embeddings).where(
                    request_embeddings.c.request_id == product.backlog[key]
                )
            )
        product.deps.matcher.index.remove(product.backlog[key])
    item_id = await _linked(product)

    await undo(product.engine, product.deps.db, feedback_id=item_id, turn=0, slack_user=SAM)
    run_id = f"process:{item_id}:1"
    await product.wait_status(run_id, RunStatus.WAITING, RunStatus.COMPLETED, RunStatus.FAILED)
    await product.settle()

    run = await product.engine.get_run(run_id)
    item = await product.item(item_id)
    assert run.status == RunStatus.WAITING, (run.status, run.result)
    assert item.status == "pending" and item.request_id is None


async def test_undo_stops_the_submitter_following_the_wrong_request(product: Product) -> None:
    # FINDING 11: a confident link makes the submitter follow the request; Undo unlinks
    # the feedback but leaves them following it, so they keep getting that request's
    # updates (status changes, "shipped") for a request they just said was wrong.
    # (process_feedback.unlink_item / items.unlink: no unfollow)
    item_id = await _linked(product)
    assert f"u-{SAM}" in await product.followers(product.backlog["pdf"])

    await undo(product.engine, product.deps.db, feedback_id=item_id, turn=0, slack_user=SAM)
    await product.engine.handle(f"undo:{item_id}:0").result(timeout=30)
    await product.settle()

    assert (await product.item(item_id)).request_id is None
    assert f"u-{SAM}" not in await product.followers(product.backlog["pdf"])


# --- new requests -----------------------------------------------------------------------


async def test_a_retried_create_request_records_one_creation(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FINDING 13: create_request commits the request, its "create" audit entry and the
    # link, then embeds; a failure after the commit (embedding error, database blip,
    # a worker killed before the checkpoint) re-runs the step, requests.create returns
    # the existing request but audit.record("create") runs again: the audit log says
    # the request was created twice. (process_feedback.create_request)
    monkeypatch.setattr(
        process_module,
        "index_text",
        _once_then(index_text, ConnectionResetError("database restarting")),
    )
    ts = product.sim.post_message(ACME_CHANNEL, DANA, NEW_TEXT)

    result = await (await product.react(ACME_CHANNEL, ts, SAM)).result(timeout=30)
    [item_id] = result["items"]
    await product.engine.handle(f"process:{item_id}:0").result(timeout=30)

    created = [a for a in await product.audit() if a["action"] == "create"]
    assert len(created) == 1, created


# --- the account picker -----------------------------------------------------------------


async def _picker(product: Product) -> tuple[str, dict[str, str]]:
    ts = product.sim.post_message(NOACCOUNT_CHANNEL, JO, f"From a call today: {LINK_TEXT}")
    handle = await product.react(NOACCOUNT_CHANNEL, ts, SAM)
    await product.wait_status(handle.run_id, RunStatus.WAITING)
    await product.sim.wait_for("chat.postMessage")
    [blocks] = product.dm_blocks(SAM)
    [unknown] = button_values(blocks, messages.ACCOUNT_UNKNOWN)
    return handle.run_id, unknown


async def test_a_late_account_answer_is_told_the_truth(quick_product: Product) -> None:
    # FINDING 14: clicking the account picker after it timed out answers "Too late: this
    # one was already filed as a new request." Nothing was filed as a new request (the
    # picker only sets the customer; the item was linked to the PDF request with the
    # account unknown). decisions._outcome uses the match question's wording for every
    # kind. (decisions.py:_outcome, used by answer_account)
    product = quick_product
    run_id, unknown = await _picker(product)
    result = await product.engine.handle(run_id).result(timeout=30)
    assert result["account_id"] is None

    late = await answer_account(
        product.engine,
        approval_id=unknown["approval"],
        slack_user=SAM,
        account_id=product.accounts["Globex"],
    )

    assert late.status == "already"
    assert "new request" not in late.text, late.text


async def test_choosing_unknown_in_the_picker_is_not_reported_as_no_answer(
    product: Product,
) -> None:
    # FINDING 15: when the submitter clicks "Unknown", the picker is replaced by
    # "Customer: *unknown* (no answer) by @Sam": it claims there was no answer while
    # naming who answered. messages.account_chosen cannot tell "answered unknown" from
    # "timed out". (intake.settle_account -> messages.account_chosen)
    run_id, unknown = await _picker(product)

    await answer_account(
        product.engine,
        approval_id=unknown["approval"],
        slack_user=SAM,
        account_id=None,
    )
    await product.engine.handle(run_id).result(timeout=30)

    text = product.sim.dms(SAM)[0]["text"]
    assert "no answer" not in text, text


# --- the approval wait: a worker that was down, settings that changed -------------------


@dataclass
class Stoppable:
    """The product with a worker that the test starts and stops (a deploy, an outage)."""

    engine: Engine
    deps: Deps
    sim: SlackSimulator

    @asynccontextmanager
    async def worker(self, settings: Settings | None = None) -> AsyncIterator[None]:
        deps = self.deps if settings is None else dataclasses.replace(self.deps, settings=settings)
        with use_deps(deps):
            async with self.engine.worker(concurrency=8):
                yield


def _settings(db_url: str, sim: SlackSimulator, *, reminder: float, timeout: float) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        slack_api_url=sim.api_url,
        slack_bot_token=sim.token,  # type: ignore[arg-type]
        approval_reminder=timedelta(seconds=reminder),
        approval_timeout=timedelta(seconds=timeout),
    )


@asynccontextmanager
async def stoppable_product(
    db_url: str, embedder: Embedder, *, reminder: float, timeout: float
) -> AsyncIterator[Stoppable]:
    await upgrade(db_url)
    async with SlackSimulator(team_id=TEAM) as sim:
        seed_slack(sim)
        settings = _settings(db_url, sim, reminder=reminder, timeout=timeout)
        async with open_deps(settings, embedder=embedder) as deps:
            await seed_domain(deps)
            async with Engine(db_url, idle_window=0.2, poll_interval=0.2) as engine:
                yield Stoppable(engine, deps, sim)


async def _ask_with(stage: Stoppable) -> tuple[str, dict[str, str]]:
    """File the unsure ask; returns the process run id and the New request button."""
    from workflows.intake import Reaction, ingest_reaction, reaction_run_id

    ts = stage.sim.post_message(ACME_CHANNEL, DANA, ASK_TEXT)
    reaction = Reaction(ACME_CHANNEL, ts, SAM)
    handle = await stage.engine.start(ingest_reaction, reaction, run_id=reaction_run_id(reaction))
    [item_id] = (await handle.result(timeout=30))["items"]
    run_id = f"process:{item_id}:0"
    async with asyncio.timeout(30):
        while (await stage.engine.get_run(run_id)).status != RunStatus.WAITING:
            await asyncio.sleep(0.05)
    await stage.sim.wait_for("chat.postMessage")
    # the question (a reminder in its thread may already have come under load)
    [question] = [m for m in stage.sim.dms(SAM) if m.get("thread_ts") in (None, m["ts"])]
    [new] = button_values(question["blocks"], messages.APPROVAL_NEW)
    return run_id, new


async def test_a_click_while_the_worker_was_down_at_the_reminder_is_acted_on(
    db_url: str, local_embedder: Embedder
) -> None:
    # FINDING 8: a click that lands after the reminder deadline but before a worker
    # has processed that timeout (a deploy, a crashed or busy worker) is decided in
    # the database and the clicker is told "Thanks, done", but resume_hook refuses it
    # (the wait's deadline has passed) and _wait_for_answer never reads the decision
    # before its second wait: the run waits until APPROVAL_TIMEOUT (6 more days by
    # default) before filing it. The question keeps its buttons meanwhile.
    # (process_feedback._wait_for_answer; decisions._wake swallows HookNotFound)
    async with stoppable_product(db_url, local_embedder, reminder=1.0, timeout=120.0) as stage:
        async with stage.worker():
            run_id, new = await _ask_with(stage)
        await asyncio.sleep(1.5)  # the worker is down when the reminder falls due

        answer = await answer_approval(
            stage.engine, approval_id=new["approval"], slack_user=SAM, choice="new"
        )
        assert (answer.status, answer.text) == ("decided", "Thanks, done.")
        async with stage.worker():  # back up
            try:
                result = await stage.engine.handle(run_id).result(timeout=15)
            except TimeoutError:
                status = (await stage.engine.get_run(run_id)).status
                pytest.fail(f"the decided question was not acted on within 15 s: run {status}")
        assert result["outcome"] == "new"


async def test_changing_approval_timeout_keeps_waiting_questions_working(
    db_url: str, local_embedder: Embedder
) -> None:
    # FINDING 7: remind() takes days_left computed from the settings as a step
    # argument. The engine checks step arguments on replay, so an operator who changes
    # APPROVAL_TIMEOUT (or APPROVAL_REMINDER) and restarts makes every question that
    # was already reminded fail with NonDeterminismError at its next replay (the click
    # or the deadline): the feedback is never filed. (process_feedback._wait_for_answer
    # -> remind(approval_id, (timeout - remind_after) / 86400))
    async with stoppable_product(db_url, local_embedder, reminder=0.5, timeout=60.0) as stage:
        async with stage.worker():
            run_id, new = await _ask_with(stage)
            await stage.sim.wait_for(
                "chat.postMessage", where=lambda c: c.args.get("thread_ts") is not None
            )  # reminded
            await asyncio.sleep(0.5)  # and waiting again
        changed = _settings(db_url, stage.sim, reminder=0.5, timeout=30.0)  # the new config

        async with stage.worker(changed):
            await answer_approval(
                stage.engine,
                approval_id=new["approval"],
                slack_user=SAM,
                choice="new",
            )
            async with asyncio.timeout(30):
                while not (await stage.engine.get_run(run_id)).status.finished:
                    await asyncio.sleep(0.1)
            run = await stage.engine.get_run(run_id)
        assert run.status == RunStatus.COMPLETED, run.error


# --- database restarts ------------------------------------------------------------------


async def _drop_connections(url: str) -> None:
    """What a PostgreSQL restart or failover does to the pooled connections of one database."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            parsed.database,
        )
    finally:
        await conn.close()


@pytest.fixture
async def pg_product(postgres_database: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    """The product on PostgreSQL only: a server restart drops pooled connections."""
    await databases.truncate_all(postgres_database)
    async with running_product(postgres_database, local_embedder) as running:
        yield running


async def test_a_click_after_a_database_restart_is_answered(pg_product: Product) -> None:
    # FINDING 9 (PostgreSQL): the domain pool has no pre-ping, so after a PostgreSQL
    # restart or failover the first click handler to use a pooled connection raises
    # (asyncpg ConnectionDoesNotExistError / InterfaceError) instead of answering: the
    # Slack button shows an error although the database is back. (feedback/database.py:
    # create_async_engine without pool_pre_ping=True; decisions.* have no retry)
    product = pg_product
    _, _, blocks = await product.unsure_question()
    [new] = button_values(blocks, messages.APPROVAL_NEW)
    await _drop_connections(product.deps.db.url)

    try:
        answer = await answer_approval(
            product.engine,
            approval_id=new["approval"],
            slack_user=SAM,
            choice="new",
        )
    except Exception as exc:  # what the Slack listener would see
        pytest.fail(f"the click failed after the database came back: {type(exc).__name__}: {exc}")
    assert answer.status == "decided"
