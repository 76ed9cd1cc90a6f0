"""Trials, unsubscribe and resume."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.access import Action, Actor
from core.errors import Conflict, InvalidRequest
from core.lifecycle import SubscriptionFields
from core.model import (
    InactiveReason,
    Order,
    OrderStatus,
    Subscription,
    SubscriptionState,
    TrialUse,
)
from core.pricing import Terms, check_terms
from core.services.changes import Change, subscription_change
from core.services.context import Context, audit, authorize, new_subscription
from core.services.fulfilment import subscription_for_package
from core.services.order_notices import addressed, cancellation_notice
from core.services.sweep_reminders import reschedule


async def start_trial(
    ctx: Context, actor: Actor, workspace_id: int, package: str, quantity: int | None = None
) -> int:
    """A Try on a package: once per package per workspace, up to the trial's account limit."""
    now = ctx.clock.now()
    check_terms(ctx.catalog, Terms(package, ctx.catalog.cycles[0].months, 1))
    trial = ctx.catalog.package(package).trial
    quantity = trial.max_accounts if quantity is None else quantity
    if not 1 <= quantity <= trial.max_accounts:
        raise InvalidRequest("A trial has from 1 to {n} accounts.", n=trial.max_accounts)
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, Action.START_TRIAL)
        used = await session.scalar(
            select(TrialUse.id).where(
                TrialUse.workspace_id == workspace_id, TrialUse.package == package
            )
        )
        if used is not None:
            raise Conflict(
                "This workspace has already tried {package}; a trial is once only.",
                package=package,
            )
        sub = await subscription_for_package(session, workspace_id, package, lock=True)
        if sub is not None and sub.state != SubscriptionState.INACTIVE:
            raise Conflict("This workspace already holds {package}.", package=package)
        if sub is None:
            sub = new_subscription(
                workspace_id, Terms(package, ctx.catalog.cycles[0].months, quantity), now
            )
            session.add(sub)
        before = lifecycle.snapshot(sub)
        lifecycle.start_trial(sub, quantity, now, trial.days)
        session.add(TrialUse(workspace_id=workspace_id, package=package, started_at=now))
        await session.flush()
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=sub.id,
            actor=actor,
            action="subscription.start_trial",
            before=before,
            after=lifecycle.snapshot(sub),
        )
        return sub.id


def _require_reason(actor: Actor, reason: str | None) -> None:
    if actor.is_support and not (reason and reason.strip()):
        raise InvalidRequest("Support staff must give a reason.")


async def cancel_open_orders(
    session: AsyncSession, subscription_id: int, at: datetime, why: str
) -> list[str]:
    """Close the subscription's pending orders; returns their payment links' provider
    references, for `withdraw_links` once the change is committed."""
    closed = await session.scalars(
        update(Order)
        .where(
            Order.subscription_id == subscription_id,
            Order.status.in_(order_lifecycle.reached_from(OrderStatus.CANCELLED)),
        )
        .values(order_lifecycle.closing(OrderStatus.CANCELLED, at, why).columns())
        .returning(Order.provider_reference)
    )
    return [reference for reference in closed if reference]


async def withdraw_links(ctx: Context, references: list[str]) -> None:
    """Expire closed orders' checkout pages at the provider, so nobody pays a closed order
    (a payment that still lands is credited to the balance, never lost)."""
    if ctx.gateway is None:
        return
    for reference in references:
        await ctx.gateway.cancel_checkout(reference)


def _unsubscribe_change(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    subscription_id: int,
    what: str,
    reason: str | None,
) -> AbstractAsyncContextManager[Change]:
    """Unsubscribe and resume: billing admins, or support staff giving a reason."""
    _require_reason(actor, reason)
    return subscription_change(
        ctx,
        actor,
        workspace_id,
        subscription_id,
        permission=Action.UNSUBSCRIBE,
        action=f"subscription.{what}",
        reason=reason,
    )


async def unsubscribe(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    subscription_id: int,
    reason: str | None = None,
) -> Subscription:
    """Cancel at period end; a trial or an overdue renewal ends now."""
    async with _unsubscribe_change(
        ctx, actor, workspace_id, subscription_id, "unsubscribe", reason
    ) as change:
        sub = change.subscription
        closed = await end_subscription(change.session, sub, change.now)
        if sub.cancel_at_period_end:
            notice = await cancellation_notice(change.session, sub)
            await ctx.send(await addressed(change.session, [notice]))
    await withdraw_links(ctx, closed)
    return sub


def check_unsubscribe(sub: Subscription) -> None:
    """Refuse to unsubscribe what is not running or is already set to end."""
    if sub.state == SubscriptionState.INACTIVE:
        raise Conflict("This subscription is not active.")
    if sub.cancel_at_period_end:
        raise Conflict("This subscription is already set to end.")


async def end_subscription(session: AsyncSession, sub: Subscription, now: datetime) -> list[str]:
    """Unsubscribe in the caller's unit of work: at period end while a paid period runs, now
    otherwise; returns the closed orders' links for `withdraw_links` after the commit."""
    check_unsubscribe(sub)
    if lifecycle.running_period(sub, now) is not None:
        sub.cancel_at_period_end = True
        await reschedule(session, sub, now, "set to end at its period end")
        return []
    lifecycle.deactivate(sub, InactiveReason.CANCELLED)
    await reschedule(session, sub, now, "unsubscribed")
    return await cancel_open_orders(session, sub.id, now, "unsubscribed")


async def resume(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    subscription_id: int,
    reason: str | None = None,
) -> Subscription:
    """Take an unsubscribe back while the period still runs."""
    async with _unsubscribe_change(
        ctx, actor, workspace_id, subscription_id, "resume", reason
    ) as change:
        take_back_unsubscribe(change.subscription, change.now)
        return change.subscription


def take_back_unsubscribe(sub: SubscriptionFields, now: datetime) -> None:
    """Resume in the caller's unit of work, while the period it was to end with still runs."""
    if not sub.cancel_at_period_end or lifecycle.running_period(sub, now) is None:
        raise Conflict("Only a subscription set to end at its period end can be resumed.")
    sub.cancel_at_period_end = False
    lifecycle.refresh_remind_at(sub)
