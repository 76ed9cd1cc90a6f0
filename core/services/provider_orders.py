"""What a payment provider may read of an order it collects: planbot's own sandbox reads
its orders through here, never from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.model import Order, Payment, Workspace
from core.services.context import Context
from core.states import OrderKind, OrderStatus


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    """One order as its provider sees it, with the workspace it bills."""

    reference: str
    kind: OrderKind
    status: OrderStatus
    package: str
    cycle_months: int
    quantity: int
    new_quantity: int
    currency: str
    price_per_account: int
    total: int
    proration: int
    credit: int
    balance_applied: int
    due_now: int
    period_start: datetime
    period_end: datetime
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    workspace_name: str
    workspace_locale: str | None


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    """A payment the provider already reported for the order."""

    amount: int
    currency: str


async def provider_order(
    ctx: Context, provider: str, reference: str, provider_payment_id: str
) -> tuple[ProviderOrder, ReceivedPayment | None] | None:
    """The provider's order `reference` and the payment `provider_payment_id` if it came."""
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(Order, Workspace)
                .join(Workspace, Workspace.id == Order.workspace_id)
                .where(Order.reference == reference, Order.provider == provider)
            )
        ).first()
        if row is None:
            return None
        seen = await session.scalar(
            select(Payment).where(
                Payment.provider == provider, Payment.provider_payment_id == provider_payment_id
            )
        )
    order, workspace = row
    view = ProviderOrder(
        reference=order.reference,
        kind=OrderKind(order.kind),
        status=OrderStatus(order.status),
        package=order.package,
        cycle_months=order.cycle_months,
        quantity=order.quantity,
        new_quantity=order.new_quantity,
        currency=order.currency,
        price_per_account=order.price_per_account,
        total=order.total,
        proration=order.proration,
        credit=order.credit,
        balance_applied=order.balance_applied,
        due_now=order.due_now,
        period_start=order.period_start,
        period_end=order.period_end,
        created_at=order.created_at,
        expires_at=order.expires_at,
        closed_at=order.closed_at,
        close_reason=order.close_reason,
        workspace_name=workspace.name,
        workspace_locale=workspace.locale,
    )
    return view, None if seen is None else ReceivedPayment(seen.amount, seen.currency)
