"""Steps shared by service tests: buy and pay in one go, read a subscription back."""

from __future__ import annotations

from sqlalchemy import select

from core.access import Actor
from core.model import Order, Subscription
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import Chat, PlacedOrder, place_order
from core.services.payments import PaymentResult, apply_payment

CHAT = Chat("telegram", "chat-1")


async def pay(ctx: Context, placed: PlacedOrder, payment_id: str | None = None) -> PaymentResult:
    return await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id=payment_id or f"pay_{placed.reference}",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency=placed.quote.currency,
    )


async def pay_order(ctx: Context, order: Order, payment_id: str) -> PaymentResult:
    """Pay a stored order (a renewal, say) exactly what it asks."""
    return await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id=payment_id,
        order_reference=order.reference,
        amount=order.due_now,
        currency=order.currency,
    )


async def buy(
    ctx: Context, actor: Actor, workspace_id: int, terms: Terms, subscription_id: int | None = None
) -> PlacedOrder:
    placed = await place_order(
        ctx, actor, workspace_id, terms, subscription_id=subscription_id, chat=CHAT
    )
    if placed.status == "pending":
        await pay(ctx, placed)
    return placed


async def subscription(ctx: Context, workspace_id: int, package: str) -> Subscription:
    async with ctx.db.unit_of_work() as session:
        sub = await session.scalar(
            select(Subscription).where(
                Subscription.workspace_id == workspace_id, Subscription.package == package
            )
        )
        assert sub is not None, f"no {package} subscription"
        return sub


async def order(ctx: Context, reference: str) -> Order:
    async with ctx.db.unit_of_work() as session:
        found = await session.scalar(select(Order).where(Order.reference == reference))
        assert found is not None
        return found


async def pending_renewal(ctx: Context, subscription_id: int) -> Order:
    async with ctx.db.unit_of_work() as session:
        found = await session.scalar(
            select(Order).where(
                Order.subscription_id == subscription_id,
                Order.kind == "renewal",
                Order.status == "pending",
            )
        )
        assert found is not None, "no pending renewal"
        return found
