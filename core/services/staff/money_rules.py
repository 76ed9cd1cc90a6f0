"""The verbs that move money: refund a payment through its provider, add credit, and credit
a flagged payment. A refund is asked of the provider after the action is recorded as
running, then recorded once (unique per provider refund id)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidRequest, PaymentProviderError
from core.model import Payment, PaymentOutcome
from core.model import Refund as RefundRow
from core.money import Money
from core.ports import Refunder, RefundRequest
from core.services.context import Context
from core.services.fulfilment import move_balance
from core.services.staff.preview import (
    Facts,
    Fate,
    Preview,
    RefundJob,
    compose,
    fates,
    money,
    picture,
)
from core.services.staff.requests import Credit, CreditPayment, Refund, StaffRequest
from core.services.staff.rules import Applied, Asked, Effect, Refunded, Rules
from core.services.staff.state import ChangeState, PaymentState, payment_state


def check_refunder(ctx: Context, provider: str) -> Refunder:
    """The gateway, if it can give money back on payments made through `provider`."""
    gateway = ctx.gateway
    if not isinstance(gateway, Refunder) or gateway.name != provider:
        raise PaymentProviderError(
            "Payments through {provider} cannot be refunded from here.", provider=provider
        )
    return gateway


@dataclass(frozen=True, slots=True)
class Recorded:
    payment: PaymentState
    refund_id: int
    order_id: int | None


async def record_refund(
    session: AsyncSession, state: ChangeState, effect: Refunded, asked: Asked
) -> Recorded:
    """Keep the provider's refund once: a repeat of the same provider refund adds nothing."""
    payment = await payment_state(session, state.workspace.id, effect.payment_id)
    row = payment.row
    seen = await session.scalar(
        select(RefundRow).where(
            RefundRow.provider == row.provider,
            RefundRow.provider_refund_id == effect.result.provider_refund_id,
        )
    )
    if seen is None:
        seen = RefundRow(
            payment_id=row.id,
            workspace_id=state.workspace.id,
            provider=row.provider,
            provider_refund_id=effect.result.provider_refund_id,
            amount=effect.result.amount,
            currency=row.currency,
            reason=asked.why,
            actor=asked.staff.label,
            at=state.now,
        )
        session.add(seen)
        await session.flush()
        payment = replace(payment, refunded=payment.refunded + effect.result.amount)
    return Recorded(payment, seen.id, row.order_id)


def _payment(state: ChangeState) -> PaymentState:
    assert state.payment is not None, "a payment verb reads its payment"
    return state.payment


def _taken(payment: PaymentState, amount: int, balance: int) -> int:
    """A credited payment refunded: its amount comes back out of the balance, as far as the
    balance goes."""
    return max(0, min(amount, payment.in_balance, balance))


def preview_refund(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Refund)
    payment = _payment(state)
    check_refunder(ctx, payment.row.provider)
    left = payment.refundable
    if left <= 0:
        raise Conflict("Nothing is left to refund on payment #{id}.", id=payment.row.id)
    amount = left if request.amount is None else request.amount.minor
    wrong_currency = request.amount is not None and request.amount.currency != payment.row.currency
    if wrong_currency or not 1 <= amount <= left:
        raise InvalidRequest("Refund at most {left} on this payment.", left=str(money(state, left)))
    taken = _taken(payment, amount, state.workspace.credit_balance)
    before = picture(state, payment=payment)
    after = replace(
        before,
        refunded=before.refunded + money(state, amount),
        balance=before.balance - money(state, taken),
    )
    order = payment.order
    facts = Facts(
        refund=money(state, amount),
        balance_taken=money(state, taken) if taken else None,
        refundable=money(state, left),
        order_reference=None if order is None else order.reference,
        orders=fates(state, set(), Fate.KEPT, subscription_only=False),
        clears_flag=payment.row.needs_support,
        package=None if order is None else order.package,
    )
    return compose(ctx.staff.approval_over, state, request, before, after, facts)


def staff_refund(payment: Payment, refund: Money, order_reference: str, asked: Asked) -> RefundJob:
    """The provider refund a staff action asks for, keyed by the action's token so a retry
    after a failure refunds once."""
    return RefundJob(
        payment.id,
        RefundRequest(
            provider_payment_id=payment.provider_payment_id,
            idempotency_key=f"staff:{asked.token}",
            amount=refund.minor,
            currency=refund.currency,
            order_reference=order_reference,
            reason=asked.why,
        ),
    )


def refund_job(ctx: Context, state: ChangeState, preview: Preview, asked: Asked) -> RefundJob:
    assert preview.refund is not None
    return staff_refund(_payment(state).row, preview.refund, preview.order_reference or "", asked)


async def apply_refund(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    assert isinstance(effect, Refunded)
    taken = _taken(_payment(state), effect.result.amount, state.workspace.credit_balance)
    recorded = await record_refund(session, state, effect, asked)
    row = recorded.payment.row
    row.needs_support = False
    if taken:
        move_balance(
            session,
            state.workspace,
            -taken,
            "refunded payment taken back from the balance",
            state.now,
            order_id=row.order_id,
            payment_id=row.id,
        )
    return Applied(
        picture(state, payment=recorded.payment),
        order_id=recorded.order_id,
        payment_id=row.id,
        refund_id=recorded.refund_id,
        provider_refund=effect.result.provider_refund_id,
    )


def preview_credit(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Credit)
    if request.amount.currency != state.workspace.currency or request.amount.minor <= 0:
        raise InvalidRequest(
            "Credit an amount in {currency} above zero.", currency=state.workspace.currency
        )
    before = picture(state)
    after = replace(before, balance=before.balance + request.amount)
    facts = Facts(
        credit=request.amount, orders=fates(state, set(), Fate.KEPT, subscription_only=False)
    )
    return compose(ctx.staff.approval_over, state, request, before, after, facts)


async def apply_credit(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    assert preview.credit is not None
    move_balance(
        session, state.workspace, preview.credit.minor, "credit added by support", state.now
    )
    return Applied(picture(state))


def _payment_credit(payment: PaymentState) -> int:
    """What of a flagged payment still has to become credit (a credited one is there)."""
    if payment.row.outcome is not PaymentOutcome.MISMATCH:
        return 0
    return max(0, payment.refundable - payment.in_balance)


def preview_credit_payment(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, CreditPayment)
    payment = _payment(state)
    if not payment.row.needs_support:
        raise Conflict("Payment #{id} is not waiting for support.", id=payment.row.id)
    credit = _payment_credit(payment)
    before = picture(state, payment=payment)
    after = replace(before, balance=before.balance + money(state, credit))
    order = payment.order
    facts = Facts(
        credit=money(state, credit) if credit else None,
        order_reference=None if order is None else order.reference,
        orders=fates(state, set(), Fate.KEPT, subscription_only=False),
        clears_flag=True,
        package=None if order is None else order.package,
    )
    return compose(ctx.staff.approval_over, state, request, before, after, facts)


async def apply_credit_payment(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    payment = _payment(state)
    credit = _payment_credit(payment)
    if credit:
        move_balance(
            session,
            state.workspace,
            credit,
            "flagged payment credited by support",
            state.now,
            order_id=payment.row.order_id,
            payment_id=payment.row.id,
        )
    payment.row.needs_support = False
    return Applied(
        picture(state, payment=payment),
        order_id=payment.row.order_id,
        payment_id=payment.row.id,
    )


RULES: dict[type, Rules] = {
    Refund: Rules(preview_refund, apply_refund, refund_job),
    Credit: Rules(preview_credit, apply_credit),
    CreditPayment: Rules(preview_credit_payment, apply_credit_payment),
}
