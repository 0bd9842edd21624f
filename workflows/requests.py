"""The request lifecycle: ``new-request`` and ``mark-shipped``.

- **new-request**: find related requests (likely duplicates, proposed as links, never
  merged), post the request to its area's channel, sleep ``REQUEST_REMINDER_DELAY``,
  then remind the creator if no customer feedback is attached yet.
- **mark-shipped**: status to shipped (audited), then one DM to every follower and
  submitter, and one reply in the Slack thread of every linked feedback message, so
  whoever filed it can tell the customer in place. A retried or crashed run sends
  nothing twice; one person's DM failing does not stop the others.

:func:`create_by_hand` and :func:`ship` are what the Slack surface calls.
"""

from __future__ import annotations

import logging
from typing import Any

from agents import ProductArea, draft_request
from feedback import areas, audit, items, users
from feedback import requests as requests_db
from feedback.audit import record, system
from feedback.database import Database
from feedback.errors import NotFound
from feedback.schema import related_requests
from workflows import messages
from workflows.batch_messages import shipped_line
from workflows.batches import tell
from workflows.deps import current
from workflows.engine import (
    Engine,
    FatalError,
    RunHandle,
    StepRetriesExhausted,
    sleep,
    step,
    workflow,
)
from workflows.matching import REQUEST_TEXT, index_text, sync_index
from workflows.notify import dm_once, post_once

__all__ = [
    "RELATED_LIMIT",
    "ShipAnswer",
    "create_by_hand",
    "mark_shipped",
    "new_request",
    "ship",
]

logger = logging.getLogger(__name__)

ACTOR = system("mark-shipped")
RELATED_LIMIT = 3


@workflow("new-request")
async def new_request(request_id: str) -> dict[str, Any]:
    """Follow up a new request (run id ``new-request:<request id>``)."""
    await place_in_area(request_id)
    related = await relate(request_id)
    await announce(request_id, related)
    await sleep(current().settings.request_reminder_delay)
    reminded = await remind_creator(request_id)
    return {"request_id": request_id, "related": related, "reminded": reminded}


@workflow("mark-shipped")
async def mark_shipped(request_id: str, by_user: str | None, shipping: int = 1) -> dict[str, Any]:
    """Ship a request and tell everyone who asked.

    Args:
        request_id: The request.
        by_user: Who shipped it (a user id).
        shipping: 1 the first time it ships, 2 if it is reopened and ships again...
            (the run id is ``mark-shipped:<request id>:<shipping>``).
    """
    plan = await set_shipped(request_id, by_user)
    told: list[str] = []
    unreachable: list[str] = []
    failed: list[dict[str, Any]] = []
    for user_id in plan["people"]:
        try:
            reached = await tell_shipped(request_id, user_id, shipping)
        except (FatalError, StepRetriesExhausted) as exc:  # one person's DM, not everyone's
            failed.append({"user_id": user_id, "error": str(exc)})
            continue
        (told if reached else unreachable).append(user_id)
    threads = 0
    for thread in plan["threads"]:
        try:
            await reply_shipped(request_id, thread["channel"], thread["ts"], shipping)
            threads += 1
        except (FatalError, StepRetriesExhausted) as exc:
            failed.append({"thread": thread, "error": str(exc)})
    return {
        "request_id": request_id,
        "told": told,
        "unreachable": unreachable,
        "threads": threads,
        "failed": failed,
    }


# --- steps ----------------------------------------------------------------------------


@step(max_attempts=5)
async def place_in_area(request_id: str) -> str | None:
    """Give a request without a product area the nearest one (LLM or offline); audited."""
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id)
        known = await areas.listing(conn)
    if request.area_ids or not known:
        return request.area_ids[0] if request.area_ids else None
    draft = await draft_request(
        request.text,
        areas=[ProductArea(a.name, a.description) for a in known],
        llm=deps.llm,
        embedder=deps.embedder,
    )
    area = next((a for a in known if a.name == draft.area), None)
    if area is None:
        return None
    async with deps.db.transaction() as conn:
        await requests_db.add_area(conn, request_id, area.id)
        await record(
            conn,
            actor=system("new-request"),
            action="area",
            request_id=request_id,
            before={"areas": []},
            after={"areas": [area.id]},
        )
    return area.id


@step(max_attempts=5)
async def relate(request_id: str) -> list[dict[str, Any]]:
    """Requests close to this one (above the ask threshold), stored as related links."""
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id, with_areas=False)
    await index_text(deps, request_id, REQUEST_TEXT, request.text)  # made by hand: not yet
    await sync_index(deps)
    decision = await deps.matcher.decide(request.text)
    floor = deps.matcher.thresholds.ask
    close = [c for c in decision.candidates if c.request_id != request_id and c.score >= floor][
        :RELATED_LIMIT
    ]
    async with deps.db.transaction() as conn:
        known = await requests_db.get_many(conn, [c.request_id for c in close], with_areas=False)
        for candidate in close:
            if candidate.request_id in known:
                await _relate(conn, request_id, candidate.request_id, candidate.score)
    return [
        {"request_id": c.request_id, "title": known[c.request_id].title, "score": c.score}
        for c in close
        if c.request_id in known
    ]


async def _relate(conn: Any, request_id: str, other_id: str, score: float) -> None:
    from feedback._util import insert_ignore

    for a, b in ((request_id, other_id), (other_id, request_id)):
        await insert_ignore(
            conn, related_requests, {"request_id": a, "related_id": b, "score": float(score)}
        )


@step(max_attempts=8)
async def announce(request_id: str, related: list[dict[str, Any]]) -> bool:
    """Post the new request to its area's channel, once (False: no area channel)."""
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id)
        known = {a.id: a for a in await areas.listing(conn)}
        filed = await items.for_request(conn, request_id)
        creator = await users.get(conn, request.creator_id) if request.creator_id else None
    area = next((known[a] for a in request.area_ids if a in known), None)
    if area is None or not area.channel_id:
        return False
    message = messages.request_announced(
        title=request.title,
        description=request.description,
        slug=request.slug,
        area=area.name,
        creator=creator.slack_id if creator else None,
        quotes=[i.quote for i in filed[:2]],
        related=[r["title"] for r in related],
    )
    await post_once(f"new-request:{request_id}:announce", area.channel_id, message)
    return True


@step(max_attempts=8)
async def remind_creator(request_id: str) -> bool:
    """DM the creator when no customer feedback is attached yet (True: reminded)."""
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id, with_areas=False)
        filed = await items.for_request(conn, request_id)
        creator = await users.get(conn, request.creator_id) if request.creator_id else None
    if filed or creator is None or request.status != "open":
        return False
    message = messages.no_feedback_yet(title=request.title, slug=request.slug)
    return await dm_once(f"new-request:{request_id}:remind", creator.slack_id, message) is not None


@step
async def set_shipped(request_id: str, by_user: str | None) -> dict[str, Any]:
    """Status to shipped (audited once); who to tell and which threads to answer."""
    deps = current()
    async with deps.db.transaction() as conn:
        request = await requests_db.get(conn, request_id, with_areas=False)
        if request.status != "shipped":
            before = await requests_db.set_status(conn, request_id, "shipped")
            await record(
                conn,
                actor=by_user or ACTOR,
                action="status",
                request_id=request_id,
                before={"status": before},
                after={"status": "shipped"},
            )
        filed = await items.for_request(conn, request_id)
        people = await requests_db.followers(conn, request_id)
    people += [i.submitter_id for i in filed]
    threads = {
        (i.channel_id, i.thread_ts or i.message_ts): None
        for i in filed
        if i.channel_id and (i.thread_ts or i.message_ts)
    }
    return {
        "people": list(dict.fromkeys(people)),
        "threads": [{"channel": c, "ts": t} for c, t in threads],
    }


@step(max_attempts=6)
async def tell_shipped(request_id: str, user_id: str, shipping: int) -> bool:
    """Tell one person the request shipped, as they chose (False: they cannot be reached).

    A DM at once, a line in their daily DM, or nothing (see :func:`workflows.batches.tell`).
    """
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id, with_areas=False)
        person = await users.get(conn, user_id)
        theirs = await items.submitted_by(conn, request_id, user_id)
    message = messages.request_shipped(
        title=request.title, slug=request.slug, quotes=[i.quote for i in theirs[:3]]
    )
    key = f"shipped:{request_id}:{shipping}:{user_id}"
    line = shipped_line(title=request.title, slug=request.slug)
    return await tell("shipped", key, user_id, person.slack_id, message, line) != "unreachable"


@step(max_attempts=6)
async def reply_shipped(request_id: str, channel: str, thread_ts: str, shipping: int) -> None:
    """One reply in the thread a piece of feedback came from."""
    deps = current()
    async with deps.db.read() as conn:
        request = await requests_db.get(conn, request_id, with_areas=False)
    await post_once(
        f"shipped:{request_id}:{shipping}:{channel}:{thread_ts}",
        channel,
        messages.shipped_in_thread(title=request.title),
        thread_ts=thread_ts,
    )


# --- what the Slack surface calls -----------------------------------------------------


class ShipAnswer:
    """What became of ``/feedback ship <slug>`` (or a *Mark shipped* click)."""

    def __init__(self, status: str, text: str, run_id: str | None = None) -> None:
        self.status = status
        self.text = text
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"ShipAnswer({self.status!r}, {self.text!r})"


async def ship(engine: Engine, db: Database, *, request: str, slack_user: str) -> ShipAnswer:
    """Mark a request shipped (by slug or id); only the product team may.

    Returns:
        ``started`` with the run id; ``already`` when it is shipped; ``forbidden`` or
        ``unknown`` with what to say.
    """
    async with db.read() as conn:
        try:
            user = await users.get_by_slack_id(conn, slack_user)
        except NotFound:
            user = None
        if user is None or not user.is_product_team:
            return ShipAnswer("forbidden", "Only the product team can mark a request shipped.")
        try:
            found = await requests_db.get_by_slug(conn, request)
        except NotFound:
            try:
                found = await requests_db.get(conn, request, with_areas=False)
            except NotFound:
                named = messages.escape(request[:100])
                return ShipAnswer("unknown", f"No request called `{named}`.")
        shipped_before = [
            e
            for e in await audit.history(conn, request_id=found.id)
            if e.action == "status" and (e.after or {}).get("status") == "shipped"
        ]
    title = messages.escape(found.title)
    if found.status == "shipped":
        return ShipAnswer("already", f"*{title}* is already shipped.")
    shipping = len(shipped_before) + 1
    handle: RunHandle = await engine.start(
        mark_shipped, found.id, user.id, shipping, run_id=f"mark-shipped:{found.id}:{shipping}"
    )
    return ShipAnswer("started", f"Marking *{title}* shipped.", handle.run_id)


async def create_by_hand(
    engine: Engine,
    db: Database,
    *,
    request_id: str,
    title: str,
    description: str,
    creator_id: str,
    area_ids: list[str] | None = None,
) -> RunHandle:
    """Create a request without feedback (a form, the API) and start ``new-request``."""
    async with db.transaction() as conn:
        request = await requests_db.create(
            conn,
            request_id=request_id,
            title=title,
            description=description,
            creator_id=creator_id,
            area_ids=area_ids or [],
        )
        await record(
            conn,
            actor=creator_id,
            action="create",
            request_id=request_id,
            after={"title": request.title, "slug": request.slug},
        )
    return await engine.start(new_request, request_id, run_id=f"new-request:{request_id}")
