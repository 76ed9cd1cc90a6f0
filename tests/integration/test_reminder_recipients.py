"""Who the sweep's notices reach when no order started them, for a whole batch at once; and
the reminder schedule given to subscriptions already running when reminders came."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy import select

from core.access import Actor
from core.clock import parse_iso
from core.db import create_engine
from core.migrate import upgrade
from core.model import Member, Workspace
from core.services.context import Context
from core.services.recipients import Recipient, billing_admin_chats, billing_admin_chats_of
from core.services.workspaces import create_workspace
from core.states import Role
from tests.conftest import START
from tests.integration.test_migrations import (  # noqa: F401 (fixtures)
    empty_database,
    postgres_url,
    sqlite_url,
)


async def _member(ctx: Context, workspace_id: int, platform: str, user: str, role: Role) -> None:
    async with ctx.db.unit_of_work() as session:
        session.add(
            Member(
                workspace_id=workspace_id,
                platform=platform,
                user_id=user,
                role=role,
                created_at=START,
            )
        )


async def test_the_bulk_lookup_gives_each_workspace_its_reachable_billing_admins(
    ctx: Context,
) -> None:
    first = await create_workspace(ctx, Actor("telegram", "10"), "First")
    second = await create_workspace(ctx, Actor("slack", "U20"), "Second")
    nobody = await create_workspace(ctx, Actor("web", "w30"), "Nobody")
    await _member(ctx, first, "slack", "U11", Role.ADMIN)
    await _member(ctx, first, "telegram", "12", Role.MEMBER)
    await _member(ctx, second, "console", "local", Role.ADMIN)
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            sa.update(Workspace).where(Workspace.id == second).values(external_id="T2")
        )

    async with ctx.db.read() as session:
        found = await billing_admin_chats_of(session, [first, second, nobody, first])
        one_by_one = {w: await billing_admin_chats(session, w) for w in (first, second)}

    assert found == {
        first: [Recipient("telegram", "10"), Recipient("slack", "U11")],
        second: [Recipient("slack", "U20"), Recipient("console", "T2:local")],
    }
    assert found == one_by_one
    async with ctx.db.read() as session:
        assert await billing_admin_chats_of(session, []) == {}
        assert await billing_admin_chats(session, nobody) == []


_WORKSPACES = sa.table(
    "workspaces",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("timezone", sa.String()),
    sa.column("currency", sa.String()),
    sa.column("credit_balance", sa.BigInteger()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("reminders_on", sa.Boolean()),
    sa.column("receipts_on", sa.Boolean()),
)
_SUBSCRIPTIONS = sa.table(
    "subscriptions",
    sa.column("id", sa.Integer()),
    sa.column("workspace_id", sa.Integer()),
    sa.column("package", sa.String()),
    sa.column("quantity", sa.Integer()),
    sa.column("cycle_months", sa.Integer()),
    sa.column("state", sa.String()),
    sa.column("registered_at", sa.DateTime(timezone=True)),
    sa.column("anchor_months", sa.Integer()),
    sa.column("cancel_at_period_end", sa.Boolean()),
    sa.column("terms_version", sa.Integer()),
    sa.column("due_at", sa.DateTime(timezone=True)),
    sa.column("remind_at", sa.DateTime(timezone=True)),
)


async def test_migration_0013_gives_running_subscriptions_a_reminder_look(
    empty_database: str,  # noqa: F811 (the fixture imported above)
) -> None:
    await asyncio.to_thread(upgrade, empty_database, "0012")
    due = parse_iso("2026-03-01T00:00:00Z")
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(_WORKSPACES).values(
                    id=1,
                    name="Old",
                    timezone="UTC",
                    currency="USD",
                    credit_balance=0,
                    created_at=START,
                    reminders_on=True,
                    receipts_on=True,
                )
            )
            common = {
                "workspace_id": 1,
                "quantity": 2,
                "cycle_months": 1,
                "registered_at": START,
                "anchor_months": 1,
                "cancel_at_period_end": False,
                "terms_version": 1,
            }
            await connection.execute(
                sa.insert(_SUBSCRIPTIONS),
                [
                    {**common, "id": 1, "package": "cc1", "state": "active", "due_at": due},
                    {**common, "id": 2, "package": "cc2", "state": "trial", "due_at": due},
                    {**common, "id": 3, "package": "cc3", "state": "inactive", "due_at": None},
                ],
            )
        await asyncio.to_thread(upgrade, empty_database)
        async with engine.connect() as connection:
            rows = dict(
                (
                    await connection.execute(
                        select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.remind_at).order_by(
                            _SUBSCRIPTIONS.c.id
                        )
                    )
                )
                .tuples()
                .all()
            )
    finally:
        await engine.dispose()
    assert rows[1] is not None and rows[2] is not None
    assert rows[3] is None
