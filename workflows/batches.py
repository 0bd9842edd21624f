"""``notification-batch``: each person's daily DM of the news they chose to get daily.

Two kinds of DM follow a person's settings (:mod:`feedback.notifications`): where
their feedback was filed (``links``) and a followed request shipping (``shipped``).
The steps that would DM call :func:`tell`, which DMs at once (``now``, the DM it always
was), queues a line for the day (``daily``) or does nothing (``off``).

The scheduler starts ``notification-batch`` once a day at ``NOTIFY_BATCH_TIME`` with a
run id made from the tick (``notification-batch:2026-12-02T22:00:00+00:00``). The run
finds who has lines waiting, then runs one step per person: the lines go into that
person's batch for the day, one DM lists them (posted once per key
``batch:<user id>:<local date>``), and they are marked sent. A step that runs again,
a run retried, or a second run the same day finds the key posted and sends nothing
new; lines queued after the day's DM went out wait for the next day's. One person's
failure does not stop the others: their lines stay queued for the next day.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from feedback import notifications, outbox, users
from feedback.notifications import Kind
from workflows.batch_messages import BatchLine, daily_batch
from workflows.deps import current
from workflows.engine import FatalError, StepRetriesExhausted, step, workflow
from workflows.messages import Message
from workflows.notify import dm_once
from workflows.schedule import BATCH_WORKFLOW, tick_run_id

__all__ = ["Told", "batch_key", "batch_run_id", "notification_batch", "tell"]

logger = logging.getLogger(__name__)

Told = Literal["sent", "queued", "off", "unreachable"]


def batch_run_id(tick: datetime) -> str:
    """The run id of the batch for ``tick`` (in UTC, whatever its zone).

    Raises:
        ValueError: ``tick`` is naive.
    """
    return tick_run_id(BATCH_WORKFLOW, tick)


def batch_key(user_id: str, day: date) -> str:
    """The outbox key of a person's daily DM: one per person and local date."""
    return f"batch:{user_id}:{day.isoformat()}"


async def tell(
    kind: Kind, key: str, user_id: str, slack_id: str | None, message: Message, line: str
) -> Told:
    """DM ``message`` now, queue ``line`` for the daily DM, or neither: as the person chose.

    Call it from a step; ``key`` names the purpose (the DM's outbox key, the line's
    queue key), so a step that runs again DMs or queues once.

    Args:
        kind: ``links`` or ``shipped``.
        key: What the DM or line is for.
        user_id: The person (a user id).
        slack_id: Their Slack id (``None``: they cannot be DMed).
        message: The DM for ``now``.
        line: One mrkdwn line for ``daily`` (see :mod:`workflows.batch_messages`).

    Returns:
        ``sent``, ``queued``, ``off``, or ``unreachable`` (a DM that could not be sent).
    """
    deps = current()
    async with deps.db.read() as conn:
        choice = (await notifications.get_settings(conn, user_id)).of(kind)
    if choice == "off":
        return "off"
    if choice == "daily":
        async with deps.db.transaction() as conn:
            await notifications.enqueue(conn, key=key, user_id=user_id, kind=kind, text=line)
        return "queued"
    return "sent" if await dm_once(key, slack_id, message) is not None else "unreachable"


# --- workflow -------------------------------------------------------------------------


@workflow(BATCH_WORKFLOW)
async def notification_batch(tick: datetime) -> dict[str, Any]:
    """Send each person with queued lines their one DM of the day.

    Args:
        tick: The schedule's tick (timezone-aware); its local date names the batch.

    Returns:
        ``day`` (ISO date), and the user ids ``sent``, ``unreachable`` (no DM possible:
        their lines are dropped) and ``failed`` (with the error; their lines wait for
        the next day).
    """
    plan = await plan_batch(tick)
    outcome: dict[str, Any] = {"day": plan["day"], "sent": [], "unreachable": [], "failed": []}
    for user_id in plan["people"]:
        try:
            result = await send_batch(user_id, plan["day"])
        except (FatalError, StepRetriesExhausted) as exc:  # one person's DM, not everyone's
            outcome["failed"].append({"user_id": user_id, "error": str(exc)})
            continue
        if result in ("sent", "unreachable"):
            outcome[result].append(user_id)
    return outcome


# --- steps ----------------------------------------------------------------------------


@step
async def plan_batch(tick: datetime) -> dict[str, Any]:
    """The tick's local date (in ``TIMEZONE``) and who has lines waiting."""
    deps = current()
    if tick.tzinfo is None:
        raise FatalError(f"naive tick {tick!r}: start the batch with a timezone-aware time")
    day = tick.astimezone(UTC).astimezone(ZoneInfo(deps.settings.timezone)).date()
    async with deps.db.read() as conn:
        people = await notifications.people_waiting(conn)
    return {"day": day.isoformat(), "people": people}


@step(max_attempts=8)
async def send_batch(user_id: str, day: str) -> str:
    """One person's DM of the day: take their waiting lines, post them once, mark them sent.

    Returns:
        ``sent`` (posted now or before), ``empty`` (nothing for this batch) or
        ``unreachable`` (no DM possible; the lines are marked sent, so they do not
        come back every day).
    """
    deps = current()
    key = batch_key(user_id, date.fromisoformat(day))
    async with deps.db.transaction() as conn:
        if await outbox.find(conn, key) is None:  # not posted, nor maybe posted: take more
            await notifications.add_to_batch(conn, user_id, key)
        lines = await notifications.in_batch(conn, user_id, key)
        person = await users.get(conn, user_id)
    unsent = [line for line in lines if line.sent_at is None]
    if not unsent:
        return "empty"
    message = daily_batch(
        day=date.fromisoformat(day), lines=[BatchLine(line.kind, line.text) for line in lines]
    )
    posted = await dm_once(key, person.slack_id, message)
    async with deps.db.transaction() as conn:
        await notifications.mark_sent(conn, [line.key for line in unsent])
    if posted is None:
        logger.warning(
            "daily DM %s: %s cannot be reached; %d line(s) dropped", key, user_id, len(unsent)
        )
        return "unreachable"
    return "sent"
