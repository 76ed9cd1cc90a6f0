"""One Stripe customer per workspace: core remembers it, this module makes it at Stripe."""

from __future__ import annotations

import stripe
from stripe.params import CustomerCreateParams

from adapters.stripe.client import PROVIDER
from core.clock import Clock
from core.db import Database
from core.services import customers


async def stored_customer(db: Database, workspace_id: int) -> str | None:
    return await customers.stored_customer(db, PROVIDER, workspace_id)


async def ensure_customer(
    client: stripe.StripeClient, db: Database, clock: Clock, workspace_id: int, name: str
) -> str:
    """The workspace's customer id; created with a key per workspace, so a retry reuses it."""

    async def create() -> str:
        params: CustomerCreateParams = {"metadata": {"workspace": str(workspace_id)}}
        if name:
            params["name"] = name[:256]
        customer = await client.v1.customers.create_async(
            params, {"idempotency_key": f"customer:{workspace_id}"}
        )
        return customer.id

    return await customers.customer_for(db, clock, PROVIDER, workspace_id, create)


async def saved_card(client: stripe.StripeClient, customer: str) -> str | None:
    """The card the customer saved in a Checkout (setup_future_usage), newest first."""
    methods = await client.v1.customers.payment_methods.list_async(
        customer, {"type": "card", "limit": 1}
    )
    return methods.data[0].id if methods.data else None
