"""Support-staff operations: each needs a reason and is audited with actor and reason."""

from __future__ import annotations

from datetime import timedelta

from core import lifecycle
from core.access import Action, Actor
from core.errors import Conflict, InvalidRequest
from core.model import InactiveReason, Subscription, SubscriptionState
from core.services.context import Context, audit, authorize, get_subscription
from core.services.subscriptions import cancel_open_orders


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidRequest("Give a reason: it goes into the audit log.")
    return reason.strip()


async def extend_trial(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, days: int, reason: str
) -> Subscription:
    if not 1 <= days <= 365:
        raise InvalidRequest("Extend a trial by 1 to 365 days.")
    reason = _reason(reason)
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, staff, Action.SUPPORT)
        sub = await get_subscription(session, workspace_id, subscription_id, lock=True)
        if sub.state != SubscriptionState.TRIAL.value or sub.trial_ends_at is None:
            raise Conflict("Only a running trial can be extended.")
        before = lifecycle.snapshot(sub)
        sub.trial_ends_at += timedelta(days=days)
        lifecycle.refresh_due_at(sub)
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=sub.id,
            actor=staff,
            action="support.extend_trial",
            before=before,
            after=lifecycle.snapshot(sub),
            reason=reason,
        )
        return sub


async def cancel_now(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, reason: str
) -> Subscription:
    """Immediate cancellation; a refund, if any, goes through the payment provider separately."""
    reason = _reason(reason)
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, staff, Action.SUPPORT)
        sub = await get_subscription(session, workspace_id, subscription_id, lock=True)
        if sub.state == SubscriptionState.INACTIVE.value:
            raise Conflict("This subscription is already inactive.")
        before = lifecycle.snapshot(sub)
        lifecycle.deactivate(sub, InactiveReason.CANCELLED)
        await cancel_open_orders(session, sub.id, now, "cancelled by support")
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=sub.id,
            actor=staff,
            action="support.cancel_now",
            before=before,
            after=lifecycle.snapshot(sub),
            reason=reason,
        )
        return sub


async def grant_accounts(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, delta: int, reason: str
) -> Subscription:
    """Add (or with a negative delta, remove) accounts without charge."""
    reason = _reason(reason)
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, staff, Action.SUPPORT)
        sub = await get_subscription(session, workspace_id, subscription_id, lock=True)
        package = ctx.catalog.package(sub.package)
        new_quantity = sub.quantity + delta
        if delta == 0 or not package.min_quantity <= new_quantity <= package.max_quantity:
            raise InvalidRequest(
                "The result must be from {low} to {high} accounts, and different from {n}.",
                low=package.min_quantity,
                high=package.max_quantity,
                n=sub.quantity,
            )
        if sub.state == SubscriptionState.INACTIVE.value:
            raise Conflict("Accounts can only be granted on an Active or Try subscription.")
        before = lifecycle.snapshot(sub)
        lifecycle.add_accounts(sub, new_quantity)
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=sub.id,
            actor=staff,
            action="support.grant_accounts",
            before=before,
            after=lifecycle.snapshot(sub),
            reason=reason,
        )
        return sub
