"""the audit trail's MRR terms, and indexes for the stats

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

`/staff stats` derives each month's MRR movements from the audit trail's subscription
snapshots. Reading the package, cycle, accounts and state out of the snapshots' JSON took
seconds over a million entries (PostgreSQL's json parses the whole text for every field), so
each entry keeps them as columns beside its snapshots, filled here for the entries already
written, with an index that holds every figure the stats read in the order they walk it.
Payments and refunds get one each for the money received and refunded by month.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SNAPSHOT = "accounts_after IS NOT NULL"
_AUDIT = sa.table(
    "audit_entries",
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("active_terms_before", sa.String(48)),
    sa.column("accounts_before", sa.Integer()),
    sa.column("active_terms_after", sa.String(48)),
    sa.column("accounts_after", sa.Integer()),
)


def _terms(snapshot: sa.ColumnElement[object]) -> tuple[sa.ColumnElement[str], ...]:
    """What `core.mrr.snapshot_terms` makes of a snapshot, as SQL over its JSON."""
    fields = sa.type_coerce(snapshot, sa.JSON())
    active = sa.case(
        (
            fields["state"].as_string() == "active",
            fields["package"].as_string() + "/" + fields["cycle_months"].as_string(),
        ),
        else_=sa.null(),
    )
    return active, fields["quantity"].as_integer()


def _is_snapshot(snapshot: sa.ColumnElement[object]) -> sa.ColumnElement[bool]:
    fields = sa.type_coerce(snapshot, sa.JSON())
    return sa.and_(
        *(fields[key].as_string().is_not(None) for key in ("state", "package", "cycle_months")),
        fields["quantity"].as_integer().is_not(None),
    )


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("active_terms_before", sa.String(length=48), nullable=True))
        batch.add_column(sa.Column("accounts_before", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("active_terms_after", sa.String(length=48), nullable=True))
        batch.add_column(sa.Column("accounts_after", sa.Integer(), nullable=True))
    for side in ("before", "after"):
        snapshot = _AUDIT.c[side]
        active, accounts = _terms(snapshot)
        op.execute(
            sa.update(_AUDIT)
            .where(_is_snapshot(snapshot))
            .values({f"active_terms_{side}": active, f"accounts_{side}": accounts})
        )
    op.create_index(
        "ix_audit_mrr",
        "audit_entries",
        [
            "subscription_id",
            "id",
            "at",
            "active_terms_after",
            "accounts_after",
            "active_terms_before",
            "accounts_before",
        ],
        unique=False,
        sqlite_where=sa.text(_SNAPSHOT),
        postgresql_where=sa.text(_SNAPSHOT),
    )
    op.create_index(
        "ix_payments_received", "payments", ["received_at", "currency", "amount"], unique=False
    )
    op.create_index("ix_refunds_at", "refunds", ["at", "currency", "amount"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refunds_at", table_name="refunds")
    op.drop_index("ix_payments_received", table_name="payments")
    op.drop_index("ix_audit_mrr", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch:
        for column in (
            "accounts_after",
            "active_terms_after",
            "accounts_before",
            "active_terms_before",
        ):
            batch.drop_column(column)
