"""``process-feedback`` and ``undo-link``: match one feedback item and file it.

- **link** (a confident match): file it under the request, the submitter (and anyone
  else who asked to file the message) follows it, and a DM confirms with *Undo*.
- **ask** (unsure): a DM shows up to three candidates as buttons, plus *New
  request* and *Not feedback*, and the run waits for the click (unloaded meanwhile).
  When the score alone would have linked, the DM says why it asks instead (the
  feedback and the request name different specifics, or two requests are equally
  close).
  One reminder after ``APPROVAL_REMINDER``; at ``APPROVAL_TIMEOUT`` it is filed as a
  new request marked as a possible duplicate of the best candidate.
- **new** (nothing like it): a request is drafted and ``new-request`` started.

Each decision leaves its evidence in the audit log (``match``), so people's answers and
Undos become labelled examples for ``feedback-bot calibrate --from-decisions``
(:mod:`feedback.thresholds`). The thresholds in force are re-read from the database
before matching (:func:`workflows.matching.sync_thresholds`).

The click handlers decide in the database first (:mod:`workflows.decisions`); the
hook only wakes the run, which reads the decision back. So a click the hook missed
(a crash between the two) is still found at the deadline, and a click and the
timeout cannot both win.
"""

from __future__ import annotations

from typing import Any

from agents import MatchDecision, ProductArea, draft_request
from feedback import approvals, areas, audit, items, users
from feedback import requests as requests_db
from feedback import thresholds as thresholds_db
from feedback._util import utcnow
from feedback.audit import record, system
from feedback.errors import NotFound
from workflows import messages
from workflows.batch_messages import link_line
from workflows.batches import tell
from workflows.deps import Deps, current
from workflows.engine import Hook, HookTimeout, create_hook, start_child, step, uuid, workflow
from workflows.matching import (
    REQUEST_TEXT,
    forget_text,
    index_text,
    matching_text,
    sync_index,
    sync_thresholds,
)
from workflows.messages import CandidateView
from workflows.notify import dm_once, post_once, update_posted
from workflows.requests import new_request

__all__ = ["process_feedback", "undo_link"]

ACTOR = system("process-feedback")
MAX_CANDIDATES = 3


@workflow("process-feedback")
async def process_feedback(
    item_id: str, turn: int = 0, exclude: list[str] | None = None
) -> dict[str, Any]:
    """Match a feedback item and link it, ask about it, or draft a new request.

    Args:
        item_id: The feedback item.
        turn: 0 the first time; n after the n-th Undo (always asks a person then).
        exclude: Requests not to offer again (the one just undone).
    """
    match = await match_item(item_id, turn, exclude or [])
    if match["tier"] == "link":
        best = match["candidates"][0]
        await link_item(
            item_id,
            best["request_id"],
            ACTOR,
            match["reason"],
            turn,
            "link",
            match["score"],
            match.get("evidence"),
        )
        return {"outcome": "linked", "request_id": best["request_id"]}
    if match["tier"] == "ask":
        return await _ask(item_id, turn, match)
    request_id = uuid().hex
    created = await create_request(item_id, request_id, ACTOR, None, "new", match["score"])
    await start_child(new_request, request_id, run_id=f"new-request:{request_id}")
    await send_new_request(item_id, turn, created)
    return {"outcome": "new", "request_id": request_id}


async def _ask(item_id: str, turn: int, match: dict[str, Any]) -> dict[str, Any]:
    hook = await create_hook()
    asked = await ask_person(
        item_id,
        turn,
        hook.token,
        match["candidates"],
        match["score"],
        match.get("evidence"),
        match.get("why_asked", ""),
    )
    approval_id = asked["id"]
    if asked["asked"]:
        answer = await _wait_for_answer(approval_id, hook)
    else:  # the submitter cannot be reached: what the deadline would do, now
        answer = await read_answer(approval_id, True)
    decision = answer["decision"] or {}
    choice = decision.get("choice") if answer["status"] == "decided" else "expired"
    by = answer["decided_by"]
    if choice == "link":
        request_id = str(decision["request_id"])
        await link_item(item_id, request_id, by, "chosen by a person", None, None, None)
        await close_approval(approval_id, "link", request_id)
        return {"outcome": "linked", "request_id": request_id, "by": by}
    if choice == "not_feedback":
        await discard_item(item_id, by)
        await close_approval(approval_id, "not_feedback", None)
        return {"outcome": "discarded", "by": by}
    request_id = uuid().hex
    offered = match["candidates"]
    duplicate_of = offered[0]["request_id"] if choice == "expired" and offered else None
    await create_request(item_id, request_id, by or ACTOR, duplicate_of, None, None)
    await start_child(new_request, request_id, run_id=f"new-request:{request_id}")
    await close_approval(approval_id, choice or "expired", request_id)
    if choice == "expired":
        await send_expired(item_id, turn, request_id)
        return {"outcome": "new", "request_id": request_id, "possible_duplicate_of": duplicate_of}
    return {"outcome": "new", "request_id": request_id, "by": by}


async def _wait_for_answer(approval_id: str, hook: Hook) -> dict[str, Any]:
    """Wait for a click: one reminder, then the deadline (which expires the question).

    The calls made never depend on the settings, only the durations do: a restart
    with another APPROVAL_TIMEOUT replays the same calls.
    """
    settings = current().settings
    timeout = settings.approval_timeout.total_seconds()
    first = min(settings.approval_reminder.total_seconds(), timeout)
    answer = await _answer_within(hook, approval_id, first)
    if answer is not None:
        return answer
    answer = await remind(approval_id)  # also sees a click whose wake-up was missed
    if answer["status"] != "pending":
        return answer
    answer = await _answer_within(hook, approval_id, max(timeout - first, 1.0))
    if answer is not None:
        return answer
    return await read_answer(approval_id, True)


async def _answer_within(hook: Hook, approval_id: str, seconds: float) -> dict[str, Any] | None:
    """The decision, when one is made within ``seconds`` (the hook only wakes the run)."""
    while True:
        try:
            await hook.wait(timeout=seconds)
        except HookTimeout:
            return None
        answer = await read_answer(approval_id, False)
        if answer["status"] != "pending":
            return answer


@workflow("undo-link")
async def undo_link(item_id: str, turn: int, by_slack_user: str) -> dict[str, Any]:
    """Undo a confident link: unlink, record it, and ask the submitter again."""
    undone = await unlink_item(item_id, by_slack_user)
    if undone["status"] != "unlinked":
        return undone
    await mark_undone(item_id, turn, undone)
    await start_child(
        process_feedback,
        item_id,
        turn + 1,
        [undone["request_id"]],
        run_id=f"process:{item_id}:{turn + 1}",
    )
    return undone


# --- steps ----------------------------------------------------------------------------


@step(max_attempts=5)
async def match_item(item_id: str, turn: int, exclude: list[str]) -> dict[str, Any]:
    """Decide the tier and gather up to three candidates with their demand."""
    deps = current()
    async with deps.db.read() as conn:
        item = await items.get(conn, item_id)
    await sync_index(deps)  # what other workers filed meanwhile
    await sync_thresholds(deps)  # thresholds applied meanwhile (calibrate --apply)
    decision = await deps.matcher.decide(matching_text(item))
    ranked = [c for c in decision.candidates if c.request_id not in exclude]
    async with deps.db.read() as conn:
        known = await requests_db.get_many(conn, [c.request_id for c in ranked], with_areas=False)
        demand = await requests_db.demand(conn, list(known))
    ranked = [c for c in ranked if c.request_id in known][:MAX_CANDIDATES]
    tier = decision.tier.value
    best_kept = (
        bool(ranked)
        and decision.best is not None
        and (ranked[0].request_id == decision.best.request_id)
    )
    if turn > 0 or (tier == "link" and not best_kept):
        tier = "ask"  # after an Undo a person decides, even with nothing else to offer
    if not ranked and turn == 0:
        tier = "new"
    views = [
        CandidateView(
            request_id=c.request_id,
            title=known[c.request_id].title,
            score=round_score(c.confidence if c.confidence is not None else c.score),
            why=c.reason or _why(c.matched_text, known[c.request_id].text),
            customers=demand.get(c.request_id, requests_db.Demand()).accounts,
            arr=demand.get(c.request_id, requests_db.Demand()).arr,
        )
        for c in ranked
    ]
    best = views[0].score if views else None
    reason = f"{decision.scorer} {best:.3f} ({decision.thresholds!r})" if best is not None else ""
    return {
        "tier": tier,
        "score": best,
        "candidates": [_view_dict(v) for v in views],
        "reason": reason,
        "why_asked": decision.reason if tier == "ask" and turn == 0 else "",
        "evidence": _evidence(decision, turn, tier) if best_kept else None,
    }


def _evidence(decision: MatchDecision, turn: int, tier: str) -> dict[str, Any]:
    """What the decision rested on, for the audit log (``feedback.thresholds.examples``)."""
    values = [c.confidence if c.confidence is not None else c.score for c in decision.candidates]
    return thresholds_db.match_evidence(
        turn=turn,
        tier=tier,
        scorer=decision.scorer,
        best=round_score(values[0]) if values else None,
        runner_up=round_score(values[1]) if len(values) > 1 else None,
        best_request=decision.best.request_id if decision.best else None,
        guarded=decision.mismatch is not None,
        reason=decision.reason,
    )


def round_score(value: float) -> float:
    return float(f"{value:.3f}")


def _why(matched: str, request_text: str) -> str:
    if matched and matched != request_text:
        snippet = matched if len(matched) <= 90 else matched[:89].rstrip() + "…"
        return f"Close to feedback already filed: “{snippet}”"
    return "Close in meaning to the request's title and description"


def _view_dict(view: CandidateView) -> dict[str, Any]:
    return {
        "request_id": view.request_id,
        "title": view.title,
        "score": view.score,
        "why": view.why,
        "customers": view.customers,
        "arr": str(view.arr),
    }


async def _follow_all(deps: Deps, conn: Any, item: items.FeedbackItem, request_id: str) -> None:
    """The submitter and everyone who asked to file the message follow the request."""
    await requests_db.follow(conn, request_id, item.submitter_id)
    if item.channel_id:
        for ts in dict.fromkeys(t for t in (item.message_ts, item.thread_ts) if t):
            for user_id in await items.reactors(conn, item.channel_id, ts):
                await requests_db.follow(conn, request_id, user_id)


@step(max_attempts=8)
async def link_item(
    item_id: str,
    request_id: str,
    actor: str | None,
    reason: str,
    confirm_turn: int | None,
    tier: str | None,
    score: float | None,
    evidence: dict[str, Any] | None = None,
) -> None:
    """File the item under the request; its people follow it; its words join the index.

    With ``confirm_turn``, the submitter also gets the confirmation DM (Open, Undo).
    With ``evidence``, the matching decision's evidence goes in the audit log first.
    """
    deps = current()
    async with deps.db.transaction() as conn:
        if evidence is not None:
            before = await items.get(conn, item_id)
            if not (before.request_id == request_id and before.status == "filed"):
                await record(conn, actor=ACTOR, action="match", feedback_id=item_id, after=evidence)
        item = await items.link(
            conn, item_id, request_id, actor=actor or ACTOR, reason=reason, tier=tier, score=score
        )
        await _follow_all(deps, conn, item, request_id)
    await index_text(deps, request_id, item_id, matching_text(item))
    if confirm_turn is not None:
        await _confirm_link(deps, item_id, request_id, confirm_turn)


async def _confirm_link(deps: Deps, item_id: str, request_id: str, turn: int) -> None:
    async with deps.db.read() as conn:
        seen = await items.view(conn, item_id)
        request = await requests_db.get(conn, request_id, with_areas=False)
        demand = (await requests_db.demand(conn, [request_id])).get(request_id)
    message = messages.linked(
        feedback_id=item_id,
        turn=turn,
        request_id=request_id,
        title=request.title,
        account=seen.account_name,
        severity=seen.item.severity,
        customers=demand.accounts if demand else 0,
        arr=demand.arr if demand else requests_db.Demand().arr,
        quote=seen.item.quote,
    )
    line = link_line(
        title=request.title,
        account=seen.account_name,
        severity=seen.item.severity,
        quote=seen.item.quote,
    )
    key = f"{item_id}:{turn}:linked"  # Undo finds the DM by it (mark_undone)
    await tell("links", key, seen.item.submitter_id, seen.submitter_slack_id, message, line)


def _slack_id(user: users.User) -> str:
    if not user.slack_id:
        raise ValueError(f"user {user.id!r} has no Slack id to DM")
    return user.slack_id


@step(max_attempts=8)
async def ask_person(
    item_id: str,
    turn: int,
    token: str,
    candidates: list[dict[str, Any]],
    score: float | None,
    evidence: dict[str, Any] | None = None,
    why_asked: str = "",
) -> dict[str, Any]:
    """Record the question (its id is the item's and the turn's) and DM it to the submitter.

    The DM says ``why_asked`` (why a score high enough to link was put to a person);
    ``evidence`` goes in the audit log with the question.
    """
    deps = current()
    approval_id = f"match:{item_id}:{turn}"
    async with deps.db.transaction() as conn:
        seen = await items.view(conn, item_id)
        try:
            await approvals.get(conn, approval_id)
            asked_before = True
        except NotFound:
            asked_before = False
        if evidence is not None and not asked_before:
            await record(conn, actor=ACTOR, action="match", feedback_id=item_id, after=evidence)
        question = await approvals.open_question(
            conn,
            approval_id=approval_id,
            feedback_id=item_id,
            kind="match",
            approver_id=seen.item.submitter_id,
            hook_token=token,
            candidates=candidates,
        )
        await items.set_match(conn, item_id, tier="ask", score=score, status="pending")
    message = messages.approval_request(
        approval_id=question.id,
        account=seen.account_name,
        severity=seen.item.severity,
        quote=seen.item.quote,
        candidates=[_view(c) for c in question.candidates],
        permalink=seen.item.permalink,
        reason=why_asked,
    )
    posted = await dm_once(f"{question.id}:ask", seen.submitter_slack_id, message)
    if posted is None:  # nobody to ask
        return {"id": question.id, "asked": False}
    async with deps.db.transaction() as conn:
        await approvals.set_message(conn, question.id, *posted)
    return {"id": question.id, "asked": True}


def _view(candidate: dict[str, Any]) -> CandidateView:
    from decimal import Decimal

    return CandidateView(
        request_id=candidate["request_id"],
        title=candidate["title"],
        score=float(candidate["score"]),
        why=candidate.get("why", ""),
        customers=int(candidate.get("customers", 0)),
        arr=Decimal(candidate.get("arr", "0")),
    )


@step(max_attempts=8)
async def remind(approval_id: str) -> dict[str, Any]:
    """The one reminder, in the question's thread, unless it was answered meanwhile.

    Returns:
        The question's state, as :func:`read_answer` gives it.
    """
    deps = current()
    async with deps.db.read() as conn:
        question = await approvals.get(conn, approval_id)
    if question.status == "pending" and question.channel_id:
        deadline = question.created_at + deps.settings.approval_timeout
        days_left = max((deadline - utcnow()).total_seconds(), 0.0) / 86400
        await post_once(
            f"{approval_id}:remind",
            question.channel_id,
            messages.approval_reminder(days_left=days_left),
            thread_ts=question.message_ts,
        )
        async with deps.db.transaction() as conn:
            await approvals.mark_reminded(conn, approval_id)
    return _state(question)


@step
async def read_answer(approval_id: str, expire: bool) -> dict[str, Any]:
    """The question's state (expired first when the deadline passed and none came)."""
    async with current().db.transaction() as conn:
        if expire:
            question = await approvals.expire(conn, approval_id)
        else:
            question = await approvals.get(conn, approval_id)
    return _state(question)


def _state(question: approvals.Approval) -> dict[str, Any]:
    return {
        "status": question.status,
        "decision": question.decision,
        "decided_by": question.decided_by,
    }


@step
async def discard_item(item_id: str, actor: str | None) -> None:
    """Not feedback: keep the item, marked discarded, with an audit record."""
    async with current().db.transaction() as conn:
        await items.discard(conn, item_id, actor=actor or ACTOR, reason="not feedback")


@step(max_attempts=5)
async def create_request(
    item_id: str,
    request_id: str,
    actor: str,
    possible_duplicate_of: str | None,
    tier: str | None,
    score: float | None,
) -> dict[str, Any]:
    """Draft a request from the item (title, description, area), file the item under it.

    A re-run finds the request it made (drafting again could word it differently).
    """
    deps = current()
    async with deps.db.read() as conn:
        item = await items.get(conn, item_id)
        known_areas = await areas.listing(conn)
        try:
            request: requests_db.Request | None = await requests_db.get(conn, request_id)
        except NotFound:
            request = None
    if request is None:
        draft = await draft_request(
            matching_text(item),
            areas=[ProductArea(a.name, a.description) for a in known_areas],
            llm=deps.llm,
            embedder=deps.embedder,
        )
        area = next((a for a in known_areas if a.name == draft.area), None)
        async with deps.db.transaction() as conn:
            request = await requests_db.create(
                conn,
                request_id=request_id,
                title=draft.title,
                description=draft.description,
                creator_id=item.submitter_id,
                area_ids=[area.id] if area else [],
                possible_duplicate_of=possible_duplicate_of,
            )
            await record(
                conn,
                actor=actor,
                action="create",
                feedback_id=item_id,
                request_id=request_id,
                after={"title": request.title, "slug": request.slug, "draft": draft.source},
            )
    area = next((a for a in known_areas if a.id in request.area_ids), None)
    async with deps.db.transaction() as conn:
        await items.link(
            conn, item_id, request_id, actor=actor, reason="new request", tier=tier, score=score
        )
        await _follow_all(deps, conn, item, request_id)
    await index_text(deps, request_id, REQUEST_TEXT, request.text)
    await index_text(deps, request_id, item_id, matching_text(item))
    return {"request_id": request_id, "title": request.title, "area": area.name if area else None}


@step(max_attempts=8)
async def send_new_request(item_id: str, turn: int, created: dict[str, Any]) -> None:
    """Tell the submitter where their feedback went."""
    deps = current()
    async with deps.db.read() as conn:
        seen = await items.view(conn, item_id)
    message = messages.new_request_filed(
        request_id=created["request_id"],
        title=created["title"],
        area=created["area"],
        account=seen.account_name,
        quote=seen.item.quote,
    )
    await dm_once(f"{item_id}:{turn}:new", seen.submitter_slack_id, message)


@step(max_attempts=8)
async def send_expired(item_id: str, turn: int, request_id: str) -> None:
    """Tell the submitter an unanswered question was filed as a new request."""
    deps = current()
    async with deps.db.read() as conn:
        seen = await items.view(conn, item_id)
        request = await requests_db.get(conn, request_id, with_areas=False)
        duplicate = (
            await requests_db.get(conn, request.possible_duplicate_of)
            if request.possible_duplicate_of
            else None
        )
    message = messages.approval_expired(
        title=request.title, duplicate_of=duplicate.title if duplicate else None
    )
    await dm_once(f"{item_id}:{turn}:expired", seen.submitter_slack_id, message)


@step(max_attempts=8)
async def close_approval(approval_id: str, outcome: str, request_id: str | None) -> None:
    """Replace the question's buttons with what happened and who decided."""
    deps = current()
    async with deps.db.read() as conn:
        question = await approvals.get(conn, approval_id)
        item = await items.get(conn, question.feedback_id)
        request = await requests_db.get(conn, request_id, with_areas=False) if request_id else None
        decider = await users.get(conn, question.decided_by) if question.decided_by else None
    if not (question.channel_id and question.message_ts):
        return
    title = messages.escape(request.title) if request else ""
    text = {
        "link": f"Linked to *{title}*",
        "new": f"Filed as a new request: *{title}*",
        "not_feedback": "Marked as not feedback; nothing was filed",
        "expired": f"No answer in time: filed as a new request, *{title}*",
    }[outcome]
    await update_posted(
        question.channel_id,
        question.message_ts,
        messages.approval_decided(
            outcome=text, by_user=decider.slack_id if decider else None, quote=item.quote
        ),
    )


@step
async def unlink_item(item_id: str, by_slack_user: str) -> dict[str, Any]:
    """Unlink a confident match (only the submitter or the product team may).

    Its words leave the index, and whoever followed the request only because of it
    stops following. A re-run after the unlink committed finds it in the audit log.
    """
    deps = current()
    async with deps.db.transaction() as conn:
        item = await items.get(conn, item_id)
        try:
            user = await users.get_by_slack_id(conn, by_slack_user)
        except NotFound:
            return {"status": "forbidden"}
        if user.id != item.submitter_id and not user.is_product_team:
            return {"status": "forbidden"}
        history = await audit.history(conn, feedback_id=item_id)
        last = history[-1] if history else None
        if last is not None and last.action == "unlink" and last.actor == user.id:
            request_id = last.request_id  # this step ran before and committed
        elif last is None or last.action != "link" or last.actor != ACTOR:
            return {"status": "not-undoable"}  # not a confident link (a person chose it)
        else:
            request_id = await items.unlink(conn, item_id, actor=user.id)
        if request_id is None:
            return {"status": "not-linked"}
        await _unfollow_all(conn, item, request_id)
        request = await requests_db.get(conn, request_id, with_areas=False)
    await forget_text(deps, request_id, item_id)
    return {"status": "unlinked", "request_id": request_id, "title": request.title, "by": user.id}


async def _unfollow_all(conn: Any, item: items.FeedbackItem, request_id: str) -> None:
    """Those who followed only because of this item stop following the request."""
    people = [item.submitter_id]
    if item.channel_id:
        for ts in dict.fromkeys(t for t in (item.message_ts, item.thread_ts) if t):
            people += await items.reactors(conn, item.channel_id, ts)
    for user_id in dict.fromkeys(people):
        if not await items.submitted_under(conn, request_id, user_id):
            await requests_db.unfollow(conn, request_id, user_id)


@step(max_attempts=8)
async def mark_undone(item_id: str, turn: int, undone: dict[str, Any]) -> None:
    """Show on the confirmation DM that it was undone (and that a question follows)."""
    from feedback import outbox

    deps = current()
    async with deps.db.read() as conn:
        posted = await outbox.find(conn, f"{item_id}:{turn}:linked")
        item = await items.get(conn, item_id)
        user = await users.get(conn, undone["by"])
    if posted is None or posted.ts is None:
        return
    await update_posted(
        posted.channel_id,
        posted.ts,
        messages.undone(title=undone["title"], by_user=_slack_id(user), quote=item.quote),
    )
