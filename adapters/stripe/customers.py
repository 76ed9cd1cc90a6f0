"""One Stripe customer per workspace, created once and remembered in planbot's database."""

from __future__ import annotations

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from stripe.params import CustomerCreateParams

from adapters.stripe.client import PROVIDER
from core.clock import Clock
from core.db import Database
from core.model import ProviderCustomer


async def stored_customer(db: Database, workspace_id: int) -> str | None:
    async with db.unit_of_work() as session:
        customer: str | None = await session.scalar(
            select(ProviderCustomer.customer_id).where(
                ProviderCustomer.provider == PROVIDER,
                ProviderCustomer.workspace_id == workspace_id,
            )
        )
        return customer


async def ensure_customer(
    client: stripe.StripeClient, db: Database, clock: Clock, workspace_id: int, name: str
) -> str:
    """The workspace's customer id; created with a key per workspace, so a retry reuses it."""
    known = await stored_customer(db, workspace_id)
    if known is not None:
        return known
    params: CustomerCreateParams = {
        "metadata": {"workspace": str(workspace_id)},
    }
    if name:
        params["name"] = name[:256]
    customer = await client.v1.customers.create_async(
        params, {"idempotency_key": f"customer:{workspace_id}"}
    )
    try:
        async with db.unit_of_work() as session:
            session.add(
                ProviderCustomer(
                    provider=PROVIDER,
                    workspace_id=workspace_id,
                    customer_id=customer.id,
                    created_at=clock.now(),
                )
            )
    except IntegrityError:
        # Another request stored it first (the same customer: same idempotency key).
        stored = await stored_customer(db, workspace_id)
        assert stored is not None
        return stored
    return customer.id


async def saved_card(client: stripe.StripeClient, customer: str) -> str | None:
    """The card the customer saved in a Checkout (setup_future_usage), newest first."""
    methods = await client.v1.customers.payment_methods.list_async(
        customer, {"type": "card", "limit": 1}
    )
    return methods.data[0].id if methods.data else None
