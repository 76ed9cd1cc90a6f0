"""Migration 0012 keeps every row: workspaces gain their notice settings in place (a rebuilt
table would cascade-delete members and subscriptions on SQLite), and the outbox's old rows
get their key and a state from whether they were delivered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import column, insert, select, table

from core.db import create_engine
from core.migrate import upgrade
from core.model import Member, OutboxNotice, Subscription, UTCDateTime, Workspace
from core.states import NoticeState
from tests.integration.test_migrations import (  # noqa: F401 (fixtures)
    empty_database,
    postgres_url,
    sqlite_url,
)

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _old(name: str, *names: str) -> object:
    """A table as migration 0011 left it: only the columns named, times as planbot stores them."""
    times = {"created_at", "delivered_at", "registered_at"}
    return table(name, *(column(n, UTCDateTime()) if n in times else column(n) for n in names))


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(
                    _old(
                        "workspaces",
                        "id",
                        "name",
                        "timezone",
                        "currency",
                        "credit_balance",
                        "created_at",
                    )
                ),
                [
                    {
                        "id": 1,
                        "name": "Old",
                        "timezone": "UTC",
                        "currency": "USD",
                        "credit_balance": 0,
                        "created_at": AT,
                    }
                ],
            )
            await connection.execute(
                insert(
                    _old("members", "workspace_id", "platform", "user_id", "role", "created_at")
                ),
                [
                    {
                        "workspace_id": 1,
                        "platform": "telegram",
                        "user_id": "7",
                        "role": "owner",
                        "created_at": AT,
                    }
                ],
            )
            await connection.execute(
                insert(
                    _old(
                        "subscriptions",
                        "workspace_id",
                        "package",
                        "quantity",
                        "cycle_months",
                        "state",
                        "registered_at",
                        "anchor_months",
                        "cancel_at_period_end",
                        "terms_version",
                    )
                ),
                [
                    {
                        "workspace_id": 1,
                        "package": "cc1",
                        "quantity": 5,
                        "cycle_months": 1,
                        "state": "trial",
                        "registered_at": AT,
                        "anchor_months": 0,
                        "cancel_at_period_end": False,
                        "terms_version": 1,
                    }
                ],
            )
            await connection.execute(
                insert(
                    _old(
                        "outbox",
                        "kind",
                        "workspace_id",
                        "chat_platform",
                        "chat_id",
                        "data",
                        "created_at",
                        "delivered_at",
                    )
                ),
                [
                    {
                        "kind": "payment.succeeded",
                        "workspace_id": 1,
                        "chat_platform": "telegram",
                        "chat_id": "7",
                        "data": "{}",
                        "created_at": AT,
                        "delivered_at": AT,
                    },
                    {
                        "kind": "trial.ended",
                        "workspace_id": 1,
                        "chat_platform": "telegram",
                        "chat_id": "7",
                        "data": "{}",
                        "created_at": AT,
                        "delivered_at": None,
                    },
                ],
            )
    finally:
        await engine.dispose()


async def test_upgrading_from_0011_keeps_every_row_and_settles_the_old_notices(
    empty_database: str,  # noqa: F811 (the fixture imported above)
) -> None:
    await asyncio.to_thread(upgrade, empty_database, "0011")
    await _seed(empty_database)

    await asyncio.to_thread(upgrade, empty_database)

    engine = create_engine(empty_database)
    try:
        async with engine.connect() as connection:
            workspace = (await connection.execute(select(Workspace.__table__))).one()
            members = (await connection.execute(select(Member.__table__))).all()
            subscriptions = (await connection.execute(select(Subscription.__table__))).all()
            notices = (
                await connection.execute(select(OutboxNotice.__table__).order_by("id"))
            ).all()
    finally:
        await engine.dispose()
    assert (len(members), len(subscriptions)) == (1, 1)
    assert (workspace.reminders_on, workspace.receipts_on) == (True, True)
    assert (workspace.quiet_from, workspace.quiet_until) == (22 * 60, 7 * 60)
    assert [n.state for n in notices] == [NoticeState.SENT, NoticeState.PENDING]
    assert [n.due_at for n in notices] == [AT, AT]
    assert [n.send_after for n in notices] == [AT, AT]
    assert len({n.subject for n in notices}) == 2
