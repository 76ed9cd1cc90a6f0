"""Stripe payments: Checkout Sessions for orders, signed webhooks, off-session renewals, refunds.

planbot is the billing engine (it prices, schedules and renews); Stripe only collects money.
Every mutating call carries an idempotency key derived from the order, reused on retry.
"""

from adapters.stripe.client import PROVIDER, build_client
from adapters.stripe.gateway import StripeGateway
from adapters.stripe.webhook import WEBHOOK_PATH, stripe_routes

__all__ = ["PROVIDER", "WEBHOOK_PATH", "StripeGateway", "build_client", "stripe_routes"]
