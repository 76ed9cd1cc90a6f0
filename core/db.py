"""Engines and units of work: one transaction per use case, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from core import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./planbot.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseUrlError(ValueError):
    """A DATABASE_URL that planbot cannot use."""


def normalize_url(url: str) -> str:
    """Pick the async driver for a plain URL: postgresql:// -> asyncpg, sqlite:// -> aiosqlite."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"DATABASE_URL {url!r} is not a database URL") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise DatabaseUrlError(
            f"DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)"
        )
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue rather than fail."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _one_trip(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        """Each statement in one hand-off to the driver's thread (see core.sqlite_driver)."""
        return dialect.dbapi.connect(*cargs, async_creator_fn=sqlite_driver.connect, **cparams)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(sqlite_driver.BEGIN)


def create_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> AsyncEngine:
    url = normalize_url(url)
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and (":memory:" in url or url.endswith("://")):
        kwargs.setdefault("poolclass", StaticPool)
    if is_sqlite:
        kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


class Database:
    """Owns the engine and hands out units of work (one AsyncSession transaction each).

    A unit of work opened while another is open in the same task joins it, so a chat update
    that calls several use cases commits once. Use cases check before they change anything,
    so a refusal raised inside a joined unit of work leaves nothing half-done behind it.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._current: ContextVar[AsyncSession | None] = ContextVar(
            f"planbot-uow-{id(self)}", default=None
        )

    @classmethod
    def from_url(cls, url: str = DEFAULT_DATABASE_URL) -> Database:
        return cls(create_engine(url))

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends normally and rolls back otherwise."""
        joined = self._current.get()
        if joined is not None:
            yield joined
            return
        async with self._turn(), self._sessions() as session, session.begin():
            token = self._current.set(session)
            try:
                yield session
            finally:
                self._current.reset(token)

    def _turn(self) -> AbstractAsyncContextManager[object]:
        """On SQLite, units of work of this process queue here instead of in busy-wait sleeps."""
        return self._writer if self._writer is not None else nullcontext()

    @property
    def in_unit_of_work(self) -> bool:
        return self._current.get() is not None

    async def dispose(self) -> None:
        await self.engine.dispose()
