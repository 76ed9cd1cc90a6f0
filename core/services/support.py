"""Support-staff operations: each needs a reason and is audited with actor and reason."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from core import lifecycle
from core.access import Action, Actor
from core.errors import Conflict, InvalidRequest
from core.model import InactiveReason, Subscription, SubscriptionState
from core.services.changes import Change, subscription_change
from core.services.context import Context
from core.services.subscriptions import cancel_open_orders, withdraw_links


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidRequest("Give a reason: it goes into the audit log.")
    return reason.strip()


async def extend_trial(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, days: int, reason: str
) -> Subscription:
    if not 1 <= days <= 365:
        raise InvalidRequest("Extend a trial by 1 to 365 days.")
    async with _support_change(
        ctx, staff, workspace_id, subscription_id, "extend_trial", reason
    ) as change:
        sub = change.subscription
        if sub.state != SubscriptionState.TRIAL or sub.trial_ends_at is None:
            raise Conflict("Only a running trial can be extended.")
        sub.trial_ends_at += timedelta(days=days)
        lifecycle.refresh_due_at(sub)
        return sub


async def cancel_now(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, reason: str
) -> Subscription:
    """Immediate cancellation; a refund, if any, goes through the payment provider separately."""
    async with _support_change(
        ctx, staff, workspace_id, subscription_id, "cancel_now", reason
    ) as change:
        sub = change.subscription
        if sub.state == SubscriptionState.INACTIVE:
            raise Conflict("This subscription is already inactive.")
        lifecycle.deactivate(sub, InactiveReason.CANCELLED)
        closed = await cancel_open_orders(
            change.session, sub.id, change.now, "cancelled by support"
        )
    await withdraw_links(ctx, closed)
    return sub


async def grant_accounts(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, delta: int, reason: str
) -> Subscription:
    """Add (or with a negative delta, remove) accounts without charge."""
    async with _support_change(
        ctx, staff, workspace_id, subscription_id, "grant_accounts", reason
    ) as change:
        sub = change.subscription
        package = ctx.catalog.package(sub.package)
        new_quantity = sub.quantity + delta
        if delta == 0 or not package.min_quantity <= new_quantity <= package.max_quantity:
            raise InvalidRequest(
                "The result must be from {low} to {high} accounts, and different from {n}.",
                low=package.min_quantity,
                high=package.max_quantity,
                n=sub.quantity,
            )
        if sub.state == SubscriptionState.INACTIVE:
            raise Conflict("Accounts can only be granted on an Active or Try subscription.")
        lifecycle.add_accounts(sub, new_quantity)
        return sub


def _support_change(
    ctx: Context, staff: Actor, workspace_id: int, subscription_id: int, what: str, reason: str
) -> AbstractAsyncContextManager[Change]:
    return subscription_change(
        ctx,
        staff,
        workspace_id,
        subscription_id,
        permission=Action.SUPPORT,
        action=f"support.{what}",
        reason=_reason(reason),
    )
