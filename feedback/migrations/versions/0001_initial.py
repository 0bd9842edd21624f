"""The initial domain tables: exactly what feedback/schema.py declared, names included.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("arr", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("tier", sa.String(length=50), server_default="", nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=True),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("crm_id", name=op.f("uq_accounts_crm_id")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("name", name=op.f("uq_areas_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_areas_slug")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("feedback_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_feedback", "audit_log", ["feedback_id"], unique=False)
    op.create_table(
        "sent_messages",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sent_messages")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("slack_id", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_product_team", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_external", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("slack_id", name=op.f("uq_users_slack_id")),
    )
    op.create_table(
        "account_channels",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_channels_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_account_channels")),
    )
    op.create_table(
        "filed_messages",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("submitter_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("via_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submitter_id"], ["users.id"], name=op.f("fk_filed_messages_submitter_id_users")
        ),
        sa.PrimaryKeyConstraint("channel_id", "message_ts", name=op.f("pk_filed_messages")),
    )
    op.create_table(
        "insights_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            name=op.f("fk_insights_reports_area_id_areas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insights_reports")),
        sa.UniqueConstraint(
            "area_id", "period_end", name=op.f("uq_insights_reports_area_id_period_end")
        ),
    )
    op.create_table(
        "message_reactors",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_message_reactors_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "channel_id", "message_ts", "user_id", name=op.f("pk_message_reactors")
        ),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=True),
        sa.Column("possible_duplicate_of", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'planned', 'shipped', 'deprioritized')",
            name=op.f("ck_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_requests_creator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["possible_duplicate_of"],
            ["requests.id"],
            name=op.f("fk_requests_possible_duplicate_of_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("slug", name=op.f("uq_requests_slug")),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("pain", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("submitter_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="processing", nullable=False),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("match_tier", sa.String(length=8), nullable=True),
        sa.Column("match_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high')", name=op.f("ck_feedback_severity")
        ),
        sa.CheckConstraint(
            "source IN ('reaction', 'shortcut', 'command', 'mention', 'api')",
            name=op.f("ck_feedback_source"),
        ),
        sa.CheckConstraint(
            "status IN ('processing', 'pending', 'filed', 'discarded')",
            name=op.f("ck_feedback_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_feedback_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_feedback_request_id_requests")
        ),
        sa.ForeignKeyConstraint(
            ["submitter_id"], ["users.id"], name=op.f("fk_feedback_submitter_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "channel_id",
            "message_ts",
            "position",
            name=op.f("uq_feedback_channel_id_message_ts_position"),
        ),
    )
    op.create_index("ix_feedback_request", "feedback", ["request_id"], unique=False)
    op.create_index("ix_feedback_thread", "feedback", ["channel_id", "thread_ts"], unique=False)
    op.create_index("ix_feedback_filed_at", "feedback", ["filed_at"], unique=False)
    op.create_table(
        "related_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("related_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["related_id"],
            ["requests.id"],
            name=op.f("fk_related_requests_related_id_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_related_requests_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "related_id", name=op.f("pk_related_requests")),
    )
    op.create_table(
        "request_areas",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            name=op.f("fk_request_areas_area_id_areas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_areas_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "area_id", name=op.f("pk_request_areas")),
    )
    op.create_table(
        "request_embeddings",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("embedder", sa.String(length=100), nullable=False),
        sa.Column("text_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_embeddings_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "request_id", "embedder", "text_id", name=op.f("pk_request_embeddings")
        ),
    )
    op.create_index(
        "ix_request_embeddings_changed",
        "request_embeddings",
        ["embedder", "updated_at"],
        unique=False,
    )
    op.create_table(
        "request_followers",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_followers_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_request_followers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "user_id", name=op.f("pk_request_followers")),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("feedback_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="match", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("approver_id", sa.String(length=64), nullable=False),
        sa.Column("hook_token", sa.String(length=128), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('match', 'account')", name=op.f("ck_approvals_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'decided', 'expired')", name=op.f("ck_approvals_status")
        ),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["users.id"], name=op.f("fk_approvals_approver_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_approvals_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_approvals_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("hook_token", name=op.f("uq_approvals_hook_token")),
    )
    op.create_index(
        "ix_approvals_approver_status", "approvals", ["approver_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_approvals_approver_status", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("request_followers")
    op.drop_index("ix_request_embeddings_changed", table_name="request_embeddings")
    op.drop_table("request_embeddings")
    op.drop_table("request_areas")
    op.drop_table("related_requests")
    op.drop_index("ix_feedback_filed_at", table_name="feedback")
    op.drop_index("ix_feedback_thread", table_name="feedback")
    op.drop_index("ix_feedback_request", table_name="feedback")
    op.drop_table("feedback")
    op.drop_table("requests")
    op.drop_table("message_reactors")
    op.drop_table("insights_reports")
    op.drop_table("filed_messages")
    op.drop_table("account_channels")
    op.drop_table("users")
    op.drop_table("sent_messages")
    op.drop_index("ix_audit_log_feedback", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("areas")
    op.drop_table("accounts")
