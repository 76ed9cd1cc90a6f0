"""The time-driven sweep: trial ends, period ends, renewals, grace ends and order expiry.

Idempotent, and safe in several processes at once: rows are claimed in batches with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from core import lifecycle
from core.access import Actor
from core.clock import format_iso
from core.model import (
    AuditEntry,
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
from core.services.context import Context, audit_values
from core.services.fulfilment import fulfil
from core.services.orders import (
    attach_checkout,
    attach_checkouts,
    checkout_request,
    new_reference,
)
from core.services.outbox import OutboxNotifier
from core.services.payments import apply_payment

SYSTEM = Actor.system()
# What any step may change on a subscription. Every swept row writes all of them, so the
# flush sends one UPDATE for the batch instead of one per differently changed row.
_STEPPED = (
    "cycle_months",
    "quantity",
    "state",
    "inactive_reason",
    "period_start",
    "period_end",
    "anchor_months",
    "cancel_at_period_end",
    "scheduled_package",
    "scheduled_quantity",
    "scheduled_cycle_months",
    "grace_until",
    "due_at",
    "terms_version",
)


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
            batch = await _Batch.claim(ctx, session, list(await session.scalars(stmt)))
            for sub in batch.subscriptions:
                await _step(ctx, session, sub, now, report, batch)
            await batch.write_orders(session)
            await batch.write_audits(session)
            await batch.expire_lapsed_renewals(session, now)
            checkouts = [
                (order, checkout_request(ctx, order, ""))
                for order in batch.renewals
                if order.status == OrderStatus.PENDING.value
            ]
        notices = batch.notices
        if isinstance(ctx.gateway, OffSessionCharger):
            # The chat hears how the charge went instead of "renewal due".
            charged = {order.subscription_id for order, _ in checkouts}
            notices = [
                n
                for n in notices
                if n.kind != "renewal.due" or n.data.get("subscription_id") not in charged
            ]
        if isinstance(ctx.notifier, OutboxNotifier):
            # The whole batch's notices in one statement rather than a transaction each.
            await ctx.notifier.notify_all(notices)
        else:
            await ctx.send(notices)
        if ctx.gateway is not None and checkouts:
            if isinstance(ctx.gateway, OffSessionCharger):
                for order, request in checkouts:
                    await _collect_renewal(ctx, order, request, report)
            else:
                await attach_checkouts(ctx, checkouts)
        if not batch.subscriptions:
            break
    await _expire_orders(ctx, now, report)
    return report


@dataclass
class _Batch:
    """One claimed batch with what its steps read, fetched in a few statements for all."""

    subscriptions: list[Subscription]
    chats: dict[int, tuple[str | None, str | None]]
    workspaces: dict[int, Workspace]
    notices: list[Notice] = field(default_factory=list)
    renewals: list[Order] = field(default_factory=list)
    lapsed: list[int] = field(default_factory=list)
    new_orders: list[tuple[Order, dict[str, Any]]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def claim(
        cls, ctx: Context, session: AsyncSession, subscriptions: list[Subscription]
    ) -> _Batch:
        if not subscriptions:
            return cls([], {}, {})
        ids = [sub.id for sub in subscriptions]
        last = (
            select(func.max(Order.id))
            .where(Order.subscription_id.in_(ids), Order.chat_id.is_not(None))
            .group_by(Order.subscription_id)
        )
        chats: dict[int, tuple[str | None, str | None]] = {
            sub_id: (platform, chat_id)
            for sub_id, platform, chat_id in await session.execute(
                select(Order.subscription_id, Order.chat_platform, Order.chat_id).where(
                    Order.id.in_(last.scalar_subquery())
                )
            )
            if sub_id is not None
        }
        # Already locked with the claim on PostgreSQL; read here once for every renewal.
        stmt = select(Workspace).where(
            Workspace.id.in_({sub.workspace_id for sub in subscriptions})
        )
        if ctx.db.is_postgres:
            stmt = stmt.with_for_update()
        workspaces = {workspace.id: workspace for workspace in await session.scalars(stmt)}
        return cls(subscriptions, chats, workspaces)

    def add_order(self, values: dict[str, Any]) -> Order:
        """A renewal order left to write_orders; the returned Order gets its id there."""
        order = Order(**values)
        self.new_orders.append((order, values))
        return order

    async def write_orders(self, session: AsyncSession) -> None:
        """The batch's pending renewal orders in one statement, then their ids in one read."""
        if not self.new_orders:
            return
        rows = [values for _, values in self.new_orders]
        await session.execute(insert(Order), rows, execution_options={"render_nulls": True})
        written = select(Order.reference, Order.id).where(
            Order.reference.in_([row["reference"] for row in rows])
        )
        ids = {reference: order_id for reference, order_id in await session.execute(written)}
        for order, values in self.new_orders:
            order.id = ids[values["reference"]]
        self.new_orders.clear()

    async def write_audits(self, session: AsyncSession) -> None:
        """The audit rows gathered so far, in one statement (their ids are never read back)."""
        if self.audits:
            await session.execute(
                insert(AuditEntry), self.audits, execution_options={"render_nulls": True}
            )
            self.audits.clear()

    def chat(self, subscription_id: int) -> tuple[str | None, str | None]:
        return self.chats.get(subscription_id, (None, None))

    async def expire_lapsed_renewals(self, session: AsyncSession, now: datetime) -> None:
        """The pending orders of subscriptions whose grace period ended lapse with them."""
        if not self.lapsed:
            return
        await session.execute(
            update(Order)
            .where(
                Order.subscription_id.in_(self.lapsed),
                Order.status == OrderStatus.PENDING.value,
            )
            .values(
                status=OrderStatus.EXPIRED.value, closed_at=now, close_reason="grace period ended"
            )
        )


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
    batch: _Batch,
) -> None:
    before = lifecycle.snapshot(sub)
    chat = batch.chat(sub.id)
    if sub.state == SubscriptionState.TRIAL.value:
        lifecycle.deactivate(sub, InactiveReason.TRIAL_EXPIRED)
        event = "trial.ended"
    elif sub.grace_until is not None:
        lifecycle.deactivate(sub, InactiveReason.LAPSED)
        batch.lapsed.append(sub.id)
        event = "subscription.suspended"
    elif sub.cancel_at_period_end:
        lifecycle.deactivate(sub, InactiveReason.CANCELLED)
        event = "subscription.ended"
    else:
        workspace = batch.workspaces[sub.workspace_id]
        order = await _renewal_order(ctx, session, sub, workspace, now, chat, batch)
        batch.renewals.append(order)
        event = "renewal.charged" if order.status == OrderStatus.PAID.value else "renewal.due"
    report.counts[event] += 1
    for name in _STEPPED:
        flag_modified(sub, name)
    batch.audits.append(
        audit_values(
            at=now,
            workspace_id=sub.workspace_id,
            subscription_id=sub.id,
            actor=SYSTEM,
            action=f"sweep.{event}",
            before=before,
            after=lifecycle.snapshot(sub),
        )
    )
    batch.notices.append(
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
    workspace: Workspace,
    now: datetime,
    chat: tuple[str | None, str | None],
    batch: _Batch,
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
    applied = min(workspace.credit_balance, total)
    lifecycle.mark_overdue(sub, ctx.catalog.grace_days)
    assert sub.grace_until is not None
    values: dict[str, Any] = dict(
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
    if values["due_now"] > 0:
        return batch.add_order(values)
    order = Order(**values)
    session.add(order)
    if order.due_now == 0:
        # The sweep's earlier audit rows go first, as they happened.
        await batch.write_audits(session)
        await session.flush()
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
