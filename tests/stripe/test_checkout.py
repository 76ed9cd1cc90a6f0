"""Stripe Checkout end to end: the SDK over HTTP to a fake Stripe, signed webhooks to the app."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.access import Actor
from core.clock import FixedClock
from core.model import Payment, ProviderEvent, Subscription
from core.pricing import Terms
from core.services.staff.requests import Grant
from core.services.sweep import sweep
from tests.integration.staff import run
from tests.stripe.conftest import PUBLIC_URL, Stripe


async def count(stripe: Stripe, what: object) -> int:
    async with stripe.ctx.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


async def subscription(stripe: Stripe, package: str = "cc2") -> Subscription:
    async with stripe.ctx.db.unit_of_work() as session:
        sub = await session.scalar(select(Subscription).where(Subscription.package == package))
        assert sub is not None
        return sub


async def test_happy_path_hands_out_a_checkout_link_and_applies_the_payment_once(
    stripe_env: Stripe,
) -> None:
    placed = await stripe_env.order()
    assert placed.payment_link and placed.payment_link.startswith(stripe_env.fake.url + "/pay/cs_")
    [(params, key)] = stripe_env.fake.calls("POST", "/v1/checkout/sessions")
    order = await stripe_env.stored(placed.reference)
    assert key == f"checkout:{order.idempotency_key}"
    item = params["line_items"][0]
    assert item["price_data"]["unit_amount"] == "25500"  # Price, in cents: never multiplied
    assert item["quantity"] == "100" and item["price_data"]["currency"] == "usd"
    assert params["client_reference_id"] == placed.reference
    assert params["metadata"]["order"] == placed.reference
    assert params["payment_method_types"] == ["card"]
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert params["success_url"].startswith(PUBLIC_URL + "/stripe/success")
    assert params["cancel_url"].startswith(PUBLIC_URL + "/stripe/cancel")
    now = int(stripe_env.ctx.clock.now().timestamp())
    assert now + 30 * 60 <= int(params["expires_at"]) <= now + 24 * 3600
    assert "discounts" not in params
    # The customer is created once per workspace, with its own key.
    assert [k for _, k in stripe_env.fake.calls("POST", "/v1/customers")] == [
        f"customer:{stripe_env.workspace_id}"
    ]

    await stripe_env.pay(placed.reference)
    assert (await stripe_env.stored(placed.reference)).status == "paid"
    sub = await subscription(stripe_env)
    assert (sub.state, sub.quantity, sub.cycle_months) == ("active", 100, 12)
    assert await count(stripe_env, Payment) == 1
    kinds = [n.kind for n in stripe_env.notifier.notices]
    assert kinds.count("payment.succeeded") == 1
    # A second order reuses the customer.
    await stripe_env.order(Terms("cc3", 1, 5))
    assert len(stripe_env.fake.calls("POST", "/v1/customers")) == 1


async def test_credit_shows_as_a_one_off_coupon_and_the_total_is_the_amount_due(
    stripe_env: Stripe,
) -> None:
    first = await stripe_env.order(Terms("cc2", 12, 100))
    await stripe_env.pay(first.reference)
    stripe_env.ctx.clock.advance(timedelta(days=181))  # type: ignore[attr-defined]
    sub = await subscription(stripe_env)
    change = await stripe_env.order(Terms("cc3", 12, 100), subscription_id=sub.id)
    assert change.quote.credit > 0
    [(coupon, key)] = stripe_env.fake.calls("POST", "/v1/coupons")
    order = await stripe_env.stored(change.reference)
    assert key == f"coupon:{order.idempotency_key}"
    assert int(coupon["amount_off"]) == order.credit + order.proration + order.balance_applied
    session = stripe_env.fake.sessions[order.provider_reference or ""]
    assert session["amount_subtotal"] == order.total
    assert session["amount_total"] == order.due_now
    await stripe_env.pay(change.reference)
    assert (await stripe_env.stored(change.reference)).status == "paid"
    assert (await subscription(stripe_env, "cc3")).state == "active"


async def test_a_declined_card_leaves_the_order_payable_and_a_retry_pays_it(
    stripe_env: Stripe,
) -> None:
    placed = await stripe_env.order()
    sid = await stripe_env.session_of(placed.reference)
    response = await stripe_env.fake.send(stripe_env.fake.decline(sid))
    assert response.status_code == 200
    assert (await stripe_env.stored(placed.reference)).status == "pending"
    assert await count(stripe_env, Payment) == 0
    await stripe_env.pay(placed.reference)
    assert (await stripe_env.stored(placed.reference)).status == "paid"


async def test_a_bank_transfer_waits_for_the_money_then_applies(stripe_env: Stripe) -> None:
    placed = await stripe_env.order(method="bank_transfer")
    [(params, _)] = stripe_env.fake.calls("POST", "/v1/checkout/sessions")
    assert params["payment_method_types"] == ["customer_balance"]
    options = params["payment_method_options"]["customer_balance"]
    assert options == {
        "funding_type": "bank_transfer",
        "bank_transfer": {"type": "us_bank_transfer"},
    }
    sid = await stripe_env.session_of(placed.reference)
    [completed] = stripe_env.fake.pay(sid, asynchronous=True)
    assert (await stripe_env.fake.send(completed)).status_code == 200
    assert (await stripe_env.stored(placed.reference)).status == "pending"
    settled = stripe_env.fake.settle(sid)
    assert (await stripe_env.fake.send(settled)).status_code == 200
    assert (await stripe_env.stored(placed.reference)).status == "paid"
    assert (await stripe_env.fake.send(settled)).json()["outcome"] == "duplicate"
    assert await count(stripe_env, Payment) == 1


async def test_a_bank_transfer_that_settles_days_later_still_applies(
    stripe_env: Stripe,
) -> None:
    placed = await stripe_env.order(method="bank_transfer")
    sid = await stripe_env.session_of(placed.reference)
    [completed] = stripe_env.fake.pay(sid, asynchronous=True)
    assert (await stripe_env.fake.send(completed)).json()["outcome"] == (
        "waiting for an asynchronous payment"
    )
    clock = stripe_env.ctx.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=2))
    assert (await sweep(stripe_env.ctx))["order.expired"] == 0
    assert (await stripe_env.fake.send(stripe_env.fake.settle(sid))).status_code == 200
    assert (await stripe_env.stored(placed.reference)).status == "paid"


async def test_a_failed_bank_transfer_fails_the_order(stripe_env: Stripe) -> None:
    placed = await stripe_env.order(method="bank_transfer")
    sid = await stripe_env.session_of(placed.reference)
    for event in stripe_env.fake.pay(sid, asynchronous=True):
        await stripe_env.fake.send(event)
    assert (await stripe_env.fake.send(stripe_env.fake.settle(sid, ok=False))).status_code == 200
    assert (await stripe_env.stored(placed.reference)).status == "failed"
    assert "payment.failed" in [n.kind for n in stripe_env.notifier.notices]


async def test_an_expired_session_releases_the_order(stripe_env: Stripe) -> None:
    placed = await stripe_env.order()
    sid = await stripe_env.session_of(placed.reference)
    stripe_env.fake.expire_session(sid)
    event = stripe_env.fake.events[-1]
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "expired"
    order = await stripe_env.stored(placed.reference)
    assert order.status == "expired"
    assert (await stripe_env.fake.send(event)).json()["outcome"] == "unchanged"
    assert await count(stripe_env, ProviderEvent) == 1


async def test_a_newer_order_expires_the_older_session(stripe_env: Stripe) -> None:
    first = await stripe_env.order(Terms("cc2", 12, 100))
    await stripe_env.order(Terms("cc2", 12, 120))
    sid = await stripe_env.session_of(first.reference)
    assert stripe_env.fake.sessions[sid]["status"] == "expired"
    [(_, key)] = stripe_env.fake.calls("POST", f"/v1/checkout/sessions/{sid}/expire")
    assert key == f"expire:{sid}"


async def test_duplicate_and_shuffled_deliveries_from_concurrent_senders_fulfil_once(
    stripe_env: Stripe,
) -> None:
    references = []
    for n in range(6):
        terms = Terms(("cc1", "cc2", "cc3")[n % 3], 12, 10 + n)
        if n >= 3:
            stripe_env.workspace_id = await _another_workspace(stripe_env, n)
        references.append((stripe_env.workspace_id, (await stripe_env.order(terms)).reference))
    events = []
    for _, reference in references:
        events += stripe_env.fake.pay(await stripe_env.session_of(reference))
    deliveries = events + random.Random(7).sample(events, len(events) // 2) + events[:3]
    random.Random(3).shuffle(deliveries)
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for event in deliveries:
        queue.put_nowait(event)  # type: ignore[arg-type]

    async def sender() -> None:
        while not queue.empty():
            response = await stripe_env.fake.send(queue.get_nowait())  # type: ignore[arg-type]
            assert response.status_code == 200, response.text

    await asyncio.gather(*(sender() for _ in range(4)))
    for _, reference in references:
        assert (await stripe_env.stored(reference)).status == "paid"
    assert await count(stripe_env, Payment) == len(references)
    assert [n.kind for n in stripe_env.notifier.notices].count("payment.succeeded") == len(
        references
    )


async def _another_workspace(stripe_env: Stripe, n: int) -> int:
    from core.services.workspaces import create_workspace

    stripe_env.owner = Actor("telegram", f"20{n}")
    return await create_workspace(stripe_env.ctx, stripe_env.owner, f"Team {n}")


async def test_a_forged_signature_a_stale_timestamp_and_junk_get_400_and_change_nothing(
    stripe_env: Stripe,
) -> None:
    placed = await stripe_env.order()
    [completed, _] = stripe_env.fake.pay(await stripe_env.session_of(placed.reference))
    forged = await stripe_env.fake.send(completed, secret="whsec_someone_else")
    stale = await stripe_env.fake.send(completed, timestamp=int(time.time()) - 301)
    junk = await stripe_env.fake.send(completed, body=b"{not json")
    unsigned = await stripe_env.fake.webhook.post(  # type: ignore[union-attr]
        "/stripe/webhook", content=json.dumps(completed).encode()
    )
    no_order = dict(
        completed,
        data={
            "object": {
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "id": "cs_x",
            }
        },
    )
    malformed = await stripe_env.fake.send(no_order)
    for response in (forged, stale, junk, unsigned, malformed):
        assert response.status_code == 400, response.text
    assert (await stripe_env.stored(placed.reference)).status == "pending"
    assert await count(stripe_env, Payment) == 0
    assert await count(stripe_env, ProviderEvent) == 0


async def test_an_amount_that_does_not_match_the_order_is_not_applied(stripe_env: Stripe) -> None:
    placed = await stripe_env.order()
    [completed, _] = stripe_env.fake.pay(await stripe_env.session_of(placed.reference))
    completed["data"]["object"]["amount_total"] -= 1  # type: ignore[index]
    response = await stripe_env.fake.send(completed)
    assert response.json()["outcome"] == "mismatch"
    assert (await stripe_env.stored(placed.reference)).status == "pending"
    assert "payment.needs_support" in [n.kind for n in stripe_env.notifier.notices]


async def test_a_paid_order_whose_base_changed_goes_to_the_balance(stripe_env: Stripe) -> None:
    first = await stripe_env.order(Terms("cc2", 12, 100))
    await stripe_env.pay(first.reference)
    sub = await subscription(stripe_env)
    more = await stripe_env.order(Terms("cc2", 12, 120), subscription_id=sub.id)
    # The customer pays while support grants accounts (which closes the order).
    [completed, _] = stripe_env.fake.pay(await stripe_env.session_of(more.reference))
    await run(stripe_env.ctx, Grant(stripe_env.workspace_id, sub.id, 5))
    assert (await stripe_env.fake.send(completed)).json()["outcome"] == "credited"
    assert (await subscription(stripe_env)).quantity == 105


@pytest.mark.parametrize("method", ["card", "bank_transfer"])
async def test_a_zero_decimal_currency_is_never_multiplied(stripe_env: Stripe, method: str) -> None:
    from core.catalog import load_catalog

    stripe_env.ctx.catalog = load_catalog("core/catalogs/vnd.toml")
    from core.services.workspaces import create_workspace

    stripe_env.workspace_id = await create_workspace(
        stripe_env.ctx, Actor("telegram", "31"), "Hanoi"
    )
    stripe_env.owner = Actor("telegram", "31")
    await stripe_env.order(Terms("cc2", 3, 7), method=method)
    [(params, _)] = stripe_env.fake.calls("POST", "/v1/checkout/sessions")
    assert params["line_items"][0]["price_data"] == {
        **params["line_items"][0]["price_data"],
        "currency": "vnd",
        "unit_amount": "712500",
    }
    assert params["payment_method_types"] == ["card"]  # no bank transfer for VND
