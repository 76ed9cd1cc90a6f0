"""members: when a person last chose the workspace to act in

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

A person in several workspaces acts in the one they chose last (or joined last, before
they ever chose).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.model

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "members", sa.Column("active_at", core.model.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("active_at")
