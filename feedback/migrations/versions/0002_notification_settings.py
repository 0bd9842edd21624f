"""Notification settings per person, and the lines queued for their daily DM.

Two new tables (``notification_settings``, ``queued_notifications``); nothing existing
changes, so the upgrade needs no table rebuild on SQLite.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("links", sa.String(length=8), server_default="now", nullable=False),
        sa.Column("shipped", sa.String(length=8), server_default="now", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "links IN ('now', 'daily', 'off')", name=op.f("ck_notification_settings_links")
        ),
        sa.CheckConstraint(
            "shipped IN ('now', 'daily', 'off')", name=op.f("ck_notification_settings_shipped")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "queued_notifications",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("batch_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('links', 'shipped')", name=op.f("ck_queued_notifications_kind")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_queued_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_queued_notifications")),
    )
    op.create_index(
        "ix_queued_notifications_user_sent",
        "queued_notifications",
        ["user_id", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_queued_notifications_user_sent", table_name="queued_notifications")
    op.drop_table("queued_notifications")
    op.drop_table("notification_settings")
