"""The time-driven sweep: trial ends, period ends, renewals, grace ends and order expiry.

Idempotent, and safe in several processes at once: rows are claimed in batches with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.access import Actor
from core.clock import format_iso
from core.model import (
    InactiveReason,
    Order,
    OrderKind,
    OrderStatus,
    Subscription,
    SubscriptionState,
    Workspace,
)
from core.periods import add_months
from core.ports import CheckoutRequest, Notice, OffSessionCharge, OffSessionCharger
from core.pricing import price_per_account
from core.services.context import Context, audit, get_workspace
from core.services.fulfilment import fulfil
from core.services.orders import attach_checkout, checkout_request, new_reference
from core.services.payments import apply_payment

SYSTEM = Actor.system()


@dataclass
class SweepReport:
    counts: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


async def sweep(ctx: Context, at: datetime | None = None, batch_size: int = 500) -> SweepReport:
    """Run every transition due at `at` (default: now) once."""
    now = at or ctx.clock.now()
    report = SweepReport()
    while True:
        notices: list[Notice] = []
        renewals: list[Order] = []
        async with ctx.db.unit_of_work() as session:
            stmt = (
                select(Subscription)
                .join(Workspace, Workspace.id == Subscription.workspace_id)
                .where(
                    Subscription.due_at <= now,
                    Subscription.state != SubscriptionState.INACTIVE.value,
                )
                .order_by(Subscription.due_at, Subscription.id)
                .limit(batch_size)
            )
            if ctx.db.is_postgres:
                # Claim each subscription with its workspace in one go: a use case locks the
                # workspace first, so the sweep must never hold a subscription and wait for it.
                stmt = stmt.with_for_update(skip_locked=True, of=[Subscription, Workspace])
            batch = list(await session.scalars(stmt))
            for sub in batch:
                await _step(ctx, session, sub, now, report, notices, renewals)
            checkouts = [
                (order, checkout_request(ctx, order, ""))
                for order in renewals
                if order.status == OrderStatus.PENDING.value
            ]
        if isinstance(ctx.gateway, OffSessionCharger):
            # The chat hears how the charge went instead of "renewal due".
            charged = {order.subscription_id for order, _ in checkouts}
            notices = [
                n
                for n in notices
                if n.kind != "renewal.due" or n.data.get("subscription_id") not in charged
            ]
        await ctx.send(notices)
        if ctx.gateway is not None:
            for order, request in checkouts:
                await _collect_renewal(ctx, order, request, report)
        if not batch:
            break
    await _expire_orders(ctx, now, report)
    return report


async def _collect_renewal(
    ctx: Context, order: Order, request: CheckoutRequest, report: SweepReport
) -> None:
    """Charge the saved payment method off-session; if that fails, hand out a payment link."""
    gateway = ctx.gateway
    assert gateway is not None
    failed: str | None = None
    if isinstance(gateway, OffSessionCharger):
        result = await gateway.charge_off_session(
            OffSessionCharge(
                order_reference=order.reference,
                # One key per renewal order: a retry of this charge can never charge twice.
                idempotency_key=f"charge:{order.idempotency_key}",
                workspace_id=order.workspace_id,
                amount=order.due_now,
                currency=order.currency,
                description=f"{request.package_name}, {order.cycle_months} months, "
                f"{order.quantity} accounts (renewal {order.reference})",
            )
        )
        if result.succeeded and result.payment_id is not None:
            await apply_payment(
                ctx,
                provider=gateway.name,
                provider_payment_id=result.payment_id,
                order_reference=order.reference,
                amount=result.amount,
                currency=result.currency,
            )
            report.counts["renewal.charged_off_session"] += 1
            return
        if result.attempted:
            report.counts["renewal.charge_failed"] += 1
            failed = result.reason or "the saved payment method was declined"
    await attach_checkout(ctx, order, request)
    if isinstance(gateway, OffSessionCharger):
        kind = "renewal.due" if failed is None else "renewal.charge_failed"
        await ctx.send(
            [
                Notice(
                    kind,
                    order.workspace_id,
                    order.chat_platform,
                    order.chat_id,
                    {
                        "subscription_id": order.subscription_id,
                        "package": order.package,
                        "order": order.reference,
                        "link": order.payment_link,
                        "reason": failed,
                    },
                )
            ]
        )


async def _step(
    ctx: Context,
    session: AsyncSession,
    sub: Subscription,
    now: datetime,
    report: SweepReport,
    notices: list[Notice],
    renewals: list[Order],
) -> None:
    before = lifecycle.snapshot(sub)
    chat = await _last_chat(session, sub.id)
    if sub.state == SubscriptionState.TRIAL.value:
        lifecycle.deactivate(sub, InactiveReason.TRIAL_EXPIRED)
        event = "trial.ended"
    elif sub.grace_until is not None:
        lifecycle.deactivate(sub, InactiveReason.LAPSED)
        await session.execute(
            update(Order)
            .where(Order.subscription_id == sub.id, Order.status == OrderStatus.PENDING.value)
            .values(
                status=OrderStatus.EXPIRED.value, closed_at=now, close_reason="grace period ended"
            )
        )
        event = "subscription.suspended"
    elif sub.cancel_at_period_end:
        lifecycle.deactivate(sub, InactiveReason.CANCELLED)
        event = "subscription.ended"
    else:
        order = await _renewal_order(ctx, session, sub, now, chat)
        renewals.append(order)
        event = "renewal.charged" if order.status == OrderStatus.PAID.value else "renewal.due"
    report.counts[event] += 1
    audit(
        session,
        at=now,
        workspace_id=sub.workspace_id,
        subscription_id=sub.id,
        actor=SYSTEM,
        action=f"sweep.{event}",
        before=before,
        after=lifecycle.snapshot(sub),
    )
    notices.append(
        Notice(
            event,
            sub.workspace_id,
            chat[0],
            chat[1],
            {"subscription_id": sub.id, "package": sub.package},
        )
    )


async def _renewal_order(
    ctx: Context,
    session: AsyncSession,
    sub: Subscription,
    now: datetime,
    chat: tuple[str | None, str | None],
) -> Order:
    """P8: the terms then in force, the balance applied, grace until paid (or paid by balance)."""
    assert sub.period_end is not None and sub.anchor_at is not None
    terms = lifecycle.renewal_terms(sub)
    if terms.package != sub.package and await _held_elsewhere(session, sub, terms.package):
        # The package scheduled for this renewal became active on its own meanwhile: one
        # subscription per package, so the current terms renew and the schedule is dropped.
        terms = sub.terms
        sub.scheduled_package = sub.scheduled_quantity = sub.scheduled_cycle_months = None
    price = price_per_account(ctx.catalog, terms.package, terms.cycle_months).minor
    total = price * terms.quantity
    workspace = await get_workspace(session, sub.workspace_id, lock=True)
    applied = min(workspace.credit_balance, total)
    lifecycle.mark_overdue(sub, ctx.catalog.grace_days)
    assert sub.grace_until is not None
    order = Order(
        reference=new_reference(),
        # One renewal per period: anchor_months restarts when a new paid period starts.
        idempotency_key=f"renewal:{sub.id}:{format_iso(sub.period_end)}",
        workspace_id=sub.workspace_id,
        subscription_id=sub.id,
        base_version=sub.terms_version,
        kind=OrderKind.RENEWAL.value,
        status=OrderStatus.PENDING.value,
        package=terms.package,
        cycle_months=terms.cycle_months,
        new_quantity=terms.quantity,
        quantity=terms.quantity,
        currency=ctx.catalog.currency,
        price_per_account=price,
        total=total,
        proration=0,
        credit=0,
        balance_applied=applied,
        due_now=total - applied,
        balance_after=workspace.credit_balance - applied,
        period_start=sub.period_end,
        period_end=add_months(sub.anchor_at, sub.anchor_months + terms.cycle_months),
        chat_platform=chat[0],
        chat_id=chat[1],
        placed_by=SYSTEM.label,
        created_at=now,
        expires_at=sub.grace_until,
    )
    session.add(order)
    await session.flush()
    if order.due_now == 0:
        order.provider = "balance"
        await fulfil(session, order, workspace, now, SYSTEM)
    return order


async def _held_elsewhere(session: AsyncSession, sub: Subscription, package: str) -> bool:
    other = await session.scalar(
        select(Subscription.id).where(
            Subscription.workspace_id == sub.workspace_id,
            Subscription.package == package,
            Subscription.state == SubscriptionState.ACTIVE.value,
            Subscription.id != sub.id,
        )
    )
    return other is not None


async def _last_chat(session: AsyncSession, subscription_id: int) -> tuple[str | None, str | None]:
    row = (
        await session.execute(
            select(Order.chat_platform, Order.chat_id)
            .where(Order.subscription_id == subscription_id, Order.chat_id.is_not(None))
            .order_by(Order.id.desc())
            .limit(1)
        )
    ).first()
    return (None, None) if row is None else (row[0], row[1])


async def _expire_orders(ctx: Context, now: datetime, report: SweepReport) -> None:
    """P9: pending orders past their validity lapse, and their links are withdrawn."""
    async with ctx.db.unit_of_work() as session:
        stmt = select(Order).where(
            Order.status == OrderStatus.PENDING.value,
            Order.kind != OrderKind.RENEWAL.value,
            Order.expires_at <= now,
        )
        if ctx.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        expired = list(await session.scalars(stmt))
        for order in expired:
            order.status, order.closed_at, order.close_reason = (
                OrderStatus.EXPIRED.value,
                now,
                "quote validity ended",
            )
        if expired:
            report.counts["order.expired"] += len(expired)
    if ctx.gateway is not None:
        for order in expired:
            if order.provider_reference:
                await ctx.gateway.cancel_checkout(order.provider_reference)
