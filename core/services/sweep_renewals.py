"""P8 in the sweep: a due renewal's order from plain rows, paid from the credit balance when
it covers the total, then collected off-session or by a payment link after the commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, bindparam, case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, order_lifecycle
from core.access import Actor
from core.clock import format_iso
from core.errors import PaymentProviderError
from core.lifecycle import SubscriptionRow
from core.model import Order, OrderKind, Subscription, SubscriptionState
from core.order_values import OrderValues, order_values, renewal_price, settle
from core.ports import Checkout, CheckoutRequest, Notice, OffSessionCharge, OffSessionCharger
from core.services.checkouts import renewal_link_payload, store_checkouts
from core.services.context import Context, audit_values
from core.services.fulfilment import step_subscription
from core.services.orders import new_reference
from core.services.payments import apply_payment
from core.services.sweep_batch import Batch
from core.services.sweep_notices import (
    Recipients,
    addressed,
    subject_of_subscription,
    workspace_place,
)

SYSTEM = Actor.system()
_ORDERS = cast(Table, Order.__table__)
_NEW_EXPIRY = bindparam("new_expires_at", type_=_ORDERS.c.expires_at.type)
# store_checkouts for a whole batch in one executemany, with its rule: a link never shortens
# the order's validity.
_STORE_LINKS = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("row_id"))
    .values(
        provider=bindparam("new_provider"),
        provider_reference=bindparam("new_reference"),
        payment_link=bindparam("new_link"),
        expires_at=case(
            (_ORDERS.c.expires_at < _NEW_EXPIRY, _NEW_EXPIRY), else_=_ORDERS.c.expires_at
        ),
    )
)


async def renew_row(ctx: Context, batch: Batch, row: SubscriptionRow) -> str:
    """Add the renewal order for `row` to the batch (paying it from the balance if that
    covers it) and step the row; returns the sweep event."""
    assert row.period_end is not None and row.anchor_at is not None
    now, chat = batch.now, batch.chat(row.id)
    terms = lifecycle.renewal_terms(row)
    other: tuple[int, str] | None = None
    if terms.package != row.package:
        other = await _holder(batch, row, terms.package)
        if other is not None and other[1] == SubscriptionState.ACTIVE:
            # The package scheduled for this renewal became active on its own meanwhile: one
            # subscription per package, so the current terms renew and the schedule is dropped.
            terms = row.terms
            row.scheduled_package = row.scheduled_quantity = row.scheduled_cycle_months = None
            other = None
    lifecycle.mark_overdue(row, ctx.catalog.grace_days)
    assert row.grace_until is not None
    price = renewal_price(
        ctx.catalog,
        terms,
        period_end=row.period_end,
        anchor_at=row.anchor_at,
        anchor_months=row.anchor_months,
        balance=batch.balances[row.workspace_id],
    )
    order = order_values(
        OrderKind.RENEWAL,
        price,
        reference=new_reference(),
        # One renewal per period: anchor_months restarts when a new paid period starts.
        idempotency_key=f"renewal:{row.id}:{format_iso(row.period_end)}",
        workspace_id=row.workspace_id,
        base=row,
        placed_by=SYSTEM.label,
        created_at=now,
        expires_at=row.grace_until,
        chat=chat,
    )
    batch.orders.append(order)
    if order.due_now > 0:
        return "renewal.due"
    if other is not None:
        # As fulfil does: the Try/Inactive row of the package renewed into folds into this one.
        await batch.session.execute(delete(Subscription).where(Subscription.id == other[0]))
        batch.deleted.add(other[0])
    _pay_from_balance(batch, row, order, len(batch.orders) - 1)
    return "renewal.charged"


def _pay_from_balance(batch: Batch, row: SubscriptionRow, order: OrderValues, index: int) -> None:
    """fulfil on plain rows: the same settlement, the row stepped by it, its ledger movements
    and the order's audit entry (order ids are filled in on write)."""
    before = lifecycle.snapshot(row)
    order.provider = "balance"
    settlement = settle(order, batch.now)
    step_subscription(row, settlement, batch.now)
    for movement in settlement.movements:
        batch.move_balance(row.workspace_id, movement.amount)
        batch.ledger.append(
            {
                "workspace_id": row.workspace_id,
                "amount": movement.amount,
                "reason": movement.reason,
                "order_id": index,
                "payment_id": None,
                "at": batch.now,
            }
        )
    batch.audits.append(
        audit_values(
            at=batch.now,
            workspace_id=row.workspace_id,
            subscription_id=row.id,
            actor=SYSTEM,
            action=f"order.{OrderKind.RENEWAL}",
            before=before,
            after=lifecycle.snapshot(row),
            order_id=index,
        )
    )


async def _holder(batch: Batch, row: SubscriptionRow, package: str) -> tuple[int, str] | None:
    """The workspace's other subscription of `package` and its state as of this batch."""
    found = (
        await batch.session.execute(
            select(Subscription.id, Subscription.state).where(
                Subscription.workspace_id == row.workspace_id,
                Subscription.package == package,
                Subscription.id != row.id,
            )
        )
    ).first()
    if found is None or found[0] in batch.deleted:
        return None
    stepped = batch.stepped.get(found[0])
    return (found[0], stepped.state if stepped is not None else found[1])


def pending_renewals(batch: Batch, ids: list[int]) -> list[Order]:
    """The batch's renewal orders still payable, as detached Orders, for their payment links
    (one found after its grace ended lapses in the next pass: no link, no charge)."""
    pending: list[Order] = []
    for values, order_id in zip(batch.orders, ids, strict=True):
        if order_lifecycle.payable(values, batch.now) is None:
            pending.append(Order(id=order_id, **values.columns()))
    return pending


async def attach_renewal_links(
    ctx: Context,
    checkouts: list[tuple[Order, CheckoutRequest]],
    failed: Callable[[Order, PaymentProviderError], None],
) -> None:
    """Ask the provider for every renewal's checkout, then store the ones it made in one
    statement; each one it refuses is handed to `failed` and the rest go on."""
    gateway = ctx.gateway
    assert gateway is not None
    made: list[tuple[Order, Checkout]] = []
    for order, request in checkouts:
        try:
            made.append((order, await gateway.create_checkout(request)))
        except PaymentProviderError as exc:
            failed(order, exc)
    if not made:
        return
    async with ctx.db.unit_of_work() as session:
        connection = await session.connection()
        await connection.execute(
            _STORE_LINKS,
            [
                {
                    "row_id": order.id,
                    "new_provider": checkout.provider,
                    "new_reference": checkout.provider_reference,
                    "new_link": checkout.link,
                    "new_expires_at": checkout.expires_at,
                }
                for order, checkout in made
            ],
        )


async def collect_renewal(
    ctx: Context, order: Order, request: CheckoutRequest, counts: Counter[str]
) -> None:
    """Charge the saved payment method off-session; if that fails, hand out a payment link
    and tell the chat, in the transaction that stores the link."""
    gateway = ctx.gateway
    assert gateway is not None and isinstance(gateway, OffSessionCharger)
    failed: str | None = None
    result = await gateway.charge_off_session(
        OffSessionCharge(
            order_reference=order.reference,
            # One key per renewal order: a retry of this charge can never charge twice.
            idempotency_key=f"charge:{order.idempotency_key}",
            workspace_id=order.workspace_id,
            amount=order.due_now,
            currency=order.currency,
            description=f"{request.package_name}, {order.cycle_months} months, "
            f"{order.quantity} accounts (renewal {order.reference})",
        )
    )
    if result.succeeded and result.payment_id is not None:
        await apply_payment(
            ctx,
            provider=gateway.name,
            provider_payment_id=result.payment_id,
            order_reference=order.reference,
            amount=result.amount,
            currency=result.currency,
        )
        counts["renewal.charged_off_session"] += 1
        return
    if result.attempted:
        counts["renewal.charge_failed"] += 1
        failed = result.reason or "the saved payment method was declined"
    checkout = await gateway.create_checkout(request)
    async with ctx.db.unit_of_work() as session:
        await store_checkouts(ctx, [(order, checkout)])
        await ctx.send(await _link_notices(ctx, session, order, failed))


async def _link_notices(
    ctx: Context, session: AsyncSession, order: Order, failed: str | None
) -> list[Notice]:
    """Where to pay the renewal (and why the saved card was not charged), told to the
    order's chat or else the billing admins, out of quiet hours."""
    assert order.subscription_id is not None
    payload = renewal_link_payload(order, failed)
    recipients = await Recipients.load(session, [(order.subscription_id, order.workspace_id)])
    place = await workspace_place(session, order.workspace_id)
    return addressed(
        payload,
        order.workspace_id,
        recipients.of(order.subscription_id, order.workspace_id),
        place,
        ctx.clock.now(),
        subject=subject_of_subscription(order.subscription_id),
        due_at=order.created_at,
        deadline=order.expires_at,
    )
