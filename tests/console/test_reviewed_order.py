"""What the person confirms is what runs (DESIGN 12): the reviewed quote is the order, a
review past its binding time is shown again, and a provider that fails leaves an order that
the next tap completes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from adapters.sandbox import complete_sandbox_payment
from core.clock import FixedClock, parse_iso
from core.errors import PROVIDER_UNAVAILABLE, PaymentProviderError
from core.model import Order
from core.ports import Checkout, CheckoutRequest, PaymentGateway
from core.services.context import Context
from tests.console.conftest import Chat, ChatFactory

EXAMPLE_1 = ("/upgrade", "Contact Center 2", "12 months", "100", "Next", "Card")
ADD_20 = ("/upgrade", "Contact Center 2", "More accounts of Contact Center 2", "120")


async def orders(services: Context) -> list[Order]:
    async with services.db.read() as session:
        return list(await session.scalars(select(Order).order_by(Order.id)))


async def order_count(services: Context) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def holding_example_1(chat: Chat, services: Context, clock: FixedClock) -> None:
    """DESIGN example 1: cc2, 12 months, 100 accounts, paid 2026-01-15T10:00Z."""
    clock.set(parse_iso("2026-01-15T10:00:00Z"))
    assert "Link:" in await chat.say(*EXAMPLE_1)
    (order,) = await orders(services)
    await complete_sandbox_payment(services, order.reference, fail=False)
    clock.set(parse_iso("2026-07-15T10:00:00Z"))


async def test_an_order_confirmed_twenty_minutes_after_its_review_charges_what_it_showed(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console()
    await holding_example_1(chat, services, clock)
    review = await chat.say(*ADD_20)
    assert "$2,570.96" in review  # DESIGN example 2, at 2026-07-15T10:00Z
    clock.advance(timedelta(minutes=20))  # 20 minutes less to prorate: $2,570.76 by now
    text = await chat.say("Next", "Card")
    order = (await orders(services))[-1]
    assert (order.kind, order.due_now, order.quantity, order.new_quantity) == (
        "add_accounts",
        257096,
        20,
        120,
    )
    assert "$2,570.96 due now" in text and "Link:" in text


async def test_a_review_past_its_binding_time_is_shown_again_and_nothing_is_ordered_on_it(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console()
    await holding_example_1(chat, services, clock)
    await chat.say(*ADD_20)
    clock.advance(timedelta(minutes=25))
    await chat.say("Next")
    clock.advance(timedelta(minutes=7))  # 32 minutes after the review
    text = await chat.say("Card")
    assert "binding for 30 minutes and that time has passed" in text
    assert "Review your order" in text and "$2,570.96" not in text
    assert await order_count(services) == 1  # only the first purchase
    # Priced afresh at 32 minutes: 510,000 x 15,895,680 s / 31,536,000 s = 257,065 cents.
    assert "$2,570.65" in text
    text = await chat.say("Next", "Card")
    order = (await orders(services))[-1]
    assert (order.kind, order.due_now, order.created_at) == ("add_accounts", 257065, clock.now())
    assert "$2,570.65 due now" in text


class FailsOnce:
    """A gateway whose first checkout fails as an unreachable provider does."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner
        self.name = inner.name
        self.failures = 1
        self.requests: list[CheckoutRequest] = []

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        self.requests.append(request)
        if self.failures:
            self.failures -= 1
            raise PaymentProviderError(PROVIDER_UNAVAILABLE)
        return await self.inner.create_checkout(request)

    async def cancel_checkout(self, provider_reference: str) -> None:
        await self.inner.cancel_checkout(provider_reference)


async def test_a_provider_that_fails_once_leaves_a_pending_order_whose_link_comes_on_retry(
    open_console: ChatFactory, services: Context
) -> None:
    assert services.gateway is not None
    gateway = FailsOnce(services.gateway)
    services.gateway = gateway
    chat = await open_console()
    review = await chat.say(*EXAMPLE_1[:-1])
    text = await chat.say("Card")
    assert "The payment provider could not be reached; try again in a moment." in text
    assert "paid from your credit balance" not in text
    assert "How would you like to pay?" in text  # still at the payment method
    (order,) = await orders(services)
    assert (order.status, order.payment_link) == ("pending", None)
    text = await chat.say("Card")
    (again,) = await orders(services)
    assert again.reference == order.reference and again.payment_link is not None
    assert f"Link: {again.payment_link}" in text and "paid from" not in text
    assert again.due_now == 2_550_000 and "$25,500.00" in review
    assert [r.idempotency_key for r in gateway.requests] == [order.idempotency_key] * 2
    assert {r.due_now for r in gateway.requests} == {2_550_000}
