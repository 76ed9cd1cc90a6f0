"""Support operations: extend a trial, cancel now, grant accounts — each audited with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor, StaffTier
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest
from core.model import AuditEntry
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.subscriptions import start_trial
from core.services.support import cancel_now, extend_trial, grant_accounts
from core.services.sweep import sweep
from tests.integration.helpers import buy, order, subscription

STAFF = Actor("slack", "U-support", tier=StaffTier.MANAGER)


async def last_audit(ctx: Context) -> AuditEntry:
    async with ctx.db.unit_of_work() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        return entry


async def test_extending_a_trial_moves_its_end_and_the_sweep_respects_it(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    await extend_trial(ctx, STAFF, workspace_id, sub_id, 7, "pilot needs another week")
    entry = await last_audit(ctx)
    assert (entry.action, entry.actor, entry.reason) == (
        "support.extend_trial",
        "slack:U-support",
        "pilot needs another week",
    )
    assert entry.before is not None and entry.after is not None
    assert entry.before["trial_ends_at"] != entry.after["trial_ends_at"]
    clock.advance(timedelta(days=14))
    assert (await sweep(ctx))["trial.ended"] == 0
    clock.advance(timedelta(days=7))
    assert (await sweep(ctx))["trial.ended"] == 1


async def test_cancel_now_ends_at_once_and_cancels_open_orders(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    pending = await place_order(ctx, owner, workspace_id, Terms("cc1", 12, 8))
    await cancel_now(ctx, STAFF, workspace_id, sub.id, "fraud check")
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.state, sub.inactive_reason) == ("inactive", "cancelled")
    assert (await order(ctx, pending.reference)).status == "cancelled"
    with pytest.raises(Conflict):
        await cancel_now(ctx, STAFF, workspace_id, sub.id, "again")


async def test_granting_accounts_changes_the_quantity_within_bounds(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    await grant_accounts(ctx, STAFF, workspace_id, sub.id, 3, "compensation")
    assert (await subscription(ctx, workspace_id, "cc1")).quantity == 8
    await grant_accounts(ctx, STAFF, workspace_id, sub.id, -2, "correction")
    assert (await subscription(ctx, workspace_id, "cc1")).quantity == 6
    with pytest.raises(InvalidRequest, match="1 to 1000"):
        await grant_accounts(ctx, STAFF, workspace_id, sub.id, -6, "too many")
    with pytest.raises(InvalidRequest, match="reason"):
        await grant_accounts(ctx, STAFF, workspace_id, sub.id, 1, "  ")
