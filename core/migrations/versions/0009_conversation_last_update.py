"""conversations: the platform's id of the last update that moved the conversation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A platform that delivers an update again (Telegram after a timeout, a load balancer sending
it to two workers) must not advance the conversation twice: the update's id is saved with
the state it produced, so the repeat is recognised and answered quietly.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("last_update", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_update")
