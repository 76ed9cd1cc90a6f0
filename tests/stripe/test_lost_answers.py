"""A Checkout Session whose answer was lost (the worker died, the connection dropped) is asked
for again later: the order still gets a payable link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.clock import FixedClock
from core.model import Order
from core.services.checkouts import checkout_request
from tests.stripe.conftest import Stripe


async def test_a_checkout_asked_again_a_minute_after_a_lost_answer_is_made(
    stripe_env: Stripe,
) -> None:
    placed = await stripe_env.order()
    async with stripe_env.ctx.db.read() as session:
        order = await session.scalar(select(Order).where(Order.reference == placed.reference))
    assert order is not None and order.provider_reference is not None
    request = checkout_request(stripe_env.ctx, order, "Acme Support")
    gateway = stripe_env.ctx.gateway
    assert gateway is not None and isinstance(stripe_env.ctx.clock, FixedClock)

    # The same call at the same instant is the same session (Stripe replays the key).
    assert (await gateway.create_checkout(request)).provider_reference == order.provider_reference
    # A minute on, the session's expiry differs, so Stripe refuses the key's reuse: the
    # attempt gets keys of its own rather than no link at all.
    stripe_env.ctx.clock.advance(timedelta(minutes=1))
    again = await gateway.create_checkout(request)
    assert again.provider_reference != order.provider_reference
    assert stripe_env.fake.sessions[again.provider_reference]["status"] == "open"
    assert stripe_env.fake.sessions[again.provider_reference]["client_reference_id"] == (
        placed.reference
    )
    # ... and asking again then is that session once more.
    assert (await gateway.create_checkout(request)).provider_reference == again.provider_reference
