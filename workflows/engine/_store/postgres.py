"""PostgreSQL's fast paths for the hot writes: each is one autocommit statement.

A transaction costs BEGIN, each statement, COMMIT: a round trip apiece. The writes that
every run makes are instead single statements whose CTEs do the work atomically:

- a start inserts the run and its ``created`` event (and announces it);
- a batch of checkpoints locks the runs whose lease epoch still matches (each write
  fenced by its own epoch) and inserts only their events;
- one fenced write of a single run (a run's end, say) locks, appends, updates the
  run and announces it, all at once.

Arrays passed through ``unnest`` keep the statement text the same whatever the batch
size, so asyncpg's prepared-statement cache serves them. Lock predicates name the
primary key (``run_id = ANY(...)``), so the plan is right even before ``ANALYZE``.
The statements are built with SQLAlchemy, compiled once, and sent on the driver's
connection: a hot write pays the round trip and little else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import NOTIFY_LIMIT
from .schema import NEW_RUN_COLUMNS as RUN_COLUMNS
from .schema import events, runs

if TYPE_CHECKING:
    from .writes import Write

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
_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class _Compiled:
    """A statement compiled once for asyncpg: its text and its parameters' order."""

    def __init__(self, stmt: Any) -> None:
        compiled = stmt.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self._names = list(compiled.positiontup or ())
        self._fixed = dict(compiled.params)  # the values written into the statement

    async def fetch(self, conn: AsyncConnection, params: dict[str, Any]) -> list[Any]:
        """Run on the driver's connection; rows are asyncpg records (by column name)."""
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        values = {**self._fixed, **params}
        rows: list[Any] = await driver.fetch(self.sql, *(values[name] for name in self._names))
        return rows


def _arrays(table: Any, columns: tuple[str, ...], prefix: str) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=ARRAY(table.c[name].type)) for name in columns]


def _events_from(arrays: list[Any], columns: tuple[str, ...] = EVENT_COLUMNS) -> Any:
    return func.unnest(*arrays).table_valued(*columns).render_derived()


# -- a batch of checkpoints ---------------------------------------------------------------


def _fenced_insert() -> Any:
    ids = bindparam("run_ids", type_=ARRAY(runs.c.run_id.type))
    epochs = bindparam("epochs", type_=ARRAY(runs.c.lease_epoch.type))
    held = select(func.unnest(ids, epochs).table_valued("run_id", "epoch").render_derived())
    live = (
        select(runs.c.run_id, runs.c.lease_epoch, runs.c.cancel_requested)
        .where(
            runs.c.run_id == func.any(ids),  # the primary key leads the plan
            tuple_(runs.c.run_id, runs.c.lease_epoch).in_(held),
            runs.c.status == "running",
        )
        .order_by(runs.c.run_id)
        .with_for_update()
        .cte("live")
    )
    arrays = _arrays(events, EVENT_COLUMNS, "e_")
    arrays.append(bindparam("e_epoch", type_=ARRAY(runs.c.lease_epoch.type)))
    rows = _events_from(arrays, (*EVENT_COLUMNS, "epoch"))
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


FENCED_INSERT = _Compiled(_fenced_insert())


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
    live = await FENCED_INSERT.fetch(conn, params)
    return {row["run_id"]: (row["lease_epoch"], bool(row["cancel_requested"])) for row in live}


# -- starts --------------------------------------------------------------------------------


def _start() -> Any:
    run_rows = (
        func.unnest(*_arrays(runs, RUN_COLUMNS, "r_")).table_valued(*RUN_COLUMNS).render_derived()
    )
    created = (
        pg_insert(runs)
        .from_select(list(RUN_COLUMNS), select(*(run_rows.c[n] for n in RUN_COLUMNS)))
        .on_conflict_do_nothing(index_elements=["run_id"])
        .returning(runs.c.run_id)
        .cte("created")
    )
    rows = _events_from(_arrays(events, EVENT_COLUMNS, "e_"))
    chosen = select(*(rows.c[name] for name in EVENT_COLUMNS)).join(
        created, created.c.run_id == rows.c.run_id
    )
    logged = (
        pg_insert(events)
        .from_select(list(EVENT_COLUMNS), chosen)
        .on_conflict_do_nothing(index_elements=["run_id", "key"])
        .cte("logged")
    )
    wake = bindparam("wake", type_=ARRAY(runs.c.run_id.type))
    announced = (
        select(func.pg_notify("wf_wake", func.string_agg(created.c.run_id, ",")))
        .where(created.c.run_id == func.any(wake))
        .having(func.count() > 0)
        .scalar_subquery()
    )
    return select(created.c.run_id, announced.label("announced")).add_cte(logged)


START = _Compiled(_start())


def can_start(writes: list[Write]) -> bool:
    """Whether the batch is starts only, small enough to announce in one notification."""
    return (
        all(
            w.new_run is not None
            and w.epoch is None
            and w.run_update is None
            and w.work is None
            and not w.done
            and w.wake in ((), (w.run_id,))
            for w in writes
        )
        and sum(len(w.run_id) + 1 for w in writes if w.wake) <= NOTIFY_LIMIT
    )


async def start(conn: AsyncConnection, writes: list[Write]) -> set[str]:
    """Insert new runs with their events; return the ids actually inserted."""
    new_rows = [w.new_run for w in writes if w.new_run is not None]
    event_rows = [row for w in writes for row in w.events]
    params: dict[str, Any] = {f"r_{n}": [r[n] for r in new_rows] for n in RUN_COLUMNS}
    params.update({f"e_{n}": [e[n] for e in event_rows] for n in EVENT_COLUMNS})
    params["wake"] = [w.run_id for w in writes if w.wake]
    return {row["run_id"] for row in await START.fetch(conn, params)}


# -- one fenced write of one run -------------------------------------------------------------


def can_write_alone(write: Write) -> bool:
    """Whether a fenced write fits one statement (no extra work, no new run)."""
    return (
        write.epoch is not None
        and write.new_run is None
        and write.work is None
        and not write.wake
        and write.done in ((), (write.run_id,))
        and bool(write.events or write.run_update)
    )


_STATEMENTS: dict[tuple[Any, ...], _Compiled] = {}


def _alone(update_keys: tuple[str, ...], with_events: bool, done: bool) -> _Compiled:
    shape = (update_keys, with_events, done)
    if shape in _STATEMENTS:
        return _STATEMENTS[shape]
    live = (
        select(runs.c.run_id, runs.c.cancel_requested)
        .where(
            runs.c.run_id == bindparam("rid"),
            runs.c.lease_epoch == bindparam("epoch"),
            runs.c.status == "running",
        )
        .with_for_update()
        .cte("live")
    )
    stmt = select(live.c.cancel_requested)
    if with_events:
        rows = _events_from(_arrays(events, EVENT_COLUMNS[1:], "e_"), EVENT_COLUMNS[1:])
        chosen = select(live.c.run_id, *(rows.c[n] for n in EVENT_COLUMNS[1:])).select_from(
            live.join(rows, true())
        )
        stmt = stmt.add_cte(
            pg_insert(events)
            .from_select(list(EVENT_COLUMNS), chosen)
            .on_conflict_do_nothing(index_elements=["run_id", "key"])
            .cte("appended")
        )
    if update_keys:
        changed = (
            update(runs)
            .where(runs.c.run_id == live.c.run_id)
            .values({key: bindparam(f"u_{key}", type_=runs.c[key].type) for key in update_keys})
        )
        stmt = stmt.add_cte(changed.cte("changed"))
    if done:
        stmt = stmt.add_columns(func.pg_notify("wf_done", live.c.run_id).label("announced"))
    compiled = _STATEMENTS[shape] = _Compiled(stmt)
    return compiled


async def write_alone(conn: AsyncConnection, write: Write) -> tuple[bool, bool]:
    """Apply one fenced write of one run; return (applied, cancel requested)."""
    keys = tuple(sorted(write.run_update or {}))
    stmt = _alone(keys, bool(write.events), bool(write.done))
    params: dict[str, Any] = {"rid": write.run_id, "epoch": write.epoch}
    for name in EVENT_COLUMNS[1:]:
        params[f"e_{name}"] = [row[name] for row in write.events]
    for key in keys:
        params[f"u_{key}"] = (write.run_update or {})[key]
    rows = await stmt.fetch(conn, params)
    return (bool(rows), bool(rows[0]["cancel_requested"]) if rows else False)
