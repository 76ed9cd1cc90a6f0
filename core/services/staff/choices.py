"""What a staff verb could apply to in a workspace (its subscriptions, its open orders, an
order's payments), so the chat can ask which when there are several."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.access import Actor, StaffVerb, require_staff
from core.errors import NotFound
from core.lifecycle import Status
from core.model import Order, OrderKind, OrderStatus, Payment, Subscription, Workspace
from core.model import Refund as RefundRow
from core.money import Money
from core.services.context import Context
from core.services.staff.requests import parse_payment
from core.services.staff.state import is_payable


@dataclass(frozen=True, slots=True)
class SubscriptionChoice:
    id: int
    package: str
    status: Status
    accounts: int


@dataclass(frozen=True, slots=True)
class OrderChoice:
    reference: str
    package: str
    due: Money
    renewal: bool


@dataclass(frozen=True, slots=True)
class PaymentChoice:
    id: int
    amount: Money
    refundable: Money
    flagged: bool


@dataclass(frozen=True, slots=True)
class PaymentTarget:
    """An order (or a payment named on its own) and the payments it may refund."""

    workspace_id: int
    workspace_name: str
    order_reference: str | None
    payments: tuple[PaymentChoice, ...]


def _fits(verb: StaffVerb, sub: Subscription) -> bool:
    shown = lifecycle.status(sub)
    if verb is StaffVerb.EXTEND:
        return shown is Status.TRY
    if verb is StaffVerb.RESUME:
        return shown is Status.ACTIVE and sub.cancel_at_period_end
    if verb is StaffVerb.UNSUBSCRIBE:
        return shown is not Status.INACTIVE and not sub.cancel_at_period_end
    return shown is not Status.INACTIVE  # grant, cancel


async def subscription_choices(
    ctx: Context, staff: Actor, verb: StaffVerb, workspace_id: int
) -> list[SubscriptionChoice]:
    """The workspace's subscriptions `verb` could apply to, in catalog order."""
    require_staff(verb, staff)
    async with ctx.db.read() as session:
        rows = list(
            await session.scalars(
                select(Subscription).where(Subscription.workspace_id == workspace_id)
            )
        )
    rank = {p.code: n for n, p in enumerate(ctx.catalog.packages)}
    rows.sort(key=lambda s: (rank.get(s.package, len(rank)), s.id))
    return [
        SubscriptionChoice(s.id, s.package, lifecycle.status(s), s.quantity)
        for s in rows
        if _fits(verb, s)
    ]


async def link_choices(ctx: Context, staff: Actor, workspace_id: int) -> list[OrderChoice]:
    """The workspace's orders that can still be paid, so a fresh link can be sent."""
    require_staff(StaffVerb.RESEND, staff)
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(Order)
            .where(Order.workspace_id == workspace_id, Order.status == OrderStatus.PENDING)
            .order_by(Order.id)
        )
        return [
            OrderChoice(
                o.reference,
                o.package,
                Money(o.due_now, o.currency),
                o.kind is OrderKind.RENEWAL,
            )
            for o in rows
            if is_payable(o, now)
        ]


async def _choices(session: AsyncSession, payments: list[Payment]) -> tuple[PaymentChoice, ...]:
    ids = [p.id for p in payments]
    rows = await session.execute(
        select(RefundRow.payment_id, func.sum(RefundRow.amount))
        .where(RefundRow.payment_id.in_(ids))
        .group_by(RefundRow.payment_id)
    )
    refunded = {int(payment_id): int(total or 0) for payment_id, total in rows}
    return tuple(
        PaymentChoice(
            p.id,
            Money(p.amount, p.currency),
            Money(p.amount - refunded.get(p.id, 0), p.currency),
            p.needs_support,
        )
        for p in payments
    )


async def refund_target(ctx: Context, staff: Actor, text: str) -> PaymentTarget:
    """`<order>` (its reference) or `payment:<id>`: the payments a refund could be made on."""
    require_staff(StaffVerb.REFUND, staff)
    wanted = text.strip()
    payment_id = parse_payment(wanted)
    async with ctx.db.read() as session:
        order: Order | None
        if payment_id is not None:
            payment = await session.get(Payment, payment_id)
            if payment is None:
                raise NotFound("There is no payment #{id}.", id=payment_id)
            order = None if payment.order_id is None else await session.get(Order, payment.order_id)
            payments, workspace_id = [payment], payment.workspace_id
        else:
            order = await session.scalar(select(Order).where(Order.reference == wanted[:40]))
            if order is None:
                raise NotFound("There is no order '{reference}'.", reference=wanted[:60])
            payments = list(
                await session.scalars(
                    select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
                )
            )
            workspace_id = order.workspace_id
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        return PaymentTarget(
            workspace.id,
            workspace.name,
            None if order is None else order.reference,
            await _choices(session, payments),
        )
