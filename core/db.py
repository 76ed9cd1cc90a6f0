"""Engines and units of work: one transaction per use case, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from core import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./planbot.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000

AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "planbot.after_commit"
_READ_ONLY = "planbot.read_only"
_READ_OPTION = "planbot_read"


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
        if connection.get_execution_options().get(_READ_OPTION):
            return  # a read session: each statement sees committed data on its own
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


class NestedUnitOfWork(RuntimeError):
    """A unit of work opened inside another without saying it joins it."""


class WriteInReadSession(RuntimeError):
    """A read session was asked to write: writes belong in a unit of work."""


def after_commit(session: AsyncSession, effect: AfterCommit) -> None:
    """Run `effect` once this unit of work has committed, outside any transaction.

    Provider and platform calls go here; if one fails, the committed state is one the next
    attempt completes (with the same idempotency key). A rollback drops the effect.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(effect)


def is_read_session(session: AsyncSession) -> bool:
    return bool(session.info.get(_READ_ONLY))


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_reads(session: Session, *_: object) -> None:
    if session.info.get(_READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise WriteInReadSession("a read session cannot write; use a unit of work")


class Database:
    """Owns the engine and hands out units of work (one AsyncSession transaction each).

    Each use case opens its own unit of work. One opened while another is open in the same
    task is refused unless it says `join=True`, so joining is always visible in the code.
    Effects registered with `after_commit` run after the outermost commit. Reads that need
    no transaction use `read()`: on SQLite each of their statements sees committed data on
    its own, without the writer lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._read_engine = engine.execution_options(**{_READ_OPTION: True})
        self._readers = async_sessionmaker(
            self._read_engine,
            expire_on_commit=False,
            autoflush=False,
            info={_READ_ONLY: True},
        )
        sqlite = engine.dialect.name == "sqlite"
        self._writer = asyncio.Lock() if sqlite else None
        # One shared connection (an in-memory database): reads queue with the writers.
        self._shared = sqlite and isinstance(engine.pool, StaticPool)
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
    async def unit_of_work(self, *, join: bool = False) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends normally and rolls back otherwise.

        `join=True` joins the unit of work already open in this task (or opens one), for
        code that must commit with its caller, such as a notice written with its cause.
        """
        joined = self._current.get()
        if joined is not None:
            if not join or is_read_session(joined):
                raise NestedUnitOfWork(
                    "a unit of work is already open in this task: pass join=True to join it"
                )
            yield joined
            return
        async with self._turn(), self._sessions() as session:
            async with session.begin():
                token = self._current.set(session)
                try:
                    yield session
                finally:
                    self._current.reset(token)
            effects: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
        for effect in effects:
            await effect()

    @asynccontextmanager
    async def read(self, *, join: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads only (a write raises): no writer lock, and on SQLite no BEGIN.

        `join=True` reads in the unit of work or read session already open in this task.
        """
        joined = self._current.get()
        if joined is not None:
            if not join:
                raise NestedUnitOfWork(
                    "a unit of work is already open in this task: pass join=True to read in it"
                )
            yield joined
            return
        lock = self._turn() if self._shared else nullcontext()
        async with lock, self._readers() as session:
            token = self._current.set(session)
            try:
                yield session
            finally:
                self._current.reset(token)

    @asynccontextmanager
    async def connection(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A bare connection for a few Core statements, cheaper than a session: with `write`
        a transaction that commits when the block ends (queued like a unit of work), else
        reads as `read()` makes them. For the conversation store's one read and one write."""
        if self._current.get() is not None:
            raise NestedUnitOfWork("a unit of work is already open in this task")
        if write:
            async with self._turn(), self.engine.begin() as connection:
                yield connection
            return
        lock = self._turn() if self._shared else nullcontext()
        async with lock, self._read_engine.connect() as connection:
            yield connection

    def _turn(self) -> AbstractAsyncContextManager[object]:
        """On SQLite, units of work of this process queue here instead of in busy-wait sleeps."""
        return self._writer if self._writer is not None else nullcontext()

    @property
    def in_unit_of_work(self) -> bool:
        """True while a unit of work or a read session is open in this task."""
        return self._current.get() is not None

    async def dispose(self) -> None:
        await self.engine.dispose()
