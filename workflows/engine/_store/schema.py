"""The engine's tables, in one place (SQLAlchemy Core).

Times are UTC epoch seconds (double precision): identical on both dialects, cheap to
compare, and turned into aware datetimes only in the read models.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import DDLElement

metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid

runs = Table(
    "wf_runs",
    metadata,
    Column("run_id", String(255), primary_key=True),
    Column("workflow", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("args", Text, nullable=False),
    Column("result", Text),
    Column("error", Text),
    Column("parent_run_id", String(255)),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("updated_at", Float, nullable=False),
    Column("completed_at", Float),
    Column("deadline", Float),
    # when a pending or waiting run becomes claimable; NULL: only an outside event wakes it
    Column("wake_at", Float),
    # ownership: the worker holding the lease, the fencing token, and its expiry
    Column("owner", String(128)),
    Column("lease_epoch", Integer, nullable=False, server_default=text("0")),
    Column("lease_expires_at", Float),
    # consecutive takeovers from dead workers without progress
    Column("recoveries", Integer, nullable=False, server_default=text("0")),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
)
Index(
    "wf_runs_due",
    runs.c.wake_at,
    postgresql_where=runs.c.status.in_(["pending", "waiting"]),
    sqlite_where=runs.c.status.in_(["pending", "waiting"]),
)
Index(
    "wf_runs_leased",
    runs.c.lease_expires_at,
    postgresql_where=runs.c.status == "running",
    sqlite_where=runs.c.status == "running",
)
Index("wf_runs_created", runs.c.created_at)
Index("wf_runs_parent", runs.c.parent_run_id)

# The columns a new run's row sets (``_store.runs.new_run_row``).
NEW_RUN_COLUMNS = (
    "run_id",
    "workflow",
    "status",
    "args",
    "parent_run_id",
    "created_at",
    "updated_at",
    "deadline",
    "wake_at",
    "started_at",
    "owner",
    "lease_epoch",
    "lease_expires_at",
)

# The append-only history; rows with ``checkpoint`` true are what replay reads: one
# outcome per position. ``key`` makes every write idempotent (retried after a lost
# commit acknowledgement, it inserts nothing).
events = Table(
    "wf_events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("run_id", String(255), nullable=False),
    Column("key", String(160), nullable=False),
    Column("type", String(32), nullable=False),
    Column("position", Integer),
    Column("name", String(255)),
    Column("checkpoint", Boolean, nullable=False),
    # a checkpoint whose outcome is an error (``data`` then holds the error record)
    Column("failed", Boolean, nullable=False),
    Column("attempt", Integer),
    Column("at", Float, nullable=False),
    Column("started_at", Float),
    Column("wake_at", Float),
    Column("data", Text),
    # a digest of the call's arguments, checked on replay (NULL: not encodable)
    Column("args_digest", String(16)),
)
Index("wf_events_run_key", events.c.run_id, events.c.key, unique=True)

# The workers that hold (or held) leases: the process behind each, so that a worker on
# the same host can tell at once that a holder is gone and take its runs over.
workers = Table(
    "wf_workers",
    metadata,
    Column("worker_id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("boot", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", String(32), nullable=False),
    Column("seen_at", Float, nullable=False),
)
Index("wf_workers_host", workers.c.host)

hooks = Table(
    "wf_hooks",
    metadata,
    Column("token", String(255), primary_key=True),
    Column("run_id", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    # the wait on this token now in progress with a timeout, and its deadline: past
    # it, that wait has timed out and a delivery is refused (HookNotFound)
    Column("wait_position", Integer),
    Column("wait_deadline", Float),
)
Index("wf_hooks_run", hooks.c.run_id)

hook_payloads = Table(
    "wf_hook_payloads",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("token", String(255), nullable=False),
    Column("run_id", String(255), nullable=False),
    Column("payload", Text),
    Column("created_at", Float, nullable=False),
    Column("consumed_at", Float),
    Column("consumed_position", Integer),
    # names the delivery: delivered again (a lost acknowledgement, a retried request),
    # it is found here, even after the run ended, and adds nothing
    Column("delivery", String(64)),
)
Index("wf_hook_payloads_delivery", hook_payloads.c.delivery, unique=True)
Index("wf_hook_payloads_token", hook_payloads.c.token, hook_payloads.c.id)
Index("wf_hook_payloads_run", hook_payloads.c.run_id)


def upgrade(conn: Connection) -> None:
    """Add what tables made by an earlier version of the engine lack.

    Columns added since are nullable (an earlier run simply has none of them), and so
    are added as they are; missing indexes are created.
    """
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                if not column.nullable:
                    raise RuntimeError(f"{table.name}.{column.name} cannot be added in place")
                conn.execute(_AddColumn(table, column))
        for index in table.indexes:
            index.create(conn, checkfirst=True)


class _AddColumn(DDLElement):
    """``ALTER TABLE t ADD COLUMN c`` (SQLAlchemy has no construct of its own for it)."""

    inherit_cache = False

    def __init__(self, table: Table, column: Column[Any]) -> None:
        self.table = table
        self.column = column


@compiles(_AddColumn)
def _compile_add_column(element: _AddColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    column = compiler.get_column_specification(element.column)
    return f"ALTER TABLE {table} ADD COLUMN {column}"
