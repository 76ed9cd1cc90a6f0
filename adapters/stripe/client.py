"""The official SDK's client, pointed at STRIPE_API_BASE (Stripe itself, or a local fake)."""

from __future__ import annotations

import stripe

PROVIDER = "stripe"
# Network retries reuse the request's idempotency key, so a retried create cannot double.
NETWORK_RETRIES = 2


def build_client(secret_key: str, api_base: str = "https://api.stripe.com") -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base.rstrip("/")},
        http_client=stripe.HTTPXClient(),
        max_network_retries=NETWORK_RETRIES,
    )
