"""Refunds for support staff: all or part of an order's payment, through its provider, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Action, Actor
from core.errors import Conflict, InvalidRequest, NotFound, PaymentProviderError
from core.model import Order, Payment, PaymentOutcome, Refund
from core.ports import Refunder, RefundRequest
from core.services.context import Context, audit, authorize, get_workspace


@dataclass(frozen=True, slots=True)
class RefundDone:
    order_reference: str
    provider_refund_id: str
    amount: int
    currency: str
    refunded_total: int
    duplicate: bool


async def _refundable(
    session: AsyncSession, workspace_id: int, reference: str
) -> tuple[Order, Payment, int]:
    """The order, the payment that paid it and what is left to refund on that payment."""
    order = await session.scalar(
        select(Order).where(Order.reference == reference, Order.workspace_id == workspace_id)
    )
    if order is None:
        raise NotFound("There is no order '{reference}'.", reference=reference)
    payment = await session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.outcome != PaymentOutcome.MISMATCH)
        .order_by(Payment.id)
        .limit(1)
    )
    if payment is None:
        raise Conflict("Order {reference} has no payment to refund.", reference=reference)
    refunded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment.id)
    )
    return order, payment, payment.amount - int(refunded or 0)


async def refund_order(
    ctx: Context,
    staff: Actor,
    workspace_id: int,
    order_reference: str,
    reason: str,
    amount: int | None = None,
) -> RefundDone:
    """Refund `amount` (default: all that is left) of the order's payment; support staff only.

    The provider call carries an idempotency key made of the order and the amount, so a
    repeated request (a double confirmation) refunds once and is recorded once.
    """
    if not reason.strip():
        raise InvalidRequest("Give a reason: it goes into the audit log.")
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, staff, Action.SUPPORT)
        order, payment, left = await _refundable(session, workspace_id, order_reference)
        gateway = ctx.gateway
        if not isinstance(gateway, Refunder) or gateway.name != payment.provider:
            raise PaymentProviderError(
                "Payments through {provider} cannot be refunded from here.",
                provider=payment.provider,
            )
        wanted = left if amount is None else amount
        if wanted < 1 or wanted > left:
            raise InvalidRequest(
                "Refund from 1 to {left} (minor units of {currency}).",
                left=left,
                currency=payment.currency,
            )
        request = RefundRequest(
            provider_payment_id=payment.provider_payment_id,
            idempotency_key=f"refund:{order.reference}:{wanted}",
            amount=wanted,
            currency=payment.currency,
            order_reference=order.reference,
            reason=reason.strip(),
        )
    result = await gateway.refund(request)
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await get_workspace(session, workspace_id, lock=True)
        order, payment, left = await _refundable(session, workspace_id, order_reference)
        seen = await session.scalar(
            select(Refund).where(
                Refund.provider == payment.provider,
                Refund.provider_refund_id == result.provider_refund_id,
            )
        )
        if seen is None:
            session.add(
                Refund(
                    payment_id=payment.id,
                    workspace_id=workspace_id,
                    provider=payment.provider,
                    provider_refund_id=result.provider_refund_id,
                    amount=result.amount,
                    currency=payment.currency,
                    reason=request.reason,
                    actor=staff.label,
                    at=now,
                )
            )
            audit(
                session,
                at=now,
                workspace_id=workspace_id,
                subscription_id=order.subscription_id,
                actor=staff,
                action="support.refund",
                before={"refundable": left},
                after={
                    "refundable": left - result.amount,
                    "refunded": result.amount,
                    "currency": payment.currency,
                    "refund": result.provider_refund_id,
                    "status": result.status,
                },
                order_id=order.id,
                payment_id=payment.id,
                reason=request.reason,
            )
            left -= result.amount
        return RefundDone(
            order_reference=order.reference,
            provider_refund_id=result.provider_refund_id,
            amount=result.amount,
            currency=payment.currency,
            refunded_total=payment.amount - left,
            duplicate=seen is not None,
        )
