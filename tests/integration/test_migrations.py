"""Migrations: empty to head builds exactly the models' schema and the Slack OAuth stores'
tables as slack-sdk builds them, and base to head round-trips.

Runs on SQLite (a file per test) and on PostgreSQL in a database of its own, created for
the test and dropped after it, so no other test's database is touched.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Connection, make_url

from adapters.slack.oauth import DatabaseStateStore, slack_metadata
from core.db import create_engine
from core.migrate import SLACK_TABLES, alembic_config, downgrade, upgrade
from core.model import Base
from tests.conftest import PG_URL

PLANBOT_TABLES = set(Base.metadata.tables)
LATER_TABLES = {"staff_actions", "notice_senders"}
"""Tables migrations after 0004 add."""
SLACK = slack_metadata()
# What head builds: planbot's models, and the Slack tables from slack-sdk's own builders.
SCHEMA = (Base.metadata, SLACK)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A brand-new, empty PostgreSQL database, dropped again after the test."""
    assert PG_URL is not None
    server = make_url(PG_URL)
    name = f"planbot_migrations_{secrets.token_hex(6)}"
    admin = create_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest) -> str:
    """The URL of an empty database on each backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _only_slack_tables(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in SLACK_TABLES


def _schema(connection: Connection, models: Sequence[MetaData], only_slack: bool) -> dict[str, Any]:
    opts: dict[str, Any] = {"compare_type": True, "compare_server_default": True}
    if only_slack:
        opts["include_name"] = _only_slack_tables
    context = MigrationContext.configure(connection, opts=opts)
    return {
        "tables": set(inspect(connection).get_table_names()),
        "version": context.get_current_revision(),
        "differences": compare_metadata(context, list(models)),
    }


async def _inspect(
    url: str, models: Sequence[MetaData] = SCHEMA, *, only_slack: bool = False
) -> dict[str, Any]:
    """The database's tables, its migration revision, and how it differs from `models`."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema, models, only_slack)
    finally:
        await engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_the_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert [rev.down_revision for rev in script.walk_revisions()][-1] is None


def test_the_schema_check_notices_a_column_the_migrations_do_not_create(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["orders"].append_column(Column("coupon", String(40)))

    differences = asyncio.run(_inspect(sqlite_url, (drifted, SLACK)))["differences"]

    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "orders", "coupon")]


async def test_upgrade_from_empty_builds_exactly_the_schema_the_models_describe(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    schema = await _inspect(empty_database)
    assert schema["tables"] == PLANBOT_TABLES | SLACK_TABLES | {"alembic_version"}
    assert schema["version"] == _head()
    assert schema["differences"] == []


async def test_upgrading_a_database_already_at_head_changes_nothing(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)
    await asyncio.to_thread(upgrade, empty_database)

    schema = await _inspect(empty_database)
    assert schema["version"] == _head()
    assert schema["differences"] == []


async def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    await asyncio.to_thread(downgrade, empty_database)
    emptied = await _inspect(empty_database)
    assert emptied["tables"] & (PLANBOT_TABLES | SLACK_TABLES) == set()
    assert emptied["version"] is None

    await asyncio.to_thread(upgrade, empty_database)
    rebuilt = await _inspect(empty_database)
    assert rebuilt["tables"] == PLANBOT_TABLES | SLACK_TABLES | {"alembic_version"}
    assert rebuilt["version"] == _head()
    assert rebuilt["differences"] == []


def test_the_migrations_leave_to_slack_sdk_exactly_the_tables_its_builders_define() -> None:
    assert set(SLACK.tables) == SLACK_TABLES
    assert SLACK_TABLES.isdisjoint(PLANBOT_TABLES)


def test_the_slack_check_notices_a_column_the_migration_makes_differently(
    sqlite_url: str,
) -> None:
    upgrade(sqlite_url)
    drifted = MetaData()
    for table in SLACK.tables.values():
        table.to_metadata(drifted)
    drifted.tables["slack_bots"].c.team_id.nullable = False

    differences = asyncio.run(_inspect(sqlite_url, (drifted,), only_slack=True))["differences"]

    assert [(d[0][0], d[0][2], d[0][3]) for d in differences] == [
        ("modify_nullable", "slack_bots", "team_id")
    ]


async def _use_the_stores(url: str) -> None:
    """An installation saved and found, and a state issued and consumed, on the migrated tables."""
    engine = create_engine(url)
    try:
        installations = AsyncSQLAlchemyInstallationStore(client_id="111.222", engine=engine)
        await installations.async_save(
            Installation(
                app_id="A1",
                team_id="T1",
                user_id="U1",
                bot_token="xoxb-1",
                bot_id="B1",
                bot_user_id="UB1",
                bot_scopes=["commands"],
            )
        )
        bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-1"
        states = DatabaseStateStore(engine)
        state = await states.async_issue()
        assert await states.async_consume(state)
        assert not await states.async_consume(state)
    finally:
        await engine.dispose()


def _described(difference: tuple[Any, ...]) -> tuple[str, str]:
    """An Alembic difference as (kind, what): an index by name, a column as table.column."""
    if difference[0] == "add_column":
        return difference[0], f"{difference[2]}.{difference[3].name}"
    return difference[0], difference[1].name


async def test_upgrade_builds_the_slack_tables_as_slack_sdk_does_and_downgrade_removes_them(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    migrated = await _inspect(empty_database, (SLACK,), only_slack=True)
    assert migrated["tables"] >= SLACK_TABLES
    assert migrated["differences"] == []
    await _use_the_stores(empty_database)

    await asyncio.to_thread(downgrade, empty_database, "0004")
    before = await _inspect(empty_database, (Base.metadata,))
    assert before["tables"] == PLANBOT_TABLES - LATER_TABLES | {"alembic_version"}
    assert before["version"] == "0004"
    # Only what later migrations add to planbot's own tables (0006: the sweep's indexes,
    # 0007: the workspace a member chose, 0008: who granted a role, 0009: a conversation's
    # last update, 0010: staff actions and the audit trail's staff columns, 0011: the audit
    # trail's MRR terms and the stats' indexes, 0012: notice delivery, reminders, settings).
    assert sorted(_described(d) for d in before["differences"]) == sorted(
        [
            ("add_column", "audit_entries.accounts_after"),
            ("add_column", "audit_entries.accounts_before"),
            ("add_column", "audit_entries.active_terms_after"),
            ("add_column", "audit_entries.active_terms_before"),
            ("add_column", "audit_entries.actor_tier"),
            ("add_column", "audit_entries.comment"),
            ("add_column", "audit_entries.reason_code"),
            ("add_column", "audit_entries.refund_id"),
            ("add_column", "conversations.last_update"),
            ("add_column", "members.active_at"),
            ("add_column", "members.granted_by"),
            ("add_index", "ix_audit_mrr"),
            ("add_index", "ix_orders_subscription"),
            ("add_index", "ix_payments_received"),
            ("add_index", "ix_refunds_at"),
            ("add_index", "ix_staff_actions_workspace"),
            ("add_column", "outbox.attempted_at"),
            ("add_column", "outbox.attempts"),
            ("add_column", "outbox.deadline"),
            ("add_column", "outbox.due_at"),
            ("add_column", "outbox.error"),
            ("add_column", "outbox.lease_owner"),
            ("add_column", "outbox.lease_until"),
            ("add_column", "outbox.send_after"),
            ("add_column", "outbox.state"),
            ("add_column", "outbox.subject"),
            ("add_column", "subscriptions.remind_at"),
            ("add_column", "workspaces.quiet_from"),
            ("add_column", "workspaces.quiet_until"),
            ("add_column", "workspaces.receipts_on"),
            ("add_column", "workspaces.reminders_on"),
            ("add_constraint", "uq_outbox_key"),
            ("add_index", "ix_outbox_ready"),
            ("add_index", "ix_subscriptions_due_order"),
            ("add_index", "ix_subscriptions_remind"),
            ("add_table", "notice_senders"),
            ("add_table", "staff_actions"),
        ]
    )


async def test_slack_tables_made_at_start_up_by_older_builds_are_kept_by_the_upgrade(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database, "0004")
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SLACK.create_all)
        state = await DatabaseStateStore(engine).async_issue()
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, empty_database)

    schema = await _inspect(empty_database)
    assert schema["version"] == _head()
    assert schema["differences"] == []
    engine = create_engine(empty_database)
    try:
        assert await DatabaseStateStore(engine).async_consume(state)
    finally:
        await engine.dispose()
