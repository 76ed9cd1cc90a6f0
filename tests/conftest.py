"""Shared fixtures: a frozen clock, the default catalog, and a database per backend.

Every test that takes `db` (or `ctx`) runs on SQLite, and also on PostgreSQL when
PLANBOT_TEST_DATABASE_URL is set. With PLANBOT_REQUIRE_POSTGRES=1 (CI) a missing
PostgreSQL is a failure, not a skip. The browser tests (tests/browser) need Chromium and
its driver; without them they are left out with one line saying so, and with
PLANBOT_REQUIRE_BROWSER=1 (CI) a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
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


REQUIRE_BROWSER = os.environ.get("PLANBOT_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("PLANBOT_CHROMIUM", "chromium")
CHROMEDRIVER = os.environ.get("PLANBOT_CHROMEDRIVER", "chromedriver")
_LEFT_OUT = pytest.StashKey[str]()


def browser_tools() -> tuple[str, str] | None:
    """Chromium and its WebDriver, as installed (Debian: chromium, chromium-driver)."""
    browser, driver = shutil.which(CHROMIUM), shutil.which(CHROMEDRIVER)
    return None if browser is None or driver is None else (browser, driver)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _without_browser(config, items)
    if PG_URL:
        return
    if REQUIRE_PG:
        raise pytest.UsageError("PLANBOT_REQUIRE_POSTGRES=1 but PLANBOT_TEST_DATABASE_URL is unset")
    skip = pytest.mark.skip(reason="PLANBOT_TEST_DATABASE_URL is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _without_browser(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the browser tests out when there is no browser, said once at the end."""
    if browser_tools() is not None:
        return
    left_out = [item for item in items if "browser" in item.keywords]
    if not left_out:
        return
    if REQUIRE_BROWSER:
        raise pytest.UsageError(
            f"PLANBOT_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is not installed"
        )
    items[:] = [item for item in items if "browser" not in item.keywords]
    config.hook.pytest_deselected(items=left_out)
    config.stash[_LEFT_OUT] = (
        f"{len(left_out)} browser tests left out: {CHROMIUM} and {CHROMEDRIVER} are not "
        "both installed (Debian: apt-get install chromium chromium-driver)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    said = terminalreporter.config.stash.get(_LEFT_OUT, None)
    if said is not None:
        terminalreporter.write_line(said)


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
