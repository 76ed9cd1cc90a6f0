"""Migrations: empty to head builds exactly the models' schema, and base to head round-trips.

Runs on SQLite (a file per test) and on PostgreSQL in a database of its own, created for
the test and dropped after it, so no other test's database is touched.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Connection, make_url

from core.db import create_engine
from core.migrate import alembic_config, downgrade, upgrade
from core.model import Base
from tests.conftest import PG_URL

PLANBOT_TABLES = set(Base.metadata.tables)


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


def _schema(connection: Connection, models: MetaData) -> dict[str, Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return {
        "tables": set(inspect(connection).get_table_names()),
        "version": context.get_current_revision(),
        "differences": compare_metadata(context, models),
    }


async def _inspect(url: str, models: MetaData = Base.metadata) -> dict[str, Any]:
    """The database's tables, its migration revision, and how it differs from `models`."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema, models)
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

    differences = asyncio.run(_inspect(sqlite_url, drifted))["differences"]

    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "orders", "coupon")]


async def test_upgrade_from_empty_builds_exactly_the_schema_the_models_describe(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database)

    schema = await _inspect(empty_database)
    assert schema["tables"] == PLANBOT_TABLES | {"alembic_version"}
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
    assert emptied["tables"] & PLANBOT_TABLES == set()
    assert emptied["version"] is None

    await asyncio.to_thread(upgrade, empty_database)
    rebuilt = await _inspect(empty_database)
    assert rebuilt["tables"] == PLANBOT_TABLES | {"alembic_version"}
    assert rebuilt["version"] == _head()
    assert rebuilt["differences"] == []
