"""members: who granted a role in planbot

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

Where a platform decides roles (Slack's owners and admins), a role granted in planbot is
marked, so following the platform never takes it back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("granted_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("granted_by")
