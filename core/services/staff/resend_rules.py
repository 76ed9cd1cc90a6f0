"""`resend`: a fresh payment link for an open order or an overdue renewal, asked of the
provider once the action is recorded as running; the old link is withdrawn after the commit."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, PaymentProviderError
from core.model import Order, OrderKind
from core.services.checkouts import checkout_request, store_checkouts, tell_renewal_link
from core.services.context import Context
from core.services.staff.preview import Facts, Fate, LinkJob, Preview, compose, fates, picture
from core.services.staff.requests import Resend, StaffRequest
from core.services.staff.rules import Applied, Asked, Effect, Linked, Rules
from core.services.staff.state import ChangeState, is_payable


def _order(state: ChangeState, reference: str) -> Order:
    for order in state.open_orders:
        if order.reference == reference:
            return order
    raise Conflict("Order {reference} is not open: it has no link to resend.", reference=reference)


def preview_resend(ctx: Context, state: ChangeState, request: StaffRequest) -> Preview:
    assert isinstance(request, Resend)
    order = _order(state, request.order_reference)
    if not is_payable(order, state.now):
        raise Conflict(
            "Order {reference} can no longer be paid: its quote lapsed, so the customer orders "
            "again.",
            reference=order.reference,
        )
    if ctx.gateway is None:
        raise PaymentProviderError("No payment provider is configured.")
    facts = Facts(
        order_reference=order.reference,
        orders=fates(state, {order.reference}, Fate.NEW_LINK),
        package=order.package,
    )
    return compose(ctx.staff.approval_over, state, request, picture(state), picture(state), facts)


def resend_job(ctx: Context, state: ChangeState, preview: Preview, asked: Asked) -> LinkJob:
    assert isinstance(preview.request, Resend)
    order = _order(state, preview.request.order_reference)
    # A key of its own per resend: a provider refuses a key reused with other parameters.
    request = replace(
        checkout_request(ctx, order, state.workspace.name),
        idempotency_key=f"{order.idempotency_key}:staff:{asked.token}",
    )
    return LinkJob(order.reference, request, order.provider_reference)


async def apply_resend(
    session: AsyncSession,
    ctx: Context,
    state: ChangeState,
    preview: Preview,
    effect: Effect,
    asked: Asked,
) -> Applied:
    assert isinstance(effect, Linked)
    made = effect.checkout.provider_reference
    order = next((o for o in state.open_orders if o.reference == effect.order_reference), None)
    if order is None:
        # Paid or closed meanwhile: the fresh link is of no use, so it goes too.
        return Applied(picture(state), withdraw=(made,))
    await store_checkouts(ctx, [(order, effect.checkout)])
    if order.kind is OrderKind.RENEWAL:
        await tell_renewal_link(ctx, session, order)
    replaced = effect.replaced
    withdraw = (replaced,) if replaced and replaced != made else ()
    return Applied(picture(state), order_id=order.id, link=order.payment_link, withdraw=withdraw)


RULES: dict[type, Rules] = {Resend: Rules(preview_resend, apply_resend, resend_job)}
