"""Section 4: who may do what, refused with a message that says who can, changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.access import Actor, StaffTier
from core.errors import InvalidRequest, NotAllowed
from core.model import AuditEntry, Order, Role
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order, schedule_downgrade
from core.services.queries import subscription_details
from core.services.staff.changes import preview
from core.services.staff.requests import Cancel, Extend, Grant, RefundMode
from core.services.subscriptions import resume, start_trial, unsubscribe
from core.services.workspaces import add_member
from tests.integration.helpers import buy, subscription

MEMBER = Actor("telegram", "2002")
ADMIN = Actor("telegram", "3003")
OUTSIDER = Actor("telegram", "9009")
STAFF = Actor("slack", "U-support", tier=StaffTier.MANAGER)


@pytest.fixture
async def team(ctx: Context, owner: Actor, workspace_id: int) -> int:
    await add_member(ctx, owner, workspace_id, MEMBER, Role.MEMBER)
    await add_member(ctx, owner, workspace_id, ADMIN, Role.ADMIN)
    return workspace_id


async def audit_count(ctx: Context) -> int:
    async with ctx.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_a_member_cannot_buy_and_is_told_who_can(ctx: Context, team: int) -> None:
    before = await audit_count(ctx)
    with pytest.raises(NotAllowed, match="billing admins"):
        await place_order(ctx, MEMBER, team, Terms("cc2", 12, 10))
    assert await audit_count(ctx) == before
    async with ctx.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0


async def test_an_admin_can_buy_and_a_member_can_see_the_details(ctx: Context, team: int) -> None:
    await buy(ctx, ADMIN, team, Terms("cc2", 12, 10))
    details = await subscription_details(ctx, MEMBER, team)
    assert [v.package.code for v in details.subscriptions] == ["cc2"]


async def test_members_cannot_start_trials_unsubscribe_or_schedule(
    ctx: Context, owner: Actor, team: int
) -> None:
    await buy(ctx, owner, team, Terms("cc2", 12, 10))
    sub = await subscription(ctx, team, "cc2")
    with pytest.raises(NotAllowed):
        await start_trial(ctx, MEMBER, team, "cc1")
    with pytest.raises(NotAllowed):
        await unsubscribe(ctx, MEMBER, team, sub.id)
    with pytest.raises(NotAllowed):
        await schedule_downgrade(ctx, MEMBER, team, sub.id, Terms("cc2", 12, 5))


async def test_an_outsider_sees_no_details(ctx: Context, team: int) -> None:
    with pytest.raises(NotAllowed, match="members of this workspace"):
        await subscription_details(ctx, OUTSIDER, team)


async def test_support_staff_see_any_workspace_and_unsubscribe_only_with_a_reason(
    ctx: Context, owner: Actor, team: int
) -> None:
    await buy(ctx, owner, team, Terms("cc2", 12, 10))
    sub = await subscription(ctx, team, "cc2")
    assert (await subscription_details(ctx, STAFF, team)).subscriptions[0].id == sub.id
    with pytest.raises(InvalidRequest, match="reason"):
        await unsubscribe(ctx, STAFF, team, sub.id)
    await unsubscribe(ctx, STAFF, team, sub.id, reason="customer asked by email")
    await resume(ctx, STAFF, team, sub.id, reason="customer changed their mind")
    async with ctx.db.unit_of_work() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor == "slack:U-support")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.action, e.reason) for e in entries] == [
        ("subscription.unsubscribe", "customer asked by email"),
        ("subscription.resume", "customer changed their mind"),
    ]


async def test_support_staff_cannot_buy(ctx: Context, team: int) -> None:
    with pytest.raises(NotAllowed):
        await place_order(ctx, STAFF, team, Terms("cc1", 1, 1))


async def test_only_support_staff_run_support_operations(
    ctx: Context, owner: Actor, team: int
) -> None:
    trial_id = await start_trial(ctx, owner, team, "cc1")
    with pytest.raises(NotAllowed, match="support staff"):
        await preview(ctx, owner, Extend(team, trial_id, 7))
    with pytest.raises(NotAllowed):
        await preview(ctx, ADMIN, Grant(team, trial_id, 1))
    with pytest.raises(NotAllowed):
        await preview(ctx, MEMBER, Cancel(team, trial_id, RefundMode.NONE))


async def test_only_the_owner_adds_members(ctx: Context, team: int) -> None:
    with pytest.raises(NotAllowed, match="owner"):
        await add_member(ctx, ADMIN, team, Actor("telegram", "4004"), Role.MEMBER)
