"""Queries on runs: insert, read, list, cancel, retry, finish."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .._errors import InvalidRunState, RunCancelled, RunNotFound
from .._replay import EventType, event_row
from .._serialization import dumps, encode_error
from . import events as event_queries
from . import hooks as hook_queries
from .dialect import insert_ignoring_conflicts, notify
from .schema import events, hook_payloads, hooks, runs

if TYPE_CHECKING:
    from .._definitions import WorkflowDef

TERMINAL = ("completed", "failed", "cancelled", "crashed")


def new_run_row(
    run_id: str, definition: WorkflowDef, args: str, now: float, *, parent: str | None = None
) -> dict[str, Any]:
    """A ``wf_runs`` row for a run that has not started yet.

    Every row has the same keys (ownership included), so that rows of runs started
    pending and of runs handed straight to a worker can be inserted in one batch.
    """
    return {
        "run_id": run_id,
        "workflow": definition.name,
        "status": "pending",
        "args": args,
        "parent_run_id": parent,
        "created_at": now,
        "updated_at": now,
        "deadline": None if definition.timeout is None else now + definition.timeout,
        "wake_at": now,
        "started_at": None,
        "owner": None,
        "lease_epoch": 0,
        "lease_expires_at": None,
    }


def encode_args(definition: WorkflowDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return dumps(
        {"args": list(args), "kwargs": kwargs}, f"arguments of workflow {definition.name!r}"
    )


async def create_child(conn: AsyncConnection, row: dict[str, Any], now: float) -> None:
    """Insert a child run (nothing if a repeated write already did)."""
    if await insert_new(conn, [row]):
        created = event_row(
            row["run_id"],
            "created",
            EventType.RUN_CREATED,
            now,
            data=json.dumps({"parent": row["parent_run_id"]}),
        )
        await append_event(conn, created)


async def insert_new(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert runs, skipping ids that exist; return the ids actually inserted."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, runs, "run_id").returning(runs.c.run_id)
    result = await conn.execute(stmt, rows)
    return {row.run_id for row in result}


async def fetch(conn: AsyncConnection, run_id: str) -> Row[Any] | None:
    return (await conn.execute(select(runs).where(runs.c.run_id == run_id))).first()


async def fetch_for_update(conn: AsyncConnection, run_id: str) -> Row[Any] | None:
    stmt = select(runs).where(runs.c.run_id == run_id).with_for_update()
    return (await conn.execute(stmt)).first()


async def list_runs(
    conn: AsyncConnection,
    *,
    status: Sequence[str] | None,
    workflow: str | None,
    parent: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    stmt = select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id).limit(limit)
    if status:
        stmt = stmt.where(runs.c.status.in_(list(status)))
    if workflow:
        stmt = stmt.where(runs.c.workflow == workflow)
    if parent:
        stmt = stmt.where(runs.c.parent_run_id == parent)
    return (await conn.execute(stmt)).all()


async def counts(conn: AsyncConnection, now: float) -> tuple[Sequence[Row[Any]], int, int]:
    """Runs per (workflow, status), and timers set (waiting runs with a wake time):
    how many are still ahead and how many are due (their time has come, not yet
    claimed)."""
    by_status = (
        await conn.execute(
            select(runs.c.workflow, runs.c.status, func.count()).group_by(
                runs.c.workflow, runs.c.status
            )
        )
    ).all()
    due = runs.c.wake_at <= now
    timers = (
        await conn.execute(
            select(
                func.count().filter(~due),
                func.count().filter(due),
            ).where(runs.c.status == "waiting", runs.c.wake_at.is_not(None))
        )
    ).one()
    return by_status, int(timers[0]), int(timers[1])


def finish_values(
    status: str, now: float, *, result: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """Column values that end a run."""
    return {
        "status": status,
        "result": result,
        "error": error,
        "completed_at": now,
        "updated_at": now,
        "owner": None,
        "lease_expires_at": None,
        "wake_at": None,
    }


async def after_finish(conn: AsyncConnection, run_id: str, parent: str | None, now: float) -> None:
    """Free the run's hook tokens and wake its parent, inside the finishing transaction."""
    await conn.execute(delete(hooks).where(hooks.c.run_id == run_id))
    await conn.execute(
        update(hook_payloads)
        .where(hook_payloads.c.run_id == run_id, hook_payloads.c.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    if parent is not None:
        await wake(conn, parent, now)


async def wake(conn: AsyncConnection, run_id: str, now: float) -> None:
    """Make a waiting run claimable now, and tell its owner if it is loaded.

    The row is locked first, so that a concurrent unload either sees this wake-up's
    cause or is seen by it (no lost wake-ups under READ COMMITTED).
    """
    row = await fetch_for_update(conn, run_id)
    if row is None:
        return
    if row.status == "waiting":
        await conn.execute(update(runs).where(runs.c.run_id == run_id).values(wake_at=now))
    await notify(conn, "wf_wake", run_id)


async def append_event(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Append a history row; False when its key was already there (a repeated write)."""
    stmt = insert_ignoring_conflicts(conn.dialect.name, events, "run_id", "key").returning(
        events.c.id
    )
    return (await conn.execute(stmt, [row])).first() is not None


async def any_finished(conn: AsyncConnection, run_ids: list[str]) -> bool:
    """Whether one of ``run_ids`` has ended."""
    if not run_ids:
        return False
    stmt = (
        select(runs.c.run_id)
        .where(runs.c.run_id.in_(run_ids), runs.c.status.in_(TERMINAL))
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def cancel_requested(conn: AsyncConnection, run_id: str) -> bool:
    """Whether a cancel of the run is pending."""
    stmt = select(runs.c.cancel_requested).where(runs.c.run_id == run_id)
    return bool((await conn.execute(stmt)).scalar())


async def cancel(conn: AsyncConnection, run_id: str, now: float, *, tree: bool = False) -> str:
    """Cancel a run; returns its status after the call.

    A finished run is left as it is. A running run is asked to stop (its worker ends
    it before its next durable call); a pending or waiting one ends ``cancelled`` now.
    With ``tree``, the run's unfinished children are cancelled too, and theirs.

    Raises:
        RunNotFound: No run has that id.
    """
    row = await fetch_for_update(conn, run_id)
    if row is None:
        raise RunNotFound(run_id)
    if tree:
        await cancel_children(conn, run_id, now)
    if row.status in TERMINAL:
        return str(row.status)
    if row.status == "running":
        await conn.execute(
            update(runs)
            .where(runs.c.run_id == run_id)
            .values(cancel_requested=True, updated_at=now)
        )
        await append_event(
            conn,
            event_row(run_id, f"cancel-{now!r}", EventType.RUN_CANCEL_REQUESTED, now),
        )
        await notify(conn, "wf_cancel", run_id)
        return "running"
    error = json.dumps(encode_error(RunCancelled(run_id)))
    await conn.execute(
        update(runs)
        .where(runs.c.run_id == run_id)
        .values(**finish_values("cancelled", now, error=error))
    )
    await append_event(
        conn, event_row(run_id, "finished", EventType.RUN_CANCELLED, now, failed=True, data=error)
    )
    await after_finish(conn, run_id, row.parent_run_id, now)
    await notify(conn, "wf_done", run_id)
    return "cancelled"


async def cancel_children(conn: AsyncConnection, run_id: str, now: float) -> None:
    """Cancel the unfinished children of a run, and theirs."""
    stmt = select(runs.c.run_id).where(
        runs.c.parent_run_id == run_id, runs.c.status.not_in(TERMINAL)
    )
    for child in (await conn.execute(stmt)).scalars().all():
        await cancel(conn, child, now, tree=True)


async def recheck_after_unload(
    conn: AsyncConnection,
    run_id: str,
    *,
    tokens: Sequence[str],
    children: Sequence[str],
    positions: Sequence[int],
    now: float,
) -> None:
    """Make an unloaded run due now if what it waits for happened meanwhile.

    The row is locked by the fence: a delivery either committed before this check
    (seen here) or waits for this commit and then sees 'waiting'; and a probe cut short
    by the unload may have taken a payload or a child's result: its checkpoint
    committed before this write (the batcher is FIFO).
    """
    if (
        await hook_queries.has_unconsumed(conn, run_id, tokens)
        or await any_finished(conn, list(children))
        or await event_queries.has_checkpoint_at(conn, run_id, positions)
        or await cancel_requested(conn, run_id)  # raced the unload
    ):
        await conn.execute(update(runs).where(runs.c.run_id == run_id).values(wake_at=now))


async def retry(conn: AsyncConnection, run_id: str, now: float, suffix: str) -> None:
    """Make a failed, cancelled or crashed run pending again, from its last completed call.

    The outcomes that ended it are hidden from replay (kept in the history, their keys
    marked with ``~suffix``): steps that failed for good run again with fresh attempts;
    a wait whose uncaught ``HookTimeout`` failed the run waits again with a fresh
    deadline; calls cancelled as the run failed run again too.

    Raises:
        RunNotFound: No run has that id.
        InvalidRunState: The run is not failed, cancelled or crashed.
    """
    row = await fetch_for_update(conn, run_id)
    if row is None:
        raise RunNotFound(run_id)
    if row.status not in ("failed", "cancelled", "crashed"):
        raise InvalidRunState(
            f"run {run_id!r} is {row.status}; only failed, cancelled or crashed runs can be retried"
        )
    live = (events.c.run_id == run_id) & events.c.key.not_like("%~%")
    failed_steps = select(events.c.id, events.c.position).where(
        live,
        events.c.checkpoint.is_(True),
        events.c.failed.is_(True),
        events.c.type == EventType.STEP_FAILED.value,
    )
    failures = list((await conn.execute(failed_steps)).all())
    positions = {r.position for r in failures}
    keys: list[str] = ["finished"]
    if row.error and json.loads(row.error).get("type", "").endswith(":HookTimeout"):
        timed_out = (
            select(events.c.id, events.c.position)
            .where(live, events.c.checkpoint.is_(True), events.c.type == "hook_timed_out")
            .order_by(events.c.position.desc())
            .limit(1)
        )
        last = (await conn.execute(timed_out)).first()
        if last is not None:
            failures.append(last)
            keys += [f"p{last.position}", f"p{last.position}.wait"]
    # calls cancelled as the run wound down (a TaskGroup's siblings, say): after its
    # last progress; a cancel followed by progress was the workflow's own doing
    progress = select(func.max(events.c.id)).where(
        live,
        events.c.checkpoint.is_(True),
        events.c.failed.is_(False),
        events.c.type != EventType.CALL_CANCELLED.value,
    )
    last_progress = (await conn.execute(progress)).scalar() or 0
    cancelled = select(events.c.position).where(
        live, events.c.type == EventType.CALL_CANCELLED.value, events.c.id > last_progress
    )
    positions |= set((await conn.execute(cancelled)).scalars())
    superseded = live & (events.c.position.in_(sorted(positions)) | events.c.key.in_(keys))
    await conn.execute(
        update(events).where(superseded).values(key=events.c.key + "~" + suffix, checkpoint=False)
    )
    await conn.execute(
        update(runs)
        .where(runs.c.run_id == run_id)
        .values(
            status="pending",
            wake_at=now,
            updated_at=now,
            completed_at=None,
            result=None,
            error=None,
            cancel_requested=False,
            recoveries=0,
            owner=None,
            lease_expires_at=None,
            # a run retried after its deadline gets its time limit afresh
            deadline=None if row.deadline is None else now + row.deadline - row.created_at,
        )
    )
    await hook_queries.restore(conn, run_id, now)  # its tokens were freed when it ended
    await append_event(conn, event_row(run_id, f"retried-{suffix}", EventType.RUN_RETRIED, now))
    await notify(conn, "wf_wake", run_id)


async def deliver(
    conn: AsyncConnection, token: str, payload: str, now: float, key: str
) -> str | None:
    """Buffer ``payload`` for the live run holding ``token``; return that run's id.

    ``key`` names the delivery: delivering it again adds nothing and returns the run it
    reached, even once that run has ended. ``None`` when no live run holds the token,
    or the wait on it now in progress has timed out.
    """
    again = await hook_queries.delivered_to(conn, key)
    if again is not None:
        return again
    held = await hook_queries.holder_of(conn, token)
    if held is None:
        return None
    holder, wait_deadline = held
    row = await fetch_for_update(conn, holder)
    if row is None or row.status in TERMINAL:
        return None
    if wait_deadline is not None and wait_deadline <= now:
        return None  # the deadline decides: the wait on this token has timed out
    received = event_row(
        row.run_id, key, EventType.HOOK_RECEIVED, now, data=json.dumps({"token": token})
    )
    if not await hook_queries.add_payload(conn, token, row.run_id, payload, now, key):
        return await hook_queries.delivered_to(conn, key)  # a concurrent repeat won
    await append_event(conn, received)
    await wake(conn, row.run_id, now)
    return str(row.run_id)


async def read_with_history(
    conn: AsyncConnection, run_id: str
) -> tuple[Row[Any], list[Row[Any]], list[str]] | None:
    """A run's row, its events in order and its children's ids; None if there is none."""
    row = await fetch(conn, run_id)
    if row is None:
        return None
    history = select(events).where(events.c.run_id == run_id).order_by(events.c.id)
    children = select(runs.c.run_id).where(runs.c.parent_run_id == run_id)
    return (
        row,
        list((await conn.execute(history)).all()),
        sorted((await conn.execute(children)).scalars()),
    )
