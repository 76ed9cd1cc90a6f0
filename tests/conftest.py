"""Shared fixtures: a frozen clock, the default catalog, and a database per backend.

Every test that takes `db` (or `ctx`) runs on SQLite, and also on PostgreSQL when
PLANBOT_TEST_DATABASE_URL is set. With PLANBOT_REQUIRE_POSTGRES=1 (CI) a missing
PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from core.access import Actor
from core.catalog import Catalog, load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.model import Base
from core.ports import RecordingNotifier
from core.services.context import Context
from core.services.workspaces import create_workspace
from tests.fakes import FakeGateway

PG_URL = os.environ.get("PLANBOT_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("PLANBOT_REQUIRE_POSTGRES") == "1"
START = parse_iso("2026-01-15T10:00:00Z")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    if REQUIRE_PG:
        raise pytest.UsageError("PLANBOT_REQUIRE_POSTGRES=1 but PLANBOT_TEST_DATABASE_URL is unset")
    skip = pytest.mark.skip(reason="PLANBOT_TEST_DATABASE_URL is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def at(text: str) -> datetime:
    return parse_iso(text)


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


async def fresh_database(backend: str, tmp_path: Path) -> Database:
    if backend == "sqlite":
        database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}")
    else:
        assert PG_URL is not None
        database = Database.from_url(PG_URL)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    return database


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_database(request.param, tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def ctx(
    db: Database,
    catalog: Catalog,
    clock: FixedClock,
    gateway: FakeGateway,
    notifier: RecordingNotifier,
) -> Context:
    return Context(db=db, catalog=catalog, clock=clock, gateway=gateway, notifier=notifier)


@pytest.fixture
def owner() -> Actor:
    return Actor("telegram", "1001")


@pytest.fixture
async def workspace_id(ctx: Context, owner: Actor) -> int:
    return await create_workspace(ctx, owner, "Acme Support")
