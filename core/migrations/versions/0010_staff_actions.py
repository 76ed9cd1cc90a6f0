"""staff_actions, and the audit trail's tier, reason code, comment and refund

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Support staff change a customer's billing through a preview they confirm once: the confirm
token is single use and bound to the state previewed, and a large refund or credit waits
for a second manager. The audit trail records the tier acted with, the reason code, the
comment and the refund behind an entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.model

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("verb", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("state_key", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_tier", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", core.model.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.model.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_staff_actions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_actions")),
        sa.UniqueConstraint("token", name=op.f("uq_staff_actions_token")),
    )
    op.create_index(
        "ix_staff_actions_workspace", "staff_actions", ["workspace_id", "status"], unique=False
    )
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("actor_tier", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("reason_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refund_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        for column in ("refund_id", "comment", "reason_code", "actor_tier"):
            batch.drop_column(column)
    op.drop_index("ix_staff_actions_workspace", table_name="staff_actions")
    op.drop_table("staff_actions")
