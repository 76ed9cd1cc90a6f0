"""Payments reported by a provider: applied exactly once, checked, or credited and flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import order_lifecycle
from core.access import Actor
from core.errors import NotFound
from core.model import (
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentOutcome,
    ProviderEvent,
    Workspace,
)
from core.notice_kinds import PaymentFailed, PaymentNeedsSupport, PaymentSucceeded
from core.order_lifecycle import NotPayable
from core.ports import Notice
from core.services.context import Context, audit, get_workspace
from core.services.fulfilment import fulfil, move_balance, stale_reason
from core.services.order_notices import addressed, expired_notice
from core.services.provider_orders import FAILED_ATTEMPT
from core.staff import StaffDirectory
from core.staff_notices import FlaggedPayment, FlagReason, to_staff_chats


class Release(Enum):
    """What a provider's withdrawal of a payment link did to its order."""

    EXPIRED = "expired"
    RENEWAL_LINK_LAPSED = "renewal link lapsed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class PaymentResult:
    outcome: str
    order_reference: str
    duplicate: bool
    note: str | None = None


async def _lock_order(session: AsyncSession, reference: str) -> tuple[Workspace, Order]:
    """Lock the order's workspace, then the order: the lock order every use case keeps."""
    workspace_id = await session.scalar(
        select(Order.workspace_id).where(Order.reference == reference)
    )
    if workspace_id is None:
        raise NotFound("There is no order '{reference}'.", reference=reference)
    workspace = await get_workspace(session, workspace_id, lock=True)
    order = await session.scalar(
        select(Order).where(Order.reference == reference).with_for_update()
    )
    assert order is not None
    return workspace, order


async def claim_event(
    session: AsyncSession, provider: str, event_id: str | None, kind: str, at: datetime
) -> bool:
    """Claim a provider event in this transaction; False: it was handled before.

    Call it after the workspace lock, so a concurrent delivery of the same event waits for
    the first and then sees its claim (the unique key is the backstop).
    """
    if event_id is None:
        return True
    seen = await session.scalar(
        select(ProviderEvent.id).where(
            ProviderEvent.provider == provider, ProviderEvent.event_id == event_id
        )
    )
    if seen is not None:
        return False
    session.add(ProviderEvent(provider=provider, event_id=event_id, kind=kind, received_at=at))
    return True


def _notice(order: Order, payload: object) -> Notice:
    """A notice about an order, for the chat where it started."""
    return Notice.of(payload, order.workspace_id, (order.chat_platform, order.chat_id))


async def apply_payment(
    ctx: Context,
    *,
    provider: str,
    provider_payment_id: str,
    order_reference: str,
    amount: int,
    currency: str,
    paid_at: datetime | None = None,
    event_id: str | None = None,
    event_kind: str = "payment",
) -> PaymentResult:
    """Apply a confirmed payment once; a repeat of the same provider payment changes nothing.

    `event_id` names the provider event that reported it: it is claimed in the same
    transaction, so a redelivered event is a duplicate even before the payment is looked up.
    """
    paid_at = paid_at or ctx.clock.now()
    actor = Actor.provider(provider)
    async with ctx.db.unit_of_work() as session:
        workspace, order = await _lock_order(session, order_reference)
        if not await claim_event(session, provider, event_id, event_kind, ctx.clock.now()):
            return PaymentResult("duplicate", order.reference, True)
        seen = await session.scalar(
            select(Payment).where(
                Payment.provider == provider, Payment.provider_payment_id == provider_payment_id
            )
        )
        if seen is not None:
            return PaymentResult(seen.outcome, order.reference, True, seen.note)
        payment = Payment(
            order_id=order.id,
            workspace_id=workspace.id,
            provider=provider,
            provider_payment_id=provider_payment_id,
            amount=amount,
            currency=currency.upper(),
            outcome=PaymentOutcome.APPLIED,
            needs_support=False,
            received_at=paid_at,
        )
        session.add(payment)
        note = None
        if payment.currency != order.currency or amount != order.due_now:
            note = (
                f"paid {amount} {payment.currency}, the order asks {order.due_now} {order.currency}"
            )
            payment.outcome, payment.needs_support = PaymentOutcome.MISMATCH, True
        elif (reason := await stale_reason(session, order, workspace, paid_at)) is not None:
            note = f"not applied: {reason}; the amount went to the credit balance"
            payment.outcome, payment.needs_support = PaymentOutcome.CREDITED, True
        payment.note = note
        await session.flush()
        # In the same transaction: with the outbox, the notice commits with the payment.
        notices = await _settle(session, order, workspace, payment, paid_at, actor)
        await ctx.send([*notices, *_flagged(ctx.staff, workspace, order, payment)])
    return PaymentResult(payment.outcome, order.reference, False, note)


async def _settle(
    session: AsyncSession,
    order: Order,
    workspace: Workspace,
    payment: Payment,
    at: datetime,
    actor: Actor,
) -> list[Notice]:
    if payment.outcome == PaymentOutcome.APPLIED:
        order.provider = order.provider or payment.provider
        sub = await fulfil(session, order, workspace, at, actor, payment.id)
        succeeded = PaymentSucceeded(
            order.reference,
            order.package,
            quantity=sub.quantity,
            period_end=sub.period_end,
            subscription_id=sub.id,
            cycle_months=sub.cycle_months,
            amount=payment.amount,
            currency=payment.currency,
        )
        return await addressed(session, [_notice(order, succeeded)])
    if payment.outcome == PaymentOutcome.CREDITED:
        if order_lifecycle.can_move(order.status, OrderStatus.CANCELLED):
            order_lifecycle.move(order, OrderStatus.CANCELLED, at, "paid after its base changed")
        move_balance(
            session,
            workspace,
            payment.amount,
            "payment that could not be applied",
            at,
            order_id=order.id,
            payment_id=payment.id,
        )
    audit(
        session,
        at=at,
        workspace_id=workspace.id,
        subscription_id=order.subscription_id,
        actor=actor,
        action=f"payment.{payment.outcome}",
        order_id=order.id,
        payment_id=payment.id,
        reason=payment.note,
    )
    support = PaymentNeedsSupport(
        order.reference, order.package, outcome=payment.outcome, note=payment.note
    )
    return await addressed(session, [_notice(order, support)])


def _flagged(
    staff: StaffDirectory, workspace: Workspace, order: Order, payment: Payment
) -> list[Notice]:
    """A payment that needs support is posted to every staff chat, so "support has been
    told" is true (none configured: `/staff flagged` still lists it)."""
    if not payment.needs_support:
        return []
    flagged = FlaggedPayment(
        workspace_id=workspace.id,
        workspace=workspace.name,
        order=order.reference,
        payment=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        outcome=FlagReason(payment.outcome),
        note=payment.note,
    )
    return to_staff_chats(staff, flagged)


async def record_payment_failure(
    ctx: Context,
    *,
    provider: str,
    order_reference: str,
    reason: str = "payment failed",
    event_id: str | None = None,
    event_kind: str = "payment.failed",
    retryable: bool = False,
) -> bool:
    """A provider said the payment failed: the order fails, unless the attempt may be
    retried on the same order while it is payable (`retryable`: a declined card at a
    checkout that stays open) or it is a renewal, which keeps its grace."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        _, order = await _lock_order(session, order_reference)
        if not await claim_event(session, provider, event_id, event_kind, now):
            return False
        refused = order_lifecycle.payable(order, now)
        if refused is NotPayable.NOT_PENDING or (retryable and refused is not None):
            return False
        if not retryable and order.kind != OrderKind.RENEWAL:
            order_lifecycle.move(order, OrderStatus.FAILED, now, reason)
        _audit_order(session, order, now, provider, FAILED_ATTEMPT, reason)
        failed = PaymentFailed(order.reference, order.package, reason=reason)
        await ctx.send(await addressed(session, [_notice(order, failed)]))
    return True


def _audit_order(
    session: AsyncSession, order: Order, at: datetime, provider: str, action: str, reason: str
) -> None:
    """A provider's word on an order, in the audit log."""
    audit(
        session,
        at=at,
        workspace_id=order.workspace_id,
        subscription_id=order.subscription_id,
        actor=Actor.provider(provider),
        action=action,
        order_id=order.id,
        reason=reason,
    )


async def release_order(
    ctx: Context,
    *,
    provider: str,
    order_reference: str,
    provider_reference: str | None = None,
    reason: str = "its payment link expired",
    event_id: str | None = None,
    event_kind: str = "checkout.expired",
) -> Release:
    """A provider withdrew an order's payment link: a pending order expires.

    A renewal keeps waiting until its grace ends (the sweep decides then) and needs a new
    link (`Release.RENEWAL_LINK_LAPSED`); an order whose current link is another one
    (`provider_reference` differs) is left alone.
    """
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        _, order = await _lock_order(session, order_reference)
        if not await claim_event(session, provider, event_id, event_kind, now):
            return Release.UNCHANGED
        refused = order_lifecycle.payable(order, now)
        if refused is NotPayable.NOT_PENDING or (
            provider_reference is not None and order.provider_reference != provider_reference
        ):
            return Release.UNCHANGED
        if order.kind == OrderKind.RENEWAL:
            # Its grace period decides, in the sweep; a payable one needs a new link.
            return Release.RENEWAL_LINK_LAPSED if refused is None else Release.UNCHANGED
        order_lifecycle.move(order, OrderStatus.EXPIRED, now, reason)
        _audit_order(session, order, now, provider, "order.expired", reason)
        await ctx.send(await addressed(session, [expired_notice(order)]))
        return Release.EXPIRED


ASYNC_PAYMENT_WAIT = timedelta(days=7)


async def await_async_payment(
    ctx: Context,
    *,
    provider: str,
    order_reference: str,
    event_id: str | None = None,
    event_kind: str = "checkout.completed_unpaid",
) -> bool:
    """The customer chose a payment that settles later (a bank transfer): keep the order
    payable while it settles, so its success applies instead of going to the balance."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        _, order = await _lock_order(session, order_reference)
        if not await claim_event(session, provider, event_id, event_kind, now):
            return False
        # Past its validity but still pending, it is kept: the checkout completed in time.
        closed = order_lifecycle.payable(order, now) is NotPayable.NOT_PENDING
        if closed or order.kind == OrderKind.RENEWAL:
            return False
        order.expires_at = max(order.expires_at, now + ASYNC_PAYMENT_WAIT)
        _audit_order(
            session,
            order,
            now,
            provider,
            "order.awaiting_payment",
            "the payment settles later; the order stays payable meanwhile",
        )
        return True
