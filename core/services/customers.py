"""A workspace's customer at a payment provider: created once, remembered here.

The provider is asked outside any transaction: one unit of work reads, the provider call
runs with none open, and another stores; a concurrent request that stored first wins, and
its customer is the one returned (the provider's idempotency key makes them the same).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.db import Database
from core.model import ProviderCustomer


async def stored_customer(db: Database, provider: str, workspace_id: int) -> str | None:
    async with db.unit_of_work() as session:
        customer: str | None = await session.scalar(
            select(ProviderCustomer.customer_id).where(
                ProviderCustomer.provider == provider,
                ProviderCustomer.workspace_id == workspace_id,
            )
        )
        return customer


async def customer_for(
    db: Database,
    clock: Clock,
    provider: str,
    workspace_id: int,
    create: Callable[[], Awaitable[str]],
) -> str:
    """The stored customer id, or the one `create` makes at the provider, then stored."""
    known = await stored_customer(db, provider, workspace_id)
    if known is not None:
        return known
    created = await create()
    try:
        async with db.unit_of_work() as session:
            session.add(
                ProviderCustomer(
                    provider=provider,
                    workspace_id=workspace_id,
                    customer_id=created,
                    created_at=clock.now(),
                )
            )
    except IntegrityError:
        stored = await stored_customer(db, provider, workspace_id)
        assert stored is not None
        return stored
    return created
