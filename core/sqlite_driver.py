"""aiosqlite connections whose statements each take one trip to the connection's thread.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes it as four
separate hand-offs to aiosqlite's worker thread; each costs tens of microseconds of thread
switching, more than SQLite needs to run the statement. Here a statement is executed, its
rows read and its cursor closed in one call on that thread, with the same results and errors,
and a transaction's BEGIN travels with its first statement (an empty one costs no trip).
Rows are always read whole, so a streamed result is buffered (planbot streams none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import aiosqlite

_T = TypeVar("_T")
BEGIN = "BEGIN IMMEDIATE"  # what core.db's begin listener sends


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What SQLAlchemy reads from a cursor after a statement."""

    description: Any
    rows: list[Any]
    rowcount: int
    lastrowid: int | None


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, many: bool, begin: bool
) -> _Outcome:
    """Execute (after the transaction's deferred BEGIN), read every row and close, all on
    the connection's own thread."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute(BEGIN)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return _Outcome(description, rows, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, one trip per statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def execute(self, sql: str, parameters: Any = ()) -> OneTripCursor:
        return await self._run(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        return await self._run(sql, parameters, many=True)

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> OneTripCursor:
        connection = self._connection
        if sql == BEGIN and not many:
            # Sent with the transaction's first statement: one hand-off fewer per unit of work.
            connection.begin_pending = True
            self.description, self._rows, self.rowcount, self.lastrowid = None, [], -1, None
            return self
        begin, connection.begin_pending = connection.begin_pending, False
        outcome = await connection.in_thread(
            partial(_run, connection.sqlite, sql, parameters, many, begin)
        )
        self.description, self._rows = outcome.description, outcome.rows
        self.rowcount, self.lastrowid = outcome.rowcount, outcome.lastrowid
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors run each statement in a single hand-off."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.begin_pending = False
        # As SQLAlchemy's adapter does, so an unclosed connection never holds up exit;
        # before aiosqlite 0.22 the connection was itself the thread.
        worker: Any = getattr(self, "_thread", self)
        worker.daemon = True

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    async def in_thread(self, function: Callable[[], _T]) -> _T:
        """Run one call on the connection's thread, queued like aiosqlite's own calls."""
        result: _T = await self._execute(function)  # type: ignore[no-untyped-call]
        return result

    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def commit(self) -> None:
        """A transaction whose BEGIN was never sent ran nothing, and a read session's
        statements committed on their own: nothing to commit, no trip to the thread."""
        if self.begin_pending or not self._idle_in_transaction():
            self.begin_pending = False
            return
        await super().commit()

    async def rollback(self) -> None:
        if self.begin_pending or not self._idle_in_transaction():
            self.begin_pending = False
            return
        await super().rollback()

    def _idle_in_transaction(self) -> bool:
        """Whether SQLite holds a transaction open; read between statements, when the
        connection's thread is not running one."""
        return self._conn is None or self._conn.in_transaction


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """Like aiosqlite.connect, for SQLAlchemy's aiosqlite dialect to await and adapt."""
    return OneTripConnection(partial(sqlite3.connect, database, **kwargs))
