"""The audit trail's MRR terms: every path that writes a subscription's snapshots keeps them,
and migration 0011 fills them for the entries written before it, as `audit_values` would."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import column, insert, select, table

from core import lifecycle
from core.access import Actor
from core.clock import FixedClock
from core.db import create_engine
from core.migrate import upgrade
from core.model import AuditEntry, UTCDateTime, Workspace
from core.mrr import SnapshotTerms, snapshot_terms
from core.pricing import Terms
from core.services.context import Context, audit_values, new_subscription
from core.services.subscriptions import start_trial
from core.services.sweep import sweep
from tests.conftest import START
from tests.integration.helpers import buy, subscription
from tests.integration.test_migrations import (  # noqa: F401 (fixtures)
    empty_database,
    postgres_url,
    sqlite_url,
)

ACTIVE = lifecycle.snapshot(new_subscription(1, Terms("cc2", 12, 100), START))
ACTIVE.update(state="active", inactive_reason=None)
TRIAL = {**ACTIVE, "state": "trial", "quantity": 10}
ENDED = {**ACTIVE, "state": "inactive", "inactive_reason": "lapsed"}
TERMS = ("active_terms_before", "accounts_before", "active_terms_after", "accounts_after")


def test_a_snapshot_gives_its_terms_while_active_and_its_accounts_always() -> None:
    assert snapshot_terms(ACTIVE) == SnapshotTerms("cc2/12", 100)
    assert snapshot_terms(TRIAL) == SnapshotTerms(None, 10)
    assert snapshot_terms(ENDED) == SnapshotTerms(None, 100)
    for other in (None, {}, {"refundable": 5}, {"member": "x", "role": "admin"}):
        assert snapshot_terms(other) is None


async def terms_of(ctx: Context) -> list[tuple[str, tuple[Any, ...]]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.action, tuple(getattr(row, name) for name in TERMS)) for row in rows]


async def test_the_use_cases_and_the_sweep_keep_the_terms(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await start_trial(ctx, owner, workspace_id, "cc1")
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 4))
    clock.advance(timedelta(days=14))
    await sweep(ctx)
    assert (await subscription(ctx, workspace_id, "cc1")).state == "inactive"
    assert await terms_of(ctx) == [
        ("workspace.create", (None, None, None, None)),
        ("subscription.start_trial", (None, 10, None, 10)),
        ("order.new", (None, 4, "cc2/1", 4)),
        ("sweep.trial.ended", (None, 10, None, 10)),
    ]


_OLD_WORKSPACES = table(
    "workspaces",
    *(column(name) for name in ("id", "name", "timezone", "currency", "credit_balance")),
    column("created_at", UTCDateTime()),
)


async def test_migration_0011_fills_the_terms_of_earlier_entries(
    empty_database: str,  # noqa: F811 (the fixture imported above)
) -> None:
    await asyncio.to_thread(upgrade, empty_database, "0010")
    entries = [
        (ACTIVE, ACTIVE),
        (TRIAL, ACTIVE),
        (ACTIVE, ENDED),
        (None, TRIAL),
        ({"refundable": 5}, {"refundable": 0}),
        (None, None),
    ]
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                # The workspace as migration 0010 had it (the model's later columns have defaults).
                insert(_OLD_WORKSPACES).values(
                    id=1,
                    name="Old",
                    timezone="UTC",
                    currency="USD",
                    credit_balance=0,
                    created_at=START,
                )
            )
            columns = (
                "at",
                "workspace_id",
                "subscription_id",
                "actor",
                "action",
                "before",
                "after",
            )
            await connection.execute(
                Workspace.metadata.tables["audit_entries"].insert(),
                [
                    dict(zip(columns, (START, 1, 1, "system", "old", before, after), strict=True))
                    for before, after in entries
                ],
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, empty_database)

    engine = create_engine(empty_database)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(*(AuditEntry.__table__.c[name] for name in TERMS)).order_by(AuditEntry.id)
            )
            filled = [tuple(row) for row in rows]
    finally:
        await engine.dispose()
    expected = [
        tuple(
            audit_values(
                at=START, workspace_id=1, actor=Actor.system(), action="x", before=b, after=a
            )[name]
            for name in TERMS
        )
        for b, a in entries
    ]
    assert filled == expected
    assert expected[:3] == [
        ("cc2/12", 100, "cc2/12", 100),
        (None, 10, "cc2/12", 100),
        ("cc2/12", 100, None, 100),
    ]
