"""Fakes of the outside world for core tests: a payment gateway that records what it was asked."""

from __future__ import annotations

from core.errors import PROVIDER_UNAVAILABLE, PaymentProviderError
from core.ports import Checkout, CheckoutRequest, RefundRequest, RefundResult


class FakeGateway:
    """Hands out links like a provider would, and remembers checkouts and cancellations."""

    name = "fake"

    def __init__(self) -> None:
        self.checkouts: dict[str, CheckoutRequest] = {}
        self.cancelled: list[str] = []
        self.refunds: dict[str, RefundRequest] = {}
        """Refunds made, by idempotency key: a repeated key is the same refund."""
        self.refund_outages = 0
        """How many more refund requests fail before one goes through."""
        self.keys: dict[str, list[str]] = {}
        """Per order, the idempotency keys its checkouts were asked with."""

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        keys = self.keys.setdefault(request.order_reference, [])
        if request.idempotency_key not in keys:
            keys.append(request.idempotency_key)
        n = keys.index(request.idempotency_key)
        # A new key makes a new checkout (the same key, the same one).
        reference = f"cs_{request.order_reference}" + (f"_{n + 1}" if n else "")
        self.checkouts[reference] = request
        return Checkout(
            provider=self.name,
            link=f"https://pay.example.test/{reference}",
            provider_reference=reference,
            expires_at=request.expires_at,
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        self.cancelled.append(provider_reference)

    async def refund(self, request: RefundRequest) -> RefundResult:
        if self.refund_outages > 0:
            self.refund_outages -= 1
            raise PaymentProviderError(PROVIDER_UNAVAILABLE)
        self.refunds.setdefault(request.idempotency_key, request)
        return RefundResult(f"re_{request.idempotency_key}", request.amount, "succeeded")


class StripeNamedGateway(FakeGateway):
    """Places orders whose provider is Stripe, for the pages Stripe Checkout returns to."""

    name = "stripe"
