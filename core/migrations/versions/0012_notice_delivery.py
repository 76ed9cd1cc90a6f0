"""notice delivery states, reminder schedule, notice settings, one sender per bot

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Notices used to be marked delivered in the transaction that took them, before they were
sent, so a crash lost them. Each outbox row now has a key (kind, subject, due instant, chat)
that makes any number of sweeps store it once, the instant it may go out after quiet hours,
and a delivery state with a lease. Rows already delivered become sent; the others pending.
Subscriptions get the instant their next reminder may be due; workspaces their notice
settings (reminders and receipts on, quiet hours 22:00-07:00); and `notice_senders` holds
the lease that makes one process the sender for a bot token.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.model
from core.quiet_hours import QUIET_FROM, QUIET_UNTIL

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer()),
    sa.column("created_at", core.model.UTCDateTime(timezone=True)),
    sa.column("delivered_at", core.model.UTCDateTime(timezone=True)),
    sa.column("subject", sa.String(100)),
    sa.column("due_at", core.model.UTCDateTime(timezone=True)),
    sa.column("send_after", core.model.UTCDateTime(timezone=True)),
    sa.column("state", sa.String(16)),
    sa.column("attempts", sa.Integer()),
)
_WORKSPACES = sa.table(
    "workspaces",
    sa.column("quiet_from", sa.Integer()),
    sa.column("quiet_until", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("due_at", core.model.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("send_after", core.model.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("deadline", core.model.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("lease_until", core.model.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("attempted_at", core.model.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("error", sa.String(length=200), nullable=True))
    op.execute(
        sa.update(_OUTBOX).values(
            subject=sa.literal("outbox:") + sa.cast(_OUTBOX.c.id, sa.String()),
            due_at=_OUTBOX.c.created_at,
            send_after=_OUTBOX.c.created_at,
            attempts=0,
            state=sa.case((_OUTBOX.c.delivered_at.is_(None), "pending"), else_="sent"),
        )
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("subject", existing_type=sa.String(length=100), nullable=False)
        batch.alter_column(
            "due_at", existing_type=core.model.UTCDateTime(timezone=True), nullable=False
        )
        batch.alter_column(
            "send_after", existing_type=core.model.UTCDateTime(timezone=True), nullable=False
        )
        batch.alter_column("state", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("attempts", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            "uq_outbox_key", ["kind", "subject", "due_at", "chat_platform", "chat_id"]
        )
    op.create_index("ix_outbox_ready", "outbox", ["chat_platform", "state", "send_after"])
    op.create_table(
        "notice_senders",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.model.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # Added in place: on SQLite a rebuilt workspaces table would cascade-delete its rows'
    # dependants (foreign keys are on), so no step here may make batch mode copy the table.
    for column in ("reminders_on", "receipts_on"):
        op.add_column(
            "workspaces",
            sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.true()),
        )
    for column in ("quiet_from", "quiet_until"):
        op.add_column("workspaces", sa.Column(column, sa.Integer(), nullable=True))
    op.execute(sa.update(_WORKSPACES).values(quiet_from=QUIET_FROM, quiet_until=QUIET_UNTIL))
    op.add_column(
        "subscriptions",
        sa.Column("remind_at", core.model.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_subscriptions_remind", "subscriptions", ["remind_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_subscriptions_remind", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("remind_at")
    with op.batch_alter_table("workspaces") as batch:
        for column in ("quiet_until", "quiet_from", "receipts_on", "reminders_on"):
            batch.drop_column(column)
    op.drop_table("notice_senders")
    op.drop_index("ix_outbox_ready", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_key", type_="unique")
        for column in (
            "error",
            "attempts",
            "attempted_at",
            "lease_until",
            "lease_owner",
            "state",
            "deadline",
            "send_after",
            "due_at",
            "subject",
        ):
            batch.drop_column(column)
