"""SQLite statements take one hand-off each to the driver's thread, with unchanged results.

The one-trip cursor (core.sqlite_driver) replaces aiosqlite's open/execute/fetch/close
round trips; these tests hold it to what SQLAlchemy relies on: rows, row counts for the
optimistic version check, inserted ids, errors, and one hand-off per statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core.db import Database
from core.model import Base, Conversation
from core.sqlite_driver import OneTripConnection

NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every hand-off to a connection's thread, named by what it ran."""
    seen: list[str] = []
    hand_off = OneTripConnection._execute

    async def counted(
        self: OneTripConnection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        seen.append(getattr(fn, "__name__", None) or str(getattr(fn, "args", ("?", "?"))[1]))
        return await hand_off(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    return seen


def conversation(chat: str) -> Conversation:
    return Conversation(
        platform="console", chat_id=chat, user_id="u", data={}, history=[], updated_at=NOW
    )


async def test_a_read_and_a_versioned_write_take_one_hand_off_per_statement(
    sqlite_db: Database, trips: list[str]
) -> None:
    async with sqlite_db.unit_of_work() as session:
        session.add(conversation("c1"))
    trips.clear()
    async with sqlite_db.unit_of_work() as session:
        row = await session.scalar(select(Conversation).where(Conversation.chat_id == "c1"))
        assert row is not None
        row.step = "package"
    # BEGIN IMMEDIATE with the SELECT, UPDATE ... WHERE version = ?, COMMIT
    assert len(trips) == 3
    assert trips[0].startswith("SELECT") and trips[-1] == "commit"
    async with sqlite_db.unit_of_work() as session:
        again = await session.scalar(select(Conversation).where(Conversation.chat_id == "c1"))
        assert again is not None
        assert (again.step, again.version) == ("package", 2)


async def test_a_lost_version_race_still_raises_stale_data(sqlite_db: Database) -> None:
    async with sqlite_db.unit_of_work() as session:
        session.add(conversation("c1"))
    with pytest.raises(StaleDataError):
        async with sqlite_db.unit_of_work() as session:
            row = await session.scalar(select(Conversation))
            assert row is not None
            await session.execute(
                update(Conversation).values(version=Conversation.version + 1),
                execution_options={"synchronize_session": False},
            )
            row.step = "cycle"
    async with sqlite_db.unit_of_work() as session:
        kept = await session.scalar(select(Conversation))
        assert kept is not None
        assert (kept.step, kept.version) == (None, 1)


async def test_row_counts_ids_and_many_rows_come_back(sqlite_db: Database) -> None:
    async with sqlite_db.unit_of_work() as session:
        first = conversation("c0")
        session.add(first)
        await session.flush()
        assert first.id == 1
        await session.execute(
            insert(Conversation),
            [
                {
                    "platform": "console",
                    "chat_id": f"c{n}",
                    "user_id": "u",
                    "data": {},
                    "history": [],
                    "updated_at": NOW,
                }
                for n in range(1, 200)
            ],
        )
        changed = await session.execute(
            update(Conversation).where(Conversation.id > 100).values(step="package")
        )
        assert getattr(changed, "rowcount", None) == 100
        chats = list(await session.scalars(select(Conversation.chat_id).order_by(Conversation.id)))
        assert chats == [f"c{n}" for n in range(200)]


async def test_a_failing_statement_raises_and_rolls_back(sqlite_db: Database) -> None:
    async with sqlite_db.unit_of_work() as session:
        session.add(conversation("c1"))
    with pytest.raises(IntegrityError):
        async with sqlite_db.unit_of_work() as session:
            session.add(conversation("c2"))
            await session.flush()
            session.add(conversation("c1"))
    async with sqlite_db.unit_of_work() as session:
        assert list(await session.scalars(select(Conversation.chat_id))) == ["c1"]
        mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
        assert mode == "wal"


async def test_streamed_results_are_read_in_full(sqlite_db: Database) -> None:
    async with sqlite_db.unit_of_work() as session:
        session.add_all(conversation(f"c{n}") for n in range(5))
    async with sqlite_db.engine.connect() as connection:
        result = await connection.stream(select(Conversation.chat_id).order_by(Conversation.id))
        assert [chat async for chat in result.scalars()] == [f"c{n}" for n in range(5)]


async def test_the_begin_travels_with_the_first_statement_and_holds_the_write_lock(
    sqlite_db: Database, tmp_path: Path, trips: list[str]
) -> None:
    async with sqlite_db.unit_of_work():
        pass
    assert trips == []  # an empty unit of work costs nothing
    other = sqlite3.connect(tmp_path / "planbot.db", timeout=0, isolation_level=None)
    try:
        async with sqlite_db.unit_of_work() as session:
            await session.scalar(select(Conversation.id))
            # Another process's writer now waits for this transaction (BEGIN IMMEDIATE).
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # and gets its turn after the commit
        other.execute("ROLLBACK")
    finally:
        other.close()
