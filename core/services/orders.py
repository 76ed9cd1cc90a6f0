"""Quotes, orders and scheduled downgrades (P4–P7, P9)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.access import Action, Actor
from core.db import after_commit
from core.errors import PROVIDER_UNAVAILABLE, Conflict, InvalidRequest, PaymentProviderError
from core.model import Order, OrderKind, OrderStatus, Subscription, SubscriptionState
from core.order_lifecycle import QUOTE_LAPSED, NotPayable, payable
from core.order_values import order_values
from core.ports import Notice
from core.pricing import Quote, QuoteKind, RunningPeriod, Terms, check_terms, quote
from core.services.changes import subscription_change
from core.services.checkouts import attach_checkout, checkout_request, withdraw_replaced
from core.services.context import Context, audit, authorize, get_subscription, get_workspace
from core.services.fulfilment import fulfil, subscription_for_package
from core.services.order_notices import addressed, change_notice, replaced_notice


class Placement(Enum):
    """What placing an order came to, read from the order's state."""

    AWAITING_PAYMENT = "awaiting payment"  # pending, with its payment link
    PAID_FROM_BALANCE = "paid from balance"  # nothing was due: applied at once
    PAID = "paid"  # a repeat of an order paid meanwhile
    CLOSED = "closed"  # a repeat of an order that expired, failed or was replaced


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    reference: str
    status: OrderStatus
    quote: Quote
    payment_link: str | None
    expires_at: datetime
    placement: Placement


@dataclass(frozen=True, slots=True)
class ReviewedQuote:
    """A quote with the subscription state it was computed on, so that an order can be
    placed on exactly these amounts while the quote is binding (P9)."""

    quote: Quote
    subscription_id: int | None
    base_version: int | None


@dataclass(frozen=True, slots=True)
class Chat:
    """Where an order was started, so the result can be told there."""

    platform: str
    chat_id: str


log = logging.getLogger(__name__)


class QuoteExpired(Conflict):
    """A reviewed quote that can no longer be ordered as shown: review it again."""


def new_reference() -> str:
    return "ord_" + secrets.token_hex(8)


def _running(sub: Subscription | None, at: datetime) -> RunningPeriod | None:
    """The paid period running now; an Active one whose period ended is overdue and refused."""
    if sub is None:
        return None
    current = lifecycle.running_period(sub, at)
    if current is None and sub.state is SubscriptionState.ACTIVE:
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
        and target.state is SubscriptionState.ACTIVE
    ):
        raise Conflict(
            "This workspace already holds {package}: add accounts there instead.",
            package=requested.package,
        )
    return quote(ctx.catalog, requested, current, at, workspace.credit_balance), base


async def review_quote(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    requested: Terms,
    subscription_id: int | None = None,
) -> ReviewedQuote:
    """What `requested` would cost now, with the state it stands on; binding once ordered
    for the catalog's quote validity."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        q, base = await _base(
            session, ctx, workspace_id, subscription_id, requested, ctx.clock.now()
        )
        return ReviewedQuote(q, *_base_key(base))


async def get_quote(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    requested: Terms,
    subscription_id: int | None = None,
) -> Quote:
    """What `requested` would cost now."""
    return (await review_quote(ctx, actor, workspace_id, requested, subscription_id)).quote


def _base_key(base: Subscription | None) -> tuple[int | None, int | None]:
    return (None, None) if base is None else (base.id, base.terms_version)


async def _cancel_older(
    session: AsyncSession, workspace_id: int, base: Subscription | None, package: str, at: datetime
) -> list[Order]:
    """P9: a newer order for the same subscription cancels the older pending one (one that
    already lapsed is closed as expired, which is what it is); returns the closed orders."""
    stmt = select(Order).where(
        Order.workspace_id == workspace_id,
        Order.status.in_(order_lifecycle.reached_from(OrderStatus.CANCELLED)),
        Order.kind != OrderKind.RENEWAL,
    )
    if base is not None:
        stmt = stmt.where(Order.subscription_id == base.id)
    else:
        stmt = stmt.where(Order.subscription_id.is_(None), Order.package == package)
    closed = list(await session.scalars(stmt.with_for_update()))
    for older in closed:
        if order_lifecycle.payable(older, at) is NotPayable.EXPIRED:
            order_lifecycle.move(older, OrderStatus.EXPIRED, at, QUOTE_LAPSED)
        else:
            order_lifecycle.move(older, OrderStatus.CANCELLED, at, "replaced by a newer order")
    return closed


def _told_replaced(closed: list[Order], newer: Order) -> list[Notice]:
    """The chats of replaced orders whose link was handed out: that link is void now."""
    return [
        replaced_notice(older, newer)
        for older in closed
        if older.payment_link and older.status == OrderStatus.CANCELLED
    ]


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
    status = OrderStatus(order.status)
    if status is OrderStatus.PAID:
        placement = Placement.PAID_FROM_BALANCE if order.provider == "balance" else Placement.PAID
    elif status is OrderStatus.PENDING:
        if order.payment_link is None:
            raise PaymentProviderError(PROVIDER_UNAVAILABLE)
        placement = Placement.AWAITING_PAYMENT
    else:
        placement = Placement.CLOSED
    return PlacedOrder(order.reference, status, q, order.payment_link, order.expires_at, placement)


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
    """Quote `requested` now and order it at once (for callers with no review to honour)."""
    return await _order(
        ctx,
        actor,
        workspace_id,
        _Placing(requested, subscription_id, None, payment_method, chat, idempotency_key),
    )


async def order_reviewed(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    reviewed: ReviewedQuote,
    *,
    payment_method: str | None = None,
    chat: Chat | None = None,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Order exactly the quote the person reviewed, while it is binding (P9) and the
    subscription is as it was then; otherwise refuse, so a fresh review is shown."""
    placing = _Placing(
        reviewed.quote.terms,
        reviewed.subscription_id,
        reviewed,
        payment_method,
        chat,
        idempotency_key,
    )
    return await _order(ctx, actor, workspace_id, placing)


@dataclass(frozen=True, slots=True)
class _Placing:
    requested: Terms
    subscription_id: int | None
    reviewed: ReviewedQuote | None
    payment_method: str | None
    chat: Chat | None
    idempotency_key: str | None


async def _order(ctx: Context, actor: Actor, workspace_id: int, p: _Placing) -> PlacedOrder:
    """Confirm a quote as an order; its payment link is made once the order is committed
    (or it is applied at once when nothing is due). A repeat with the same idempotency key
    gives the same order, and gets the link a failed first attempt could not."""
    if p.idempotency_key is not None:
        repeat = await _repeat(ctx, actor, workspace_id, p.idempotency_key)
        if repeat is not None:
            return repeat
    try:
        async with ctx.db.unit_of_work() as session:
            await authorize(session, workspace_id, actor, Action.BUY)
            order, q = await _new_order(session, ctx, actor, workspace_id, p)
    except IntegrityError:
        # The same confirmation reached another process first: answer with its order.
        repeat = None
        if p.idempotency_key is not None:
            repeat = await _repeat(ctx, actor, workspace_id, p.idempotency_key)
        if repeat is None:
            raise
        return repeat
    return _placed(order, q)


async def _new_order(
    session: AsyncSession, ctx: Context, actor: Actor, workspace_id: int, p: _Placing
) -> tuple[Order, Quote]:
    now = ctx.clock.now()
    q, base = await _base(session, ctx, workspace_id, p.subscription_id, p.requested, now)
    if q.kind is QuoteKind.NO_CHANGE:
        raise InvalidRequest("That is what this subscription already holds: nothing to buy.")
    if q.kind is QuoteKind.DOWNGRADE:
        raise InvalidRequest("A downgrade is scheduled for the next renewal, not paid now.")
    workspace = await get_workspace(session, workspace_id, lock=True)
    if p.reviewed is not None:
        _still_binding(p.reviewed, q, base, workspace.credit_balance, now)
        q = p.reviewed.quote
    replaced = await _cancel_older(session, workspace_id, base, p.requested.package, now)
    order = _order_from(
        q,
        workspace_id,
        base,
        actor,
        p.idempotency_key or new_reference(),
        p.chat,
        p.payment_method,
    )
    session.add(order)
    await session.flush()
    await ctx.send(await addressed(session, _told_replaced(replaced, order)))
    if order.due_now == 0:
        order.provider = "balance"
        await fulfil(session, order, workspace, now, actor)
    else:
        request = checkout_request(ctx, order, workspace.name)
        after_commit(session, partial(attach_checkout, ctx, order, request))
    references = [o.provider_reference for o in replaced if o.provider_reference]
    after_commit(session, partial(withdraw_replaced, ctx, references))
    return order, q


def _still_binding(
    reviewed: ReviewedQuote, now_quote: Quote, base: Subscription | None, balance: int, at: datetime
) -> None:
    """The review may be ordered as shown: within its validity, on the same subscription
    terms, of the same kind, with the credit balance it used still there."""
    if at >= reviewed.quote.valid_until:
        raise QuoteExpired(
            "The amounts of that review were binding for {minutes} minutes and that time "
            "has passed.",
            minutes=int((reviewed.quote.valid_until - reviewed.quote.quoted_at).total_seconds())
            // 60,
        )
    if (
        _base_key(base) != (reviewed.subscription_id, reviewed.base_version)
        or now_quote.kind is not reviewed.quote.kind
        or balance < reviewed.quote.balance_applied
    ):
        raise QuoteExpired("This subscription changed since the review.")


async def _repeat(
    ctx: Context, actor: Actor, workspace_id: int, idempotency_key: str
) -> PlacedOrder | None:
    """The order an earlier confirmation with this key placed, its link made if missing."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.BUY)
        order = await session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
        if order is None:
            return None
        workspace = await get_workspace(session, order.workspace_id)
    if order.payment_link is None and payable(order, ctx.clock.now()) is None:
        await attach_checkout(ctx, order, checkout_request(ctx, order, workspace.name))
    return _placed(order, order_quote(order))


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
        await ctx.send(await addressed(session, [await change_notice(session, base)]))
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
