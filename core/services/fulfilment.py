"""Applying a paid order to its subscription: the one path every provider's payment takes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.access import Actor
from core.lifecycle import SubscriptionFields
from core.model import (
    BalanceEntry,
    Order,
    OrderKind,
    Subscription,
    SubscriptionState,
    Workspace,
)
from core.order_lifecycle import NotPayable
from core.order_values import Settlement, SubscriptionStep, settle
from core.services.context import audit, get_workspace, new_subscription
from core.services.sweep_reminders import reschedule


async def subscription_for_package(
    session: AsyncSession, workspace_id: int, package: str, *, lock: bool = False
) -> Subscription | None:
    stmt = select(Subscription).where(
        Subscription.workspace_id == workspace_id, Subscription.package == package
    )
    if lock:
        await get_workspace(session, workspace_id, lock=True)
        stmt = stmt.with_for_update()
    found: Subscription | None = await session.scalar(stmt)
    return found


async def stale_reason(
    session: AsyncSession, order: Order, workspace: Workspace, at: datetime
) -> str | None:
    """Why a paid order can no longer be applied as quoted (None: it still can)."""
    refused = order_lifecycle.payable(order, at)
    if refused is NotPayable.NOT_PENDING:
        return f"the order is {order.status}"
    if refused is NotPayable.EXPIRED:
        return "the order expired before it was paid"
    if order.balance_applied > workspace.credit_balance:
        return "the credit balance the quote used has since been spent"
    target = await subscription_for_package(session, order.workspace_id, order.package, lock=True)
    base = None
    if order.subscription_id is not None:
        base = await session.get(Subscription, order.subscription_id, with_for_update=True)
    if order.kind == OrderKind.NEW:
        if target is not None and target.state == SubscriptionState.ACTIVE:
            return f"{order.package} became active through another order"
        return None
    if base is None or base.terms_version != order.base_version:
        return "the subscription changed after the quote"
    if order.kind == OrderKind.RENEWAL and base.grace_until is None:
        return "the renewal is no longer due"
    if order.kind != OrderKind.RENEWAL and lifecycle.running_period(base, at) is None:
        return "the period the quote was based on is no longer running"
    if target is not None and target.id != base.id and target.state == SubscriptionState.ACTIVE:
        return f"{order.package} became active through another order"
    return None


def move_balance(
    session: AsyncSession,
    workspace: Workspace,
    amount: int,
    reason: str,
    at: datetime,
    *,
    order_id: int | None = None,
    payment_id: int | None = None,
) -> None:
    """Change the credit balance through the ledger, so the balance is always the ledger's sum."""
    if amount == 0:
        return
    workspace.credit_balance += amount
    session.add(
        BalanceEntry(
            workspace_id=workspace.id,
            amount=amount,
            reason=reason,
            order_id=order_id,
            payment_id=payment_id,
            at=at,
        )
    )


async def _subscription_to_change(
    session: AsyncSession, order: Order, at: datetime
) -> Subscription:
    """The row the order applies to; a Try/Inactive row of the target package folds into it."""
    target = await subscription_for_package(session, order.workspace_id, order.package)
    if order.subscription_id is None:
        if target is not None:
            return target
        sub = new_subscription(order.workspace_id, order.terms, at)
        session.add(sub)
        return sub
    base = await session.get(Subscription, order.subscription_id)
    assert base is not None
    if target is not None and target.id != base.id:
        await session.execute(delete(Subscription).where(Subscription.id == target.id))
        await session.flush()
    return base


def step_subscription(sub: SubscriptionFields, settlement: Settlement, paid_at: datetime) -> None:
    """The subscription step a settled order takes, on an ORM row or the sweep's plain row."""
    terms = settlement.terms
    if settlement.step is SubscriptionStep.RENEW:
        lifecycle.renew(sub, terms)
        return
    assert isinstance(sub, Subscription), "only renewals are settled on plain rows"
    if settlement.step is SubscriptionStep.ADD_ACCOUNTS:
        lifecycle.add_accounts(sub, terms.quantity)
    else:
        lifecycle.start_paid_period(sub, terms, paid_at)


async def fulfil(
    session: AsyncSession,
    order: Order,
    workspace: Workspace,
    paid_at: datetime,
    actor: Actor,
    payment_id: int | None = None,
) -> Subscription:
    """Mark the order paid and apply it exactly as quoted (caller checked it is not stale)."""
    sub = await _subscription_to_change(session, order, paid_at)
    await session.flush()
    before = lifecycle.snapshot(sub)
    settlement = settle(order, paid_at)
    step_subscription(sub, settlement, paid_at)
    await reschedule(session, sub, paid_at, f"order {order.reference} paid")
    order.subscription_id = sub.id
    for movement in settlement.movements:
        move_balance(
            session,
            workspace,
            movement.amount,
            movement.reason,
            paid_at,
            order_id=order.id,
            payment_id=payment_id,
        )
    audit(
        session,
        at=paid_at,
        workspace_id=workspace.id,
        subscription_id=sub.id,
        actor=actor,
        action=f"order.{order.kind}",
        before=before,
        after=lifecycle.snapshot(sub),
        order_id=order.id,
        payment_id=payment_id,
    )
    return sub
