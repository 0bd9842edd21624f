"""The domain's tables, in one place (SQLAlchemy Core); Alembic migrations create them.

Ids are text (UUID hex, or Slack's own ids where Slack owns the thing). Times are
timezone-aware UTC (:class:`UTCDateTime` keeps them aware on SQLite too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "REQUEST_STATUSES",
    "SEVERITIES",
    "SOURCES",
    "UTCDateTime",
    "account_channels",
    "accounts",
    "approvals",
    "areas",
    "audit_log",
    "feedback_items",
    "filed_messages",
    "insights_reports",
    "message_reactors",
    "metadata",
    "notification_settings",
    "queued_notifications",
    "related_requests",
    "request_areas",
    "request_embeddings",
    "request_followers",
    "requests",
    "sent_messages",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "slack_workspaces",
    "users",
]

REQUEST_STATUSES = ("open", "planned", "shipped", "deprioritized")
SEVERITIES = ("low", "medium", "high")
SOURCES = ("reaction", "shortcut", "command", "mention", "api")
ITEM_STATUSES = ("processing", "pending", "filed", "discarded")
APPROVAL_STATUSES = ("pending", "decided", "expired")
APPROVAL_KINDS = ("match", "account")
NOTIFICATION_KINDS = ("links", "shipped")
NOTIFICATION_CHOICES = ("now", "daily", "off")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(name: str = "id", **kwargs: Any) -> Column[str]:
    return Column(name, String(64), primary_key=True, **kwargs)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


users = Table(
    "users",
    metadata,
    _id(),
    Column("slack_id", String(32), unique=True),
    Column("email", String(320), unique=True),
    Column("name", String(200), nullable=False),
    # product managers and the like: may decide any approval and ship requests
    Column("is_product_team", Boolean, nullable=False, server_default=false()),
    # a customer's person (Slack Connect), never a submitter
    Column("is_external", Boolean, nullable=False, server_default=false()),
    _created(),
)

accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("arr", Numeric(14, 2), nullable=False),
    Column("tier", String(50), nullable=False, server_default=""),
    Column("crm_id", String(64), unique=True),
    Column("owner_email", String(320)),
    # the customer's e-mail domain: their people in Slack Connect belong to the account
    Column("domain", String(255)),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
)

account_channels = Table(
    "account_channels",
    metadata,
    Column("channel_id", String(32), primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
)

areas = Table(
    "areas",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("channel_id", String(32)),
)

requests = Table(
    "requests",
    metadata,
    _id(),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("slug", String(200), nullable=False, unique=True),
    Column("creator_id", ForeignKey("users.id")),
    # filed when an approval timed out: the best candidate the submitter never ruled out
    Column("possible_duplicate_of", ForeignKey("requests.id")),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("shipped_at", UTCDateTime()),
    CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
)

request_areas = Table(
    "request_areas",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)

request_followers = Table(
    "request_followers",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    _created(),
)

related_requests = Table(
    "related_requests",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("related_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False),
)

filed_messages = Table(
    "filed_messages",
    metadata,
    Column("channel_id", String(32), primary_key=True),
    Column("message_ts", String(32), primary_key=True),
    Column("submitter_id", ForeignKey("users.id"), nullable=False),
    Column("source", String(16), nullable=False),
    # a thread's parent claimed when one of its replies was filed: that reply's ts
    Column("via_ts", String(32)),
    _created(),
)

message_reactors = Table(
    "message_reactors",
    metadata,
    Column("channel_id", String(32), primary_key=True),
    Column("message_ts", String(32), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    _created(),
)

feedback_items = Table(
    "feedback",
    metadata,
    _id(),
    Column("request_id", ForeignKey("requests.id")),
    Column("account_id", ForeignKey("accounts.id")),
    Column("quote", Text, nullable=False),
    Column("pain", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("permalink", String(500)),
    Column("channel_id", String(32)),
    Column("message_ts", String(32)),
    # the thread the message belongs to (its parent's ts; its own for a top-level message):
    # a thread is filed once, whichever of its messages got the reaction
    Column("thread_ts", String(32)),
    # the n-th ask extracted from the message (a message may carry several)
    Column("position", Integer, nullable=False, server_default="0"),
    Column("severity", String(8), nullable=False),
    Column("source", String(16), nullable=False),
    Column("submitter_id", ForeignKey("users.id"), nullable=False),
    Column("status", String(16), nullable=False, server_default="processing"),
    Column("match_score", Float),
    Column("match_tier", String(8)),
    Column("match_reason", Text),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    # when it was last filed under a request: reports count it in that period (an ask
    # may wait days for a person's answer after it was created)
    Column("filed_at", UTCDateTime()),
    UniqueConstraint("channel_id", "message_ts", "position"),
    CheckConstraint(_in("severity", SEVERITIES), name="severity"),
    CheckConstraint(_in("source", SOURCES), name="source"),
    CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
)
Index("ix_feedback_request", feedback_items.c.request_id)
Index("ix_feedback_thread", feedback_items.c.channel_id, feedback_items.c.thread_ts)
Index("ix_feedback_filed_at", feedback_items.c.filed_at)

approvals = Table(
    "approvals",
    metadata,
    _id(),
    Column("feedback_id", ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False),
    # "match": which request is it? "account": which customer is it from?
    Column("kind", String(16), nullable=False, server_default="match"),
    Column("status", String(16), nullable=False, server_default="pending"),
    # who is asked (the submitter); the product team may decide too
    Column("approver_id", ForeignKey("users.id"), nullable=False),
    Column("hook_token", String(128), nullable=False, unique=True),
    # offered candidates: [{request_id, title, score, reason}]
    Column("candidates", JSON, nullable=False),
    Column("decision", JSON),
    Column("decided_by", ForeignKey("users.id")),
    Column("decided_at", UTCDateTime()),
    Column("channel_id", String(32)),
    Column("message_ts", String(32)),
    Column("reminded_at", UTCDateTime()),
    _created(),
    CheckConstraint(_in("status", APPROVAL_STATUSES), name="status"),
    CheckConstraint(_in("kind", APPROVAL_KINDS), name="kind"),
)
Index("ix_approvals_approver_status", approvals.c.approver_id, approvals.c.status)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    # a user id, or "system:<workflow>" for automated changes
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("feedback_id", String(64)),
    Column("request_id", String(64)),
    Column("before", JSON),
    Column("after", JSON),
)
Index("ix_audit_log_feedback", audit_log.c.feedback_id)

request_embeddings = Table(
    "request_embeddings",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("embedder", String(100), primary_key=True),
    # "request" for title and description, else the feedback id
    Column("text_id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    Column("updated_at", UTCDateTime(), nullable=False),
)
# workers refresh their in-memory index from the rows changed since they last looked
Index(
    "ix_request_embeddings_changed", request_embeddings.c.embedder, request_embeddings.c.updated_at
)

insights_reports = Table(
    "insights_reports",
    metadata,
    _id(),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("body", JSON, nullable=False),
    _created(),
    UniqueConstraint("area_id", "period_end"),
)

sent_messages = Table(
    "sent_messages",
    metadata,
    # what the message is for (e.g. "confirm:<feedback id>"): a step re-run posts once
    Column("key", String(200), primary_key=True),
    Column("channel_id", String(32), nullable=False),
    Column("ts", String(32)),
    _created(),
)

# how a person hears of their links and of shipped requests; no row: "now" for both.
# A table of its own, not columns on users: no ALTER (a table rebuild on SQLite) of a
# table most others reference, and users.py stays about who people are.
notification_settings = Table(
    "notification_settings",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("links", String(8), nullable=False, server_default="now"),
    Column("shipped", String(8), nullable=False, server_default="now"),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("links", NOTIFICATION_CHOICES), name="links"),
    CheckConstraint(_in("shipped", NOTIFICATION_CHOICES), name="shipped"),
)

queued_notifications = Table(
    "queued_notifications",
    metadata,
    # what the line is for (e.g. "<feedback id>:0:linked"): a re-run step queues once
    Column("key", String(200), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),  # one line, mrkdwn
    # the daily DM it went into ("batch:<user>:<local date>"), once a batch took it
    Column("batch_key", String(200)),
    _created(),
    Column("sent_at", UTCDateTime()),
    CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
)
Index(
    "ix_queued_notifications_user_sent",
    queued_notifications.c.user_id,
    queued_notifications.c.sent_at,
)


# --- Slack installations (multi-workspace mode: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) ---
# slack_sdk's own SQLAlchemy stores keep installations and OAuth states; their tables are
# declared here so that the migrations create them like any other.

slack_installations = AsyncSQLAlchemyInstallationStore.build_installations_table(
    metadata, "slack_installations"
)
slack_bots = AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
slack_oauth_states = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(
    metadata, "slack_oauth_states"
)

slack_workspaces = Table(
    "slack_workspaces",
    metadata,
    # a channel, DM or user id the bot has seen, and the workspace it belongs to: which
    # installation's token reaches it
    Column("slack_id", String(32), primary_key=True),
    Column("team_id", String(32), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
