"""StripeGateway: the payment-gateway port, plus off-session renewals and refunds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from adapters.stripe.checkout import coupon_params, session_expiry, session_params
from adapters.stripe.client import PROVIDER
from adapters.stripe.customers import ensure_customer, saved_card, stored_customer
from core.clock import Clock
from core.db import Database
from core.errors import PROVIDER_REFUSED, PROVIDER_UNAVAILABLE, PaymentProviderError
from core.ports import (
    ChargeResult,
    Checkout,
    CheckoutRequest,
    OffSessionCharge,
    RefundRequest,
    RefundResult,
)

log = logging.getLogger("planbot.stripe")


def provider_error(exc: stripe.StripeError) -> PaymentProviderError:
    unavailable = (exc.http_status or 0) >= 500  # Stripe itself failed: worth a retry
    if unavailable or isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderError(PROVIDER_UNAVAILABLE)
    detail = exc.user_message or str(exc) or type(exc).__name__
    return PaymentProviderError(PROVIDER_REFUSED, detail=detail)


class StripeGateway:
    """Checkout Sessions in payment mode, one customer per workspace, keys from the order."""

    name = PROVIDER

    def __init__(
        self, client: stripe.StripeClient, db: Database, clock: Clock, public_url: str
    ) -> None:
        self.client = client
        self.db = db
        self.clock = clock
        self.public_url = public_url.strip().rstrip("/")

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        key = request.idempotency_key
        try:
            customer = await ensure_customer(
                self.client, self.db, self.clock, request.workspace_id, request.workspace_name
            )
            expires_at = session_expiry(request.expires_at, self.clock.now())
            try:
                session = await self._session(request, customer, expires_at, key)
            except stripe.IdempotencyError:
                # An earlier attempt reached Stripe at another time (so with another expiry)
                # and its answer was lost: that session was never shown and lapses by itself.
                # This attempt's parameters get keys of their own, still reused on retry.
                log.info("stripe checkout for %s made again", request.order_reference)
                again = f"{key}:{int(expires_at.timestamp())}"
                session = await self._session(request, customer, expires_at, again)
        except stripe.StripeError as exc:
            log.warning("stripe checkout for %s failed: %s", request.order_reference, exc)
            raise provider_error(exc) from exc
        if not session.url:
            raise PaymentProviderError(PROVIDER_REFUSED, detail="no checkout URL")
        return Checkout(
            provider=self.name,
            link=session.url,
            provider_reference=session.id,
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )

    async def _session(
        self, request: CheckoutRequest, customer: str, expires_at: datetime, key: str
    ) -> stripe.checkout.Session:
        """The order's coupon (for its discount) and Checkout Session, with keys from `key`."""
        coupon = None
        if request.discount > 0:
            created = await self.client.v1.coupons.create_async(
                cast(Any, coupon_params(request)), {"idempotency_key": f"coupon:{key}"}
            )
            coupon = created.id
        params = session_params(
            request,
            customer=customer,
            coupon=coupon,
            public_url=self.public_url,
            expires_at=expires_at,
        )
        return await self.client.v1.checkout.sessions.create_async(
            cast(SessionCreateParams, params), {"idempotency_key": f"checkout:{key}"}
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        """Expire an open session; one already complete or expired is left as it is."""
        try:
            await self.client.v1.checkout.sessions.expire_async(
                provider_reference, options={"idempotency_key": f"expire:{provider_reference}"}
            )
        except stripe.InvalidRequestError as exc:
            log.info("stripe session %s not expired: %s", provider_reference, exc)
        except stripe.StripeError as exc:
            # The order is closed in planbot already; a payment that still lands is credited.
            log.warning("stripe session %s could not be expired: %s", provider_reference, exc)

    async def charge_off_session(self, charge: OffSessionCharge) -> ChargeResult:
        """A PaymentIntent on the saved card (confirm, off_session), one key per renewal."""
        none = ChargeResult(False, None, charge.amount, charge.currency, attempted=False)
        try:
            customer = await stored_customer(self.db, charge.workspace_id)
            if customer is None:
                return none
            card = await saved_card(self.client, customer)
            if card is None:
                return none
            params: PaymentIntentCreateParams = {
                "amount": charge.amount,
                "currency": charge.currency.lower(),
                "customer": customer,
                "payment_method": card,
                "confirm": True,
                "off_session": True,
                "description": charge.description[:1000],
                "metadata": {"order": charge.order_reference, "kind": "renewal"},
            }
            intent = await self.client.v1.payment_intents.create_async(
                params, {"idempotency_key": charge.idempotency_key}
            )
        except stripe.CardError as exc:
            failed = exc.error.payment_intent if exc.error is not None else None
            return ChargeResult(
                False,
                None if failed is None else failed.id,
                charge.amount,
                charge.currency,
                reason=exc.user_message or exc.code or "card declined",
            )
        except stripe.StripeError as exc:
            log.warning("stripe renewal charge for %s failed: %s", charge.order_reference, exc)
            return ChargeResult(
                False, None, charge.amount, charge.currency, reason="payment provider error"
            )
        if intent.status != "succeeded":
            # requires_action (authentication) and the like: the customer pays by link.
            return ChargeResult(
                False, intent.id, charge.amount, charge.currency, reason=intent.status
            )
        return ChargeResult(
            True, intent.id, intent.amount_received, intent.currency.upper(), reason=None
        )

    async def refund(self, request: RefundRequest) -> RefundResult:
        params: RefundCreateParams = {
            "payment_intent": request.provider_payment_id,
            "amount": request.amount,
            "reason": "requested_by_customer",
            "metadata": {"order": request.order_reference, "reason": request.reason[:500]},
        }
        try:
            refund = await self.client.v1.refunds.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        return RefundResult(
            provider_refund_id=refund.id, amount=refund.amount, status=refund.status or "pending"
        )
