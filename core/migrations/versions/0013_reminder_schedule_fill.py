"""reminder schedules for the subscriptions that were running before reminders existed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

A subscription's `remind_at` is set whenever its schedule moves; the ones already running
(a trial, a paid period, a grace period) get one now, so the next sweep computes their
schedule in their workspace's zone and makes the reminder that is due, if any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.model

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBSCRIPTIONS = sa.table(
    "subscriptions",
    sa.column("state", sa.String(16)),
    sa.column("due_at", core.model.UTCDateTime(timezone=True)),
    sa.column("remind_at", core.model.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.execute(
        _SUBSCRIPTIONS.update()
        .where(
            _SUBSCRIPTIONS.c.state != "inactive",
            _SUBSCRIPTIONS.c.due_at.is_not(None),
            _SUBSCRIPTIONS.c.remind_at.is_(None),
        )
        .values(remind_at=datetime.now(UTC))
    )


def downgrade() -> None:
    """The schedule is derived from state: nothing to undo."""
