"""Off-session renewals and support refunds through Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.stripe.client import NETWORK_RETRIES
from core.access import Actor, StaffTier
from core.errors import Conflict, InvalidRequest, NotAllowed
from core.model import AuditEntry, Order, Payment, StaffAction, Subscription
from core.model import Refund as RefundRow
from core.money import Money
from core.pricing import Terms
from core.services.orders import PlacedOrder
from core.services.staff.changes import AlreadyDone, Done, ProviderFailed, confirm, preview
from core.services.staff.requests import ReasonCode, Refund, new_token
from core.services.sweep import sweep
from tests.integration.staff import run
from tests.stripe.conftest import Stripe

STAFF = Actor("telegram", "9000", tier=StaffTier.MANAGER)


async def _paid_subscription(stripe_env: Stripe) -> Subscription:
    placed = await stripe_env.order(Terms("cc2", 1, 10))
    await stripe_env.pay(placed.reference)
    async with stripe_env.ctx.db.unit_of_work() as session:
        sub = await session.scalar(select(Subscription))
        assert sub is not None and sub.period_end is not None
        return sub


async def _renewal(stripe_env: Stripe) -> Order:
    async with stripe_env.ctx.db.unit_of_work() as session:
        order = await session.scalar(select(Order).where(Order.kind == "renewal"))
        assert order is not None
        return order


async def test_a_renewal_is_charged_off_session_to_the_saved_card(stripe_env: Stripe) -> None:
    sub = await _paid_subscription(stripe_env)
    assert sub.period_end is not None
    stripe_env.ctx.clock.set(sub.period_end + timedelta(minutes=1))  # type: ignore[attr-defined]
    stripe_env.notifier.notices.clear()
    report = await sweep(stripe_env.ctx)
    assert report["renewal.charged_off_session"] == 1
    renewal = await _renewal(stripe_env)
    assert renewal.status == "paid"
    [(params, key)] = stripe_env.fake.calls("POST", "/v1/payment_intents")
    assert key == f"charge:{renewal.idempotency_key}"
    assert params["confirm"] == "true" and params["off_session"] == "true"
    assert (
        params["amount"] == str(renewal.due_now)
        and params["metadata"]["order"] == renewal.reference
    )
    async with stripe_env.ctx.db.unit_of_work() as session:
        renewed = await session.get(Subscription, sub.id)
        assert renewed is not None and renewed.period_end is not None
        assert renewed.period_end > sub.period_end and renewed.grace_until is None
    kinds = [n.kind for n in stripe_env.notifier.notices]
    assert "payment.succeeded" in kinds and "renewal.due" not in kinds
    # Stripe's own payment_intent.succeeded for the same charge is a duplicate.
    event = stripe_env.fake.events[-1]
    assert event["type"] == "payment_intent.succeeded"
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "duplicate"
    # A second sweep charges nothing more.
    await sweep(stripe_env.ctx)
    assert len(stripe_env.fake.calls("POST", "/v1/payment_intents")) == 1


async def test_a_declined_renewal_gets_a_checkout_link_and_the_grace_period(
    stripe_env: Stripe,
) -> None:
    sub = await _paid_subscription(stripe_env)
    assert sub.period_end is not None
    for cards in stripe_env.fake.payment_methods.values():
        stripe_env.fake.declining.update(cards)
    stripe_env.ctx.clock.set(sub.period_end + timedelta(minutes=1))  # type: ignore[attr-defined]
    stripe_env.notifier.notices.clear()
    report = await sweep(stripe_env.ctx)
    assert report["renewal.charge_failed"] == 1
    renewal = await _renewal(stripe_env)
    assert renewal.status == "pending" and renewal.provider == "stripe"
    assert renewal.payment_link and "/pay/cs_" in renewal.payment_link
    [failed] = [n for n in stripe_env.notifier.notices if n.kind == "renewal.charge_failed"]
    assert failed.data["link"] == renewal.payment_link and failed.chat_id == "1001"
    async with stripe_env.ctx.db.unit_of_work() as session:
        overdue = await session.get(Subscription, sub.id)
        assert overdue is not None and overdue.grace_until is not None
    await stripe_env.pay(renewal.reference)
    assert (await _renewal(stripe_env)).status == "paid"


async def _declined_renewal(stripe_env: Stripe) -> Order:
    sub = await _paid_subscription(stripe_env)
    assert sub.period_end is not None
    for cards in stripe_env.fake.payment_methods.values():
        stripe_env.fake.declining.update(cards)
    stripe_env.ctx.clock.set(sub.period_end + timedelta(minutes=1))  # type: ignore[attr-defined]
    await sweep(stripe_env.ctx)
    return await _renewal(stripe_env)


async def test_a_renewal_link_that_lapses_within_grace_is_replaced_and_told(
    stripe_env: Stripe,
) -> None:
    renewal = await _declined_renewal(stripe_env)
    lapsed = renewal.provider_reference
    assert lapsed is not None
    stripe_env.ctx.clock.set(stripe_env.ctx.clock.now() + timedelta(hours=24))  # type: ignore[attr-defined]
    stripe_env.notifier.notices.clear()
    stripe_env.fake.expire_session(lapsed)
    event = stripe_env.fake.events[-1]
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "reissued"

    fresh = await _renewal(stripe_env)
    assert fresh.status == "pending" and fresh.expires_at == renewal.expires_at
    assert fresh.provider_reference not in (None, lapsed)
    keys = [key for _, key in stripe_env.fake.calls("POST", "/v1/checkout/sessions")]
    assert keys[-1] == f"checkout:{renewal.idempotency_key}:after:{lapsed}"
    [told] = stripe_env.notifier.notices
    assert told.kind == "renewal.due" and told.data["link"] == fresh.payment_link
    # The sweep's order started in no chat: the billing admin hears, with the amount and deadline.
    assert told.chat_id is not None
    assert told.data["amount"] == renewal.due_now
    assert told.data["deadline"] == renewal.expires_at.isoformat()
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "unchanged"
    await stripe_env.pay(renewal.reference)
    assert (await _renewal(stripe_env)).status == "paid"


async def test_a_renewal_link_lapsing_after_grace_gets_no_new_one(stripe_env: Stripe) -> None:
    renewal = await _declined_renewal(stripe_env)
    assert renewal.provider_reference is not None
    stripe_env.ctx.clock.set(renewal.expires_at)  # type: ignore[attr-defined]
    sessions = len(stripe_env.fake.calls("POST", "/v1/checkout/sessions"))
    stripe_env.fake.expire_session(renewal.provider_reference)
    event = stripe_env.fake.events[-1]
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "unchanged"
    assert len(stripe_env.fake.calls("POST", "/v1/checkout/sessions")) == sessions


async def _paid_payment(stripe_env: Stripe) -> tuple[PlacedOrder, Payment]:
    placed = await stripe_env.order(Terms("cc2", 1, 10))
    await stripe_env.pay(placed.reference)
    async with stripe_env.ctx.db.read() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        return placed, payment


async def test_support_refunds_an_order_in_part_then_in_full(stripe_env: Stripe) -> None:
    placed, payment = await _paid_payment(stripe_env)
    ctx, ws = stripe_env.ctx, stripe_env.workspace_id
    with pytest.raises(NotAllowed):
        await preview(ctx, stripe_env.owner, Refund(ws, payment.id, None))
    with pytest.raises(InvalidRequest, match=r"at most 250\.00 USD"):
        await preview(ctx, STAFF, Refund(ws, payment.id, Money(10**9, "USD")))
    part = await run(ctx, Refund(ws, payment.id, Money(1000, "USD")), STAFF)
    rest = await run(ctx, Refund(ws, payment.id, None), STAFF)
    assert rest.preview.refund == Money(placed.quote.due_now - 1000, "USD")
    assert rest.after.refunded == Money(placed.quote.due_now, "USD")
    assert part.provider_refund != rest.provider_refund
    keys = [k for _, k in stripe_env.fake.calls("POST", "/v1/refunds")]
    assert len(set(keys)) == 2 and all(k and k.startswith("staff:") for k in keys)
    assert len(stripe_env.fake.refunds) == 2
    async with ctx.db.read() as session:
        assert len(list(await session.scalars(select(RefundRow)))) == 2
        audits = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.refund"))
        )
        assert [a.reason_code for a in audits] == ["courtesy", "courtesy"]
        assert all(a.actor == "telegram:9000" and a.refund_id for a in audits)
    with pytest.raises(Conflict, match="Nothing is left to refund"):
        await preview(ctx, STAFF, Refund(ws, payment.id, Money(1, "USD")))


async def test_a_stripe_outage_leaves_the_refund_to_retry_with_the_same_key(
    stripe_env: Stripe,
) -> None:
    _, payment = await _paid_payment(stripe_env)
    ctx, ws = stripe_env.ctx, stripe_env.workspace_id
    shown = await preview(ctx, STAFF, Refund(ws, payment.id, None))
    token = new_token()
    stripe_env.fake.outages["/v1/refunds"] = NETWORK_RETRIES + 1
    with pytest.raises(ProviderFailed, match="confirm again to retry"):
        await confirm(ctx, STAFF, shown.request, ReasonCode.DUPLICATE, None, shown.state_key, token)
    async with ctx.db.read() as session:
        assert list(await session.scalars(select(RefundRow))) == []
        action = await session.scalar(select(StaffAction))
        assert action is not None and action.status == "running"
    outcome = await confirm(
        ctx, STAFF, shown.request, ReasonCode.DUPLICATE, None, shown.state_key, token
    )
    assert isinstance(outcome, Done)
    again = await confirm(
        ctx, STAFF, shown.request, ReasonCode.DUPLICATE, None, shown.state_key, token
    )
    assert isinstance(again, AlreadyDone) and again.result == outcome.result
    made = stripe_env.fake.calls("POST", "/v1/refunds")
    keys = {k for _, k in made} | {k for _, k in stripe_env.fake.unavailable}
    assert keys == {f"staff:{token}"} and len(made) == 1
    assert len(stripe_env.fake.refunds) == 1
    async with ctx.db.read() as session:
        assert len(list(await session.scalars(select(RefundRow)))) == 1
