"""The verbs that change one subscription: extend a trial, grant accounts, unsubscribe,
resume and cancel now. Each preview steps a detached copy with the rule the run applies."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.errors import Conflict, InvalidRequest
from core.lifecycle import Status
from core.model import InactiveReason, Order, OrderStatus, Subscription, SubscriptionState
from core.pricing import Terms, price_per_account, unused_value
from core.services.context import Context
from core.services.fulfilment import move_balance
from core.services.staff.money_rules import check_refunder, record_refund, staff_refund
from core.services.staff.preview import (
    Facts,
    Fate,
    OrderFate,
    Preview,
    RefundJob,
    compose,
    fates,
    money,
    orders_of,
    picture,
    plain,
)
from core.services.staff.requests import (
    MAX_DAYS,
    Cancel,
    Extend,
    Grant,
    RefundMode,
    Resume,
    StaffRequest,
    Unsubscribe,
)
from core.services.staff.rules import Applied, Asked, Effect, Refunded, Rules
from core.services.staff.state import ChangeState, PaymentState
from core.services.subscriptions import (
    cancel_open_orders,
    check_unsubscribe,
    end_subscription,
    take_back_unsubscribe,
)
from core.services.sweep_reminders import reschedule


def _sub(state: ChangeState) -> Subscription:
    assert state.subscription is not None, "a subscription verb reads its subscription"
    return state.subscription


def _kept(state: ChangeState) -> tuple[OrderFate, ...]:
    return fates(state, set(), Fate.KEPT)


# --- extend -------------------------------------------------------------------------------


def preview_extend(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Extend)
    sub = _sub(state)
    if not 1 <= request.days <= MAX_DAYS:
        raise InvalidRequest("Extend a trial by 1 to {most} days.", most=MAX_DAYS)
    if sub.state != SubscriptionState.TRIAL or sub.trial_ends_at is None:
        raise Conflict("Only a running trial can be extended.")
    copy = plain(sub)
    _extend(copy, request.days)
    facts = Facts(orders=_kept(state), reminders_move=True)
    return compose(
        ctx.staff.approval_over, state, request, picture(state), picture(state, copy), facts
    )


def _extend(sub: lifecycle.SubscriptionFields, days: int) -> None:
    assert sub.trial_ends_at is not None
    sub.trial_ends_at += timedelta(days=days)
    lifecycle.refresh_due_at(sub)


async def apply_extend(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    assert isinstance(preview.request, Extend)
    _extend(_sub(state), preview.request.days)
    await reschedule(session, _sub(state), state.now, "trial extended by support")
    return Applied(picture(state))


# --- grant --------------------------------------------------------------------------------


def _grant_bounds(ctx: Context, sub: Subscription) -> tuple[int, int]:
    package = ctx.catalog.package(sub.package)
    if sub.state == SubscriptionState.TRIAL:
        return 1, package.trial.max_accounts
    return package.min_quantity, package.max_quantity


def preview_grant(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Grant)
    sub = _sub(state)
    if sub.state == SubscriptionState.INACTIVE:
        raise Conflict("Accounts can only be granted on an Active or Try subscription.")
    if sub.grace_until is not None:
        raise Conflict(
            "This subscription's renewal is overdue: resend its link or cancel it before "
            "granting accounts."
        )
    low, high = _grant_bounds(ctx, sub)
    wanted = sub.quantity + request.accounts
    if request.accounts == 0 or not low <= wanted <= high:
        raise InvalidRequest(
            "The result must be from {low} to {high} accounts, and different from {n}.",
            low=low,
            high=high,
            n=sub.quantity,
        )
    copy = plain(sub)
    lifecycle.add_accounts(copy, wanted)
    renewal = lifecycle.renewal_terms(copy)
    if sub.state == SubscriptionState.TRIAL:
        renewal = Terms(sub.package, sub.cycle_months, wanted)
    price = price_per_account(ctx.catalog, renewal.package, renewal.cycle_months) * renewal.quantity
    cancelled = {o.reference for o in _replaced_by_grant(state)}
    facts = Facts(renewal_price=price, orders=fates(state, cancelled, Fate.CANCELLED))
    return compose(
        ctx.staff.approval_over, state, request, picture(state), picture(state, copy), facts
    )


def _replaced_by_grant(state: ChangeState) -> list[Order]:
    """A paid subscription's open orders were priced on the old accounts: they are closed
    (a Try's purchase order stands, it buys its own accounts)."""
    if _sub(state).state != SubscriptionState.ACTIVE:
        return []
    return orders_of(state, renewals=False)


async def apply_grant(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    assert isinstance(preview.request, Grant)
    sub = _sub(state)
    withdraw = []
    for order in _replaced_by_grant(state):
        order_lifecycle.move(order, OrderStatus.CANCELLED, state.now, "accounts granted by support")
        if order.provider_reference:
            withdraw.append(order.provider_reference)
    lifecycle.add_accounts(sub, sub.quantity + preview.request.accounts)
    return Applied(picture(state), withdraw=tuple(withdraw))


# --- unsubscribe and resume ---------------------------------------------------------------


def preview_unsubscribe(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Unsubscribe)
    sub = _sub(state)
    check_unsubscribe(sub)
    copy = plain(sub)
    if lifecycle.running_period(sub, state.now) is not None:
        copy.cancel_at_period_end = True
        orders = _kept(state)
    else:
        lifecycle.deactivate(copy, InactiveReason.CANCELLED)
        orders = fates(state, {o.reference for o in orders_of(state)}, Fate.CANCELLED)
    return compose(
        ctx.staff.approval_over,
        state,
        request,
        picture(state),
        picture(state, copy),
        Facts(orders=orders),
    )


async def apply_unsubscribe(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    closed = await end_subscription(session, _sub(state), state.now)
    return Applied(picture(state), withdraw=tuple(closed))


def preview_resume(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Resume)
    copy = plain(_sub(state))
    take_back_unsubscribe(copy, state.now)
    return compose(
        ctx.staff.approval_over,
        state,
        request,
        picture(state),
        picture(state, copy),
        Facts(orders=_kept(state)),
    )


async def apply_resume(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    take_back_unsubscribe(_sub(state), state.now)
    return Applied(picture(state))


# --- cancel now ---------------------------------------------------------------------------


def priced_at(ctx: Context, state: ChangeState, request: Cancel) -> datetime:
    """The preview's moment while it is binding (as a quote is, P9), else now."""
    at = request.at
    binding = timedelta(minutes=ctx.catalog.quote_validity_minutes)
    if at is None or at > state.now or state.now - at >= binding:
        return state.now
    return at


def _unused(ctx: Context, state: ChangeState, at: datetime) -> int:
    """P5's value of the current terms for the time left (0 without a running period)."""
    running = lifecycle.running_period(_sub(state), state.now)
    return 0 if running is None else unused_value(ctx.catalog, running, at)


def _refundable(state: ChangeState) -> PaymentState | None:
    last = state.last_payment
    return last if last is not None and last.refundable > 0 else None


def _cancel_money(ctx: Context, state: ChangeState, request: Cancel) -> tuple[int, int]:
    """(refund, credit) in minor units, or a refusal saying which modes fit."""
    mode = request.mode
    if mode is RefundMode.NONE:
        return 0, 0
    unused = _unused(ctx, state, priced_at(ctx, state, request))
    if mode is RefundMode.CREDIT:
        if unused == 0:
            raise InvalidRequest("There is no unused paid time to credit; choose none.")
        return 0, unused
    last = _refundable(state)
    if last is None:
        raise InvalidRequest(
            "No payment of this subscription is left to refund; choose credit or none."
        )
    check_refunder(ctx, last.row.provider)
    refund = min(unused, last.refundable) if mode is RefundMode.PRORATED else last.refundable
    if refund == 0:
        raise InvalidRequest("There is no unused paid time to refund; choose full or none.")
    return refund, 0


def preview_cancel(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Cancel)
    sub = _sub(state)
    if sub.state == SubscriptionState.INACTIVE:
        raise Conflict("This subscription is already inactive.")
    request = replace(request, at=priced_at(ctx, state, request))
    refund, credit = _cancel_money(ctx, state, request)
    copy = plain(sub)
    lifecycle.deactivate(copy, InactiveReason.CANCELLED)
    last = state.last_payment if refund else None
    before = picture(state, payment=last)
    after = replace(
        picture(state, copy, last),
        balance=before.balance + money(state, credit),
        refunded=before.refunded + money(state, refund),
    )
    facts = Facts(
        refund=money(state, refund) if refund else None,
        credit=money(state, credit) if credit else None,
        refundable=None if last is None else money(state, last.refundable),
        orders=fates(state, {o.reference for o in orders_of(state)}, Fate.CANCELLED),
    )
    return compose(ctx.staff.approval_over, state, request, before, after, facts)


def cancel_job(
    ctx: Context, state: ChangeState, preview: Preview, asked: Asked
) -> RefundJob | None:
    last = state.last_payment
    if preview.refund is None or last is None:
        return None
    reference = "" if last.order is None else last.order.reference
    return staff_refund(last.row, preview.refund, reference, asked)


async def apply_cancel(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    sub = _sub(state)
    closed: list[str] = []
    if lifecycle.status(sub) is not Status.INACTIVE:
        lifecycle.deactivate(sub, InactiveReason.CANCELLED)
        await reschedule(session, sub, state.now, "cancelled by support")
        closed = await cancel_open_orders(session, sub.id, state.now, "cancelled by support")
    if preview.credit is not None:
        move_balance(
            session,
            state.workspace,
            preview.credit.minor,
            "unused time credited at cancellation",
            state.now,
        )
    if not isinstance(effect, Refunded):
        return Applied(picture(state), withdraw=tuple(closed))
    recorded = await record_refund(session, state, effect, asked)
    return Applied(
        picture(state, payment=recorded.payment),
        order_id=recorded.order_id,
        payment_id=effect.payment_id,
        refund_id=recorded.refund_id,
        provider_refund=effect.result.provider_refund_id,
        withdraw=tuple(closed),
    )


RULES: dict[type, Rules] = {
    Extend: Rules(preview_extend, apply_extend),
    Grant: Rules(preview_grant, apply_grant),
    Unsubscribe: Rules(preview_unsubscribe, apply_unsubscribe),
    Resume: Rules(preview_resume, apply_resume),
    Cancel: Rules(preview_cancel, apply_cancel, cancel_job),
}
