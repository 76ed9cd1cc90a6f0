"""slack oauth installations, bots and states

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

The tables of the Slack adapter's OAuth stores, written out column by column as slack-sdk's
SQLAlchemy installation store builds them (build_installations_table, build_bots_table) and
as adapters.slack.oauth builds its states table: core never imports a platform SDK, and
tests/integration/test_migrations.py holds this migration to those builders. Their defaults
are client-side only, so there are no server defaults here; constraints get the names
PostgreSQL gives slack-sdk's unnamed ones. Databases that served OAuth before this migration
already have the tables (start-up used to create them) and keep them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _existing_tables() -> set[str]:
    """The tables already there, so Slack tables made at start-up by older builds are kept."""
    if op.get_context().as_sql:
        return set()
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    existing = _existing_tables()
    if "slack_installations" not in existing:
        op.create_table(
            "slack_installations",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("client_id", sa.String(length=32), nullable=False),
            sa.Column("app_id", sa.String(length=32), nullable=False),
            sa.Column("enterprise_id", sa.String(length=32), nullable=True),
            sa.Column("enterprise_name", sa.String(length=200), nullable=True),
            sa.Column("enterprise_url", sa.String(length=200), nullable=True),
            sa.Column("team_id", sa.String(length=32), nullable=True),
            sa.Column("team_name", sa.String(length=200), nullable=True),
            sa.Column("bot_token", sa.String(length=200), nullable=True),
            sa.Column("bot_id", sa.String(length=32), nullable=True),
            sa.Column("bot_user_id", sa.String(length=32), nullable=True),
            sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
            sa.Column("bot_refresh_token", sa.String(length=200), nullable=True),
            sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
            sa.Column("user_id", sa.String(length=32), nullable=False),
            sa.Column("user_token", sa.String(length=200), nullable=True),
            sa.Column("user_scopes", sa.String(length=1000), nullable=True),
            sa.Column("user_refresh_token", sa.String(length=200), nullable=True),
            sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
            sa.Column("incoming_webhook_url", sa.String(length=200), nullable=True),
            sa.Column("incoming_webhook_channel", sa.String(length=200), nullable=True),
            sa.Column("incoming_webhook_channel_id", sa.String(length=200), nullable=True),
            sa.Column("incoming_webhook_configuration_url", sa.String(length=200), nullable=True),
            sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
            sa.Column("token_type", sa.String(length=32), nullable=True),
            sa.Column("installed_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("slack_installations_pkey")),
        )
        op.create_index(
            op.f("slack_installations_idx"),
            "slack_installations",
            ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
            unique=False,
        )
    if "slack_bots" not in existing:
        op.create_table(
            "slack_bots",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("client_id", sa.String(length=32), nullable=False),
            sa.Column("app_id", sa.String(length=32), nullable=False),
            sa.Column("enterprise_id", sa.String(length=32), nullable=True),
            sa.Column("enterprise_name", sa.String(length=200), nullable=True),
            sa.Column("team_id", sa.String(length=32), nullable=True),
            sa.Column("team_name", sa.String(length=200), nullable=True),
            sa.Column("bot_token", sa.String(length=200), nullable=True),
            sa.Column("bot_id", sa.String(length=32), nullable=True),
            sa.Column("bot_user_id", sa.String(length=32), nullable=True),
            sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
            sa.Column("bot_refresh_token", sa.String(length=200), nullable=True),
            sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
            sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
            sa.Column("installed_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("slack_bots_pkey")),
        )
        op.create_index(
            op.f("slack_bots_idx"),
            "slack_bots",
            ["client_id", "enterprise_id", "team_id", "installed_at"],
            unique=False,
        )
    if "slack_oauth_states" not in existing:
        op.create_table(
            "slack_oauth_states",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("state", sa.String(length=64), nullable=False),
            sa.Column("expire_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("slack_oauth_states_pkey")),
            sa.UniqueConstraint("state", name=op.f("slack_oauth_states_state_key")),
        )


def downgrade() -> None:
    op.drop_table("slack_oauth_states")
    op.drop_index(op.f("slack_bots_idx"), table_name="slack_bots")
    op.drop_table("slack_bots")
    op.drop_index(op.f("slack_installations_idx"), table_name="slack_installations")
    op.drop_table("slack_installations")
