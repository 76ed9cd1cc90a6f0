"""Quotes, orders and scheduled downgrades (P4–P7, P9)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.access import Action, Actor
from core.errors import Conflict, InvalidRequest, PaymentProviderError
from core.model import Order, OrderKind, OrderStatus, Subscription, SubscriptionState
from core.order_lifecycle import QUOTE_LAPSED, NotPayable
from core.order_values import order_values
from core.ports import Checkout, CheckoutRequest, Notice
from core.pricing import Quote, QuoteKind, RunningPeriod, Terms, check_terms, quote
from core.services.changes import subscription_change
from core.services.context import Context, audit, authorize, get_subscription, get_workspace
from core.services.fulfilment import fulfil, subscription_for_package


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    reference: str
    status: str
    quote: Quote
    payment_link: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Chat:
    """Where an order was started, so the result can be told there."""

    platform: str
    chat_id: str


def new_reference() -> str:
    return "ord_" + secrets.token_hex(8)


def _running(sub: Subscription | None, at: datetime) -> RunningPeriod | None:
    """The paid period running now; an Active one whose period ended is overdue and refused."""
    if sub is None:
        return None
    current = lifecycle.running_period(sub, at)
    if current is None and sub.state == SubscriptionState.ACTIVE.value:
        raise Conflict("This subscription's renewal is overdue: pay it before changing it.")
    return current


async def _base(
    session: AsyncSession,
    ctx: Context,
    workspace_id: int,
    subscription_id: int | None,
    requested: Terms,
    at: datetime,
) -> tuple[Quote, Subscription | None]:
    check_terms(ctx.catalog, requested)
    workspace = await get_workspace(session, workspace_id)
    target = await subscription_for_package(session, workspace_id, requested.package)
    base = target
    if subscription_id is not None:
        base = await get_subscription(session, workspace_id, subscription_id)
    current = _running(base, at)
    if current is None and base is not target:
        base = target  # a Try or Inactive row named: this is a purchase of the package asked for
        current = _running(base, at)
    if current is not None and (
        base is not None
        and target is not None
        and target.id != base.id
        and target.state == SubscriptionState.ACTIVE.value
    ):
        raise Conflict(
            "This workspace already holds {package}: add accounts there instead.",
            package=requested.package,
        )
    return quote(ctx.catalog, requested, current, at, workspace.credit_balance), base


async def get_quote(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    requested: Terms,
    subscription_id: int | None = None,
) -> Quote:
    """What `requested` would cost now; binding for the catalog's quote validity once ordered."""
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        q, _ = await _base(session, ctx, workspace_id, subscription_id, requested, ctx.clock.now())
        return q


async def _cancel_older(
    session: AsyncSession, workspace_id: int, base: Subscription | None, package: str, at: datetime
) -> list[str]:
    """P9: a newer order for the same subscription cancels the older pending one (one that
    already lapsed is closed as expired, which is what it is)."""
    stmt = select(Order).where(
        Order.workspace_id == workspace_id,
        Order.status.in_(order_lifecycle.reached_from(OrderStatus.CANCELLED)),
        Order.kind != OrderKind.RENEWAL,
    )
    if base is not None:
        stmt = stmt.where(Order.subscription_id == base.id)
    else:
        stmt = stmt.where(Order.subscription_id.is_(None), Order.package == package)
    cancelled = []
    for older in await session.scalars(stmt.with_for_update()):
        if order_lifecycle.payable(older, at) is NotPayable.EXPIRED:
            order_lifecycle.move(older, OrderStatus.EXPIRED, at, QUOTE_LAPSED)
        else:
            order_lifecycle.move(older, OrderStatus.CANCELLED, at, "replaced by a newer order")
        if older.provider_reference:
            cancelled.append(older.provider_reference)
    return cancelled


def _order_from(
    q: Quote,
    workspace_id: int,
    base: Subscription | None,
    actor: Actor,
    key: str,
    chat: Chat | None,
    method: str | None,
) -> Order:
    values = order_values(
        OrderKind(q.kind),
        q,
        reference=new_reference(),
        idempotency_key=key,
        workspace_id=workspace_id,
        base=base,
        placed_by=actor.label,
        created_at=q.quoted_at,
        expires_at=q.valid_until,
        chat=(None, None) if chat is None else (chat.platform, chat.chat_id),
        payment_method=method,
    )
    return Order(**values.columns())


def order_quote(order: Order) -> Quote:
    """The quote an order was placed on, as stored (amounts are binding)."""
    return Quote(
        kind=QuoteKind(order.kind),
        currency=order.currency,
        terms=order.terms,
        price_per_account=order.price_per_account,
        quantity=order.quantity,
        total=order.total,
        proration=order.proration,
        credit=order.credit,
        balance_applied=order.balance_applied,
        due_now=order.due_now,
        balance_after=order.balance_after,
        period_start=order.period_start,
        period_end=order.period_end,
        quoted_at=order.created_at,
        valid_until=order.expires_at,
    )


def _placed(order: Order, q: Quote) -> PlacedOrder:
    return PlacedOrder(order.reference, order.status, q, order.payment_link, order.expires_at)


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


async def place_order(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    requested: Terms,
    *,
    subscription_id: int | None = None,
    payment_method: str | None = None,
    chat: Chat | None = None,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Confirm a quote as an order and hand out its payment link (or apply it if nothing is due)."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, Action.BUY)
        if idempotency_key is not None:
            existing = await session.scalar(
                select(Order).where(Order.idempotency_key == idempotency_key)
            )
            if existing is not None:
                return _placed(existing, order_quote(existing))
        q, base = await _base(session, ctx, workspace_id, subscription_id, requested, now)
        if q.kind is QuoteKind.NO_CHANGE:
            raise InvalidRequest("That is what this subscription already holds: nothing to buy.")
        if q.kind is QuoteKind.DOWNGRADE:
            raise InvalidRequest("A downgrade is scheduled for the next renewal, not paid now.")
        workspace = await get_workspace(session, workspace_id, lock=True)
        replaced = await _cancel_older(session, workspace_id, base, requested.package, now)
        order = _order_from(
            q, workspace_id, base, actor, idempotency_key or new_reference(), chat, payment_method
        )
        session.add(order)
        await session.flush()
        if order.due_now == 0:
            order.provider = "balance"
            await fulfil(session, order, workspace, now, actor)
        request = checkout_request(ctx, order, workspace.name)
    for reference in replaced:
        if ctx.gateway is not None:
            await ctx.gateway.cancel_checkout(reference)
    if order.status == OrderStatus.PENDING.value:
        await attach_checkout(ctx, order, request)
    return _placed(order, q)


async def attach_checkout(ctx: Context, order: Order, request: CheckoutRequest) -> None:
    await attach_checkouts(ctx, [(order, request)])


async def attach_checkouts(ctx: Context, orders: list[tuple[Order, CheckoutRequest]]) -> None:
    """Ask the provider for every checkout first, then store them all in one transaction."""
    gateway = ctx.gateway
    if gateway is None:
        raise PaymentProviderError("No payment provider is configured.")
    made = [(order, await gateway.create_checkout(request)) for order, request in orders]
    await store_checkouts(ctx, made)


async def store_checkouts(ctx: Context, made: list[tuple[Order, Checkout]]) -> None:
    """Keep the checkouts the provider made on their orders (joining an open unit of work)."""
    async with ctx.db.unit_of_work() as session:
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
            or order.status != OrderStatus.PENDING.value
            or order.kind != OrderKind.RENEWAL.value
            or order.provider_reference != lapsed
            or order.expires_at <= ctx.clock.now()
        ):
            return False
        workspace = await get_workspace(session, order.workspace_id)
        # A key of its own per lapsed link: a provider refuses a key reused with new terms.
        request = replace(
            checkout_request(ctx, order, workspace.name),
            idempotency_key=f"{order.idempotency_key}:after:{lapsed}",
        )
    await attach_checkout(ctx, order, request)
    await ctx.send([renewal_link_notice(order)])
    return True


def renewal_link_notice(order: Order, failed: str | None = None) -> Notice:
    """Tells the renewal's chat where to pay it (and why the saved card was not charged)."""
    return Notice(
        "renewal.due" if failed is None else "renewal.charge_failed",
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


async def schedule_downgrade(
    ctx: Context, actor: Actor, workspace_id: int, subscription_id: int, requested: Terms
) -> Quote:
    """P6: nothing is charged now; the new terms start at the next renewal."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, Action.BUY)
        q, base = await _base(session, ctx, workspace_id, subscription_id, requested, now)
        if q.kind is not QuoteKind.DOWNGRADE or base is None:
            raise InvalidRequest("Only a downgrade of a running subscription can be scheduled.")
        before = lifecycle.snapshot(base)
        base.scheduled_package = requested.package
        base.scheduled_quantity = requested.quantity
        base.scheduled_cycle_months = requested.cycle_months
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=base.id,
            actor=actor,
            action="subscription.schedule_downgrade",
            before=before,
            after=lifecycle.snapshot(base),
        )
        return q


async def withdraw_scheduled_change(
    ctx: Context, actor: Actor, workspace_id: int, subscription_id: int
) -> None:
    async with subscription_change(
        ctx,
        actor,
        workspace_id,
        subscription_id,
        permission=Action.BUY,
        action="subscription.withdraw_downgrade",
    ) as change:
        sub = change.subscription
        if sub.scheduled_package is None:
            raise InvalidRequest("There is no scheduled change to withdraw.")
        sub.scheduled_package = sub.scheduled_quantity = sub.scheduled_cycle_months = None
