"""indexes for the sweep: due subscriptions in due order, and orders by subscription

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

The sweep claims due subscriptions in (due_at, id) order a batch at a time; without an
index in that order every batch scanned and sorted all the due rows. It also reads each
subscription's latest order and expires its pending ones, which scanned all orders.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_subscriptions_due_order", "subscriptions", ["due_at", "id"], unique=False)
    op.create_index("ix_orders_subscription", "orders", ["subscription_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_subscription", table_name="orders")
    op.drop_index("ix_subscriptions_due_order", table_name="subscriptions")
