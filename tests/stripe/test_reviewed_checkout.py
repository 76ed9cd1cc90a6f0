"""The Checkout Session shows the reviewed amounts to the cent, and a Stripe that is briefly
unavailable leaves an order whose next tap gets its link with the same idempotency key."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from adapters.console import open_chat
from adapters.stripe.client import NETWORK_RETRIES
from core.clock import FixedClock, parse_iso
from core.model import Order
from tests.stripe.conftest import Stripe

SESSIONS = "/v1/checkout/sessions"


async def orders(stripe: Stripe) -> list[Order]:
    async with stripe.ctx.db.read() as session:
        return list(await session.scalars(select(Order).order_by(Order.id)))


async def say(chat: object, buffer: io.StringIO, *lines: str) -> str:
    start = buffer.tell()
    for line in lines:
        await chat.step(line)  # type: ignore[attr-defined]
    buffer.seek(start)
    text = buffer.read()
    buffer.seek(0, io.SEEK_END)
    return text


async def test_a_stripe_outage_on_the_first_tap_is_completed_by_the_next(
    stripe_env: Stripe,
) -> None:
    buffer = io.StringIO()
    chat = await open_chat(
        stripe_env.ctx, workspace="acme", user="ana", role="admin", language="en", out=buffer
    )
    await say(chat, buffer, "/upgrade", "Contact Center 2", "12 months", "100", "Next")
    stripe_env.fake.outages[SESSIONS] = NETWORK_RETRIES + 1  # every retry of the SDK fails
    text = await say(chat, buffer, "Card")
    assert "could not be reached; try again in a moment." in text
    assert "paid from your credit balance" not in text
    (order,) = await orders(stripe_env)
    assert (order.status, order.payment_link, order.due_now) == ("pending", None, 2_550_000)
    text = await say(chat, buffer, "Card")
    (again,) = await orders(stripe_env)
    assert again.reference == order.reference and f"Link: {again.payment_link}" in text
    made = stripe_env.fake.calls("POST", SESSIONS)
    keys = {key for _, key in made} | {key for _, key in stripe_env.fake.unavailable}
    assert keys == {f"checkout:{order.idempotency_key}"}
    assert len(stripe_env.fake.unavailable) == NETWORK_RETRIES + 1 and len(made) == 1
    session = stripe_env.fake.sessions[again.provider_reference or ""]
    assert (session["amount_total"], session["client_reference_id"]) == (2_550_000, order.reference)


async def test_the_session_shows_the_reviewed_amounts_twenty_minutes_later(
    stripe_env: Stripe, clock: FixedClock
) -> None:
    buffer = io.StringIO()
    chat = await open_chat(
        stripe_env.ctx, workspace="acme", user="ana", role="admin", language="en", out=buffer
    )
    clock.set(parse_iso("2026-01-15T10:00:00Z"))
    await say(chat, buffer, "/upgrade", "Contact Center 2", "12 months", "100", "Next", "Card")
    await stripe_env.pay((await orders(stripe_env))[0].reference)
    clock.set(parse_iso("2026-07-15T10:00:00Z"))
    review = await say(
        chat, buffer, "/upgrade", "Contact Center 2", "More accounts of Contact Center 2", "120"
    )
    assert "$2,570.96" in review
    clock.advance(timedelta(minutes=20))
    await say(chat, buffer, "Next", "Card")
    order = (await orders(stripe_env))[-1]
    session = stripe_env.fake.sessions[order.provider_reference or ""]
    (item,) = session["line_items"]
    assert (int(item["price_data"]["unit_amount"]), int(item["quantity"])) == (25_500, 20)
    assert session["amount_subtotal"] == 510_000
    assert session["amount_total"] == order.due_now == 257_096
