"""Fakes of the outside world for core tests: a payment gateway that records what it was asked."""

from __future__ import annotations

from core.ports import Checkout, CheckoutRequest


class FakeGateway:
    """Hands out links like a provider would, and remembers checkouts and cancellations."""

    name = "fake"

    def __init__(self) -> None:
        self.checkouts: dict[str, CheckoutRequest] = {}
        self.cancelled: list[str] = []

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        reference = f"cs_{request.order_reference}"
        self.checkouts[reference] = request
        return Checkout(
            provider=self.name,
            link=f"https://pay.example.test/{reference}",
            provider_reference=reference,
            expires_at=request.expires_at,
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        self.cancelled.append(provider_reference)


class StripeNamedGateway(FakeGateway):
    """Places orders whose provider is Stripe, for the pages Stripe Checkout returns to."""

    name = "stripe"
