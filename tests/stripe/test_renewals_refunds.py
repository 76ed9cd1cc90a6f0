"""Off-session renewals and support refunds through Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor, StaffTier
from core.errors import InvalidRequest, NotAllowed
from core.model import AuditEntry, Order, Refund, Subscription
from core.pricing import Terms
from core.services.refunds import refund_order
from core.services.sweep import sweep
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


async def test_support_refunds_an_order_in_part_then_in_full(stripe_env: Stripe) -> None:
    placed = await stripe_env.order(Terms("cc2", 1, 10))
    await stripe_env.pay(placed.reference)
    ws = stripe_env.workspace_id
    with pytest.raises(NotAllowed):
        await refund_order(stripe_env.ctx, stripe_env.owner, ws, placed.reference, "please")
    with pytest.raises(InvalidRequest):
        await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "  ")
    with pytest.raises(InvalidRequest):
        await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "too much", 10**9)
    part = await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "goodwill", 1000)
    again = await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "goodwill", 1000)
    assert again.duplicate and again.provider_refund_id == part.provider_refund_id
    rest = await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "cancelled")
    assert rest.amount == placed.quote.due_now - 1000
    assert rest.refunded_total == placed.quote.due_now
    keys = [k for _, k in stripe_env.fake.calls("POST", "/v1/refunds")]
    assert keys[0] == f"refund:{placed.reference}:1000"
    assert len(stripe_env.fake.refunds) == 2
    async with stripe_env.ctx.db.unit_of_work() as session:
        assert len(list(await session.scalars(select(Refund)))) == 2
        audits = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "support.refund"))
        )
        assert [a.reason for a in audits] == ["goodwill", "cancelled"]
        assert all(a.actor == "telegram:9000" for a in audits)
    with pytest.raises(InvalidRequest):
        await refund_order(stripe_env.ctx, STAFF, ws, placed.reference, "nothing left", 1)
