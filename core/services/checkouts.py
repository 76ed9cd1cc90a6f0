"""Payment links for orders: asked of the provider with no transaction open, then stored;
a renewal whose link lapsed during grace gets a new one."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import PaymentProviderError
from core.model import Order, OrderKind
from core.notice_kinds import RenewalChargeFailed, RenewalDue
from core.order_lifecycle import payable
from core.ports import Checkout, CheckoutRequest, Notice
from core.services.context import Context, get_workspace
from core.services.order_notices import addressed

log = logging.getLogger(__name__)


def checkout_request(ctx: Context, order: Order, workspace_name: str) -> CheckoutRequest:
    return CheckoutRequest(
        order_reference=order.reference,
        idempotency_key=order.idempotency_key,
        workspace_id=order.workspace_id,
        workspace_name=workspace_name,
        package=order.package,
        package_name=ctx.catalog.package(order.package).name,
        cycle_months=order.cycle_months,
        quantity=order.quantity,
        currency=order.currency,
        price_per_account=order.price_per_account,
        total=order.total,
        discount=order.proration + order.credit + order.balance_applied,
        due_now=order.due_now,
        payment_method=order.payment_method,
        expires_at=order.expires_at,
    )


async def withdraw_replaced(ctx: Context, references: list[str]) -> None:
    """Expire replaced orders' links at the provider; a failure leaves a link that can still
    be paid, and such a payment is credited to the balance (never lost)."""
    if ctx.gateway is None:
        return
    for reference in references:
        try:
            await ctx.gateway.cancel_checkout(reference)
        except PaymentProviderError:
            log.warning("could not expire the replaced checkout %s; it stays payable", reference)


async def attach_checkout(ctx: Context, order: Order, request: CheckoutRequest) -> None:
    await attach_checkouts(ctx, [(order, request)])


async def attach_checkouts(ctx: Context, orders: list[tuple[Order, CheckoutRequest]]) -> None:
    """Ask the provider for every checkout first (no transaction open), then store them all
    in one unit of work."""
    gateway = ctx.gateway
    if gateway is None:
        raise PaymentProviderError("No payment provider is configured.")
    made = [(order, await gateway.create_checkout(request)) for order, request in orders]
    await store_checkouts(ctx, made)


async def store_checkouts(ctx: Context, made: list[tuple[Order, Checkout]]) -> None:
    """Keep the checkouts the provider made on their orders (in the caller's unit of work
    if one is open, so a notice about the link can commit with it)."""
    async with ctx.db.unit_of_work(join=True) as session:
        ids = [order.id for order, _ in made]
        # Many orders in one read; a single one may already be in the session.
        loaded = (
            {o.id: o for o in await session.scalars(select(Order).where(Order.id.in_(ids)))}
            if len(ids) > 1
            else {}
        )
        for order, checkout in made:
            stored = loaded.get(order.id) or await session.get(Order, order.id)
            assert stored is not None
            stored.provider = checkout.provider
            stored.provider_reference = checkout.provider_reference
            stored.payment_link = checkout.link
            stored.expires_at = max(stored.expires_at, checkout.expires_at)
            order.provider, order.payment_link = checkout.provider, checkout.link
            order.provider_reference = checkout.provider_reference
            order.expires_at = stored.expires_at


async def reissue_renewal_link(ctx: Context, order_reference: str, lapsed: str) -> bool:
    """A renewal still in its grace period whose payment link lapsed (providers' links live
    shorter than grace) gets a new one, told to its chat; False when nothing was due."""
    async with ctx.db.unit_of_work() as session:
        order = await session.scalar(select(Order).where(Order.reference == order_reference))
        if (
            order is None
            or order.kind is not OrderKind.RENEWAL
            or order.provider_reference != lapsed
            or payable(order, ctx.clock.now()) is not None
        ):
            return False
        workspace = await get_workspace(session, order.workspace_id)
        # A key of its own per lapsed link: a provider refuses a key reused with new terms.
        request = replace(
            checkout_request(ctx, order, workspace.name),
            idempotency_key=f"{order.idempotency_key}:after:{lapsed}",
        )
    await attach_checkout(ctx, order, request)
    async with ctx.db.unit_of_work() as session:
        await tell_renewal_link(ctx, session, order)
    return True


def renewal_link_payload(
    order: Order, failed: str | None = None
) -> RenewalDue | RenewalChargeFailed:
    """Where to pay a renewal: its amount, its deadline and its link (and why the saved card
    was not charged, when it was tried)."""
    assert order.subscription_id is not None
    if failed is None:
        return RenewalDue(
            order.subscription_id,
            order.package,
            order=order.reference,
            amount=order.due_now,
            currency=order.currency,
            deadline=order.expires_at,
            link=order.payment_link,
            quantity=order.quantity,
            cycle_months=order.cycle_months,
        )
    return RenewalChargeFailed(
        order.subscription_id,
        order.package,
        order=order.reference,
        amount=order.due_now,
        currency=order.currency,
        deadline=order.expires_at,
        link=order.payment_link,
        reason=failed,
    )


async def tell_renewal_link(ctx: Context, session: AsyncSession, order: Order) -> None:
    """A new link for a renewal, told to the order's chat or else its billing admins."""
    chat = (order.chat_platform, order.chat_id)
    notice = Notice.of(renewal_link_payload(order), order.workspace_id, chat)
    await ctx.send(await addressed(session, [notice]))
