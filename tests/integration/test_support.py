"""Support changes to one subscription: extend a trial, cancel now, grant accounts, each
previewed, confirmed once with a reason and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest
from core.model import AuditEntry
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.staff.changes import preview
from core.services.staff.requests import Cancel, Extend, Grant, ReasonCode, RefundMode
from core.services.subscriptions import start_trial
from core.services.sweep import sweep
from tests.integration.helpers import buy, order, subscription
from tests.integration.staff import MANAGER, change, run


async def last_audit(ctx: Context) -> AuditEntry:
    async with ctx.db.read() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        return entry


async def test_extending_a_trial_moves_its_end_and_the_sweep_respects_it(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    await change(
        ctx, Extend(workspace_id, sub_id, 7), reason=ReasonCode.OTHER, comment="pilot week"
    )
    entry = await last_audit(ctx)
    assert (entry.action, entry.actor, entry.actor_tier) == (
        "staff.extend",
        "slack:U-support",
        "manager",
    )
    assert (entry.reason_code, entry.comment) == ("other", "pilot week")
    assert entry.before is not None and entry.after is not None
    assert entry.before["trial_end"] != entry.after["trial_end"]
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
    await run(ctx, Cancel(workspace_id, sub.id, RefundMode.NONE))
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.state, sub.inactive_reason) == ("inactive", "cancelled")
    assert (await order(ctx, pending.reference)).status == "cancelled"
    with pytest.raises(Conflict):
        await preview(ctx, MANAGER, Cancel(workspace_id, sub.id, RefundMode.NONE))


async def test_granting_accounts_changes_the_quantity_within_bounds(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    await run(ctx, Grant(workspace_id, sub.id, 3))
    assert (await subscription(ctx, workspace_id, "cc1")).quantity == 8
    await run(ctx, Grant(workspace_id, sub.id, -2))
    assert (await subscription(ctx, workspace_id, "cc1")).quantity == 6
    with pytest.raises(InvalidRequest, match="1 to 1000"):
        await preview(ctx, MANAGER, Grant(workspace_id, sub.id, -6))
    with pytest.raises(InvalidRequest, match="other"):
        await change(ctx, Grant(workspace_id, sub.id, 1), reason=ReasonCode.OTHER, comment="  ")
    assert (await subscription(ctx, workspace_id, "cc1")).quantity == 6
