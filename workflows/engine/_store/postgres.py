"""PostgreSQL's fast path for the hot write: fenced history inserts in one statement.

Most batches only append checkpoints of runs this worker owns. On PostgreSQL such a
batch is one autocommit statement instead of BEGIN, SELECT ... FOR UPDATE, INSERT,
COMMIT: a CTE locks the rows of the runs whose lease epoch still matches, and a
data-modifying CTE inserts only the events of those runs. Arrays passed through
``unnest`` keep the statement text the same whatever the batch size, so asyncpg's
prepared-statement cache serves it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import events, runs

EVENT_COLUMNS = (
    "run_id",
    "key",
    "type",
    "position",
    "name",
    "checkpoint",
    "failed",
    "attempt",
    "at",
    "started_at",
    "wake_at",
    "data",
    "args_digest",
)


def _fenced_insert() -> Any:
    ids = bindparam("run_ids", type_=ARRAY(runs.c.run_id.type))
    epochs = bindparam("epochs", type_=ARRAY(runs.c.lease_epoch.type))
    held = select(func.unnest(ids, epochs).table_valued("run_id", "epoch").render_derived())
    live = (
        select(runs.c.run_id, runs.c.lease_epoch, runs.c.cancel_requested)
        .where(tuple_(runs.c.run_id, runs.c.lease_epoch).in_(held), runs.c.status == "running")
        .order_by(runs.c.run_id)
        .with_for_update()
        .cte("live")
    )
    arrays = [bindparam(f"e_{name}", type_=ARRAY(events.c[name].type)) for name in EVENT_COLUMNS]
    arrays.append(bindparam("e_epoch", type_=ARRAY(runs.c.lease_epoch.type)))
    rows = func.unnest(*arrays).table_valued(*EVENT_COLUMNS, "epoch").render_derived()
    # each row is fenced by the epoch of its own write: a stale write sharing a batch
    # with the current owner's write of the same run inserts nothing
    chosen = select(*(rows.c[name] for name in EVENT_COLUMNS)).join(
        live, (live.c.run_id == rows.c.run_id) & (live.c.lease_epoch == rows.c.epoch)
    )
    inserted = (
        pg_insert(events)
        .from_select(list(EVENT_COLUMNS), chosen)
        .on_conflict_do_nothing(index_elements=["run_id", "key"])
        .cte("inserted")
    )
    return select(live.c.run_id, live.c.lease_epoch, live.c.cancel_requested).add_cte(inserted)


FENCED_INSERT = _fenced_insert()


async def fenced_insert(
    conn: AsyncConnection, held: list[tuple[str, int]], rows: list[tuple[int, dict[str, Any]]]
) -> dict[str, tuple[int, bool]]:
    """Insert ``rows`` (each with the epoch of the write it belongs to) of the runs in
    ``held`` whose epoch still matches.

    Returns:
        The runs whose lease is live, with their current epoch and cancel flag.
    """
    params: dict[str, Any] = {
        "run_ids": [run_id for run_id, _ in held],
        "epochs": [epoch for _, epoch in held],
    }
    for name in EVENT_COLUMNS:
        params[f"e_{name}"] = [row[name] for _, row in rows]
    params["e_epoch"] = [epoch for epoch, _ in rows]
    result = await conn.execute(FENCED_INSERT, params)
    return {row.run_id: (row.lease_epoch, bool(row.cancel_requested)) for row in result}
