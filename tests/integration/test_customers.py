"""A workspace's provider customer: made once at the provider with no transaction open, and a
concurrent request that stored its customer first is the one every caller gets."""

from __future__ import annotations

from sqlalchemy import select

from core.model import ProviderCustomer
from core.services.context import Context
from core.services.customers import customer_for, stored_customer

PROVIDER = "test-provider"


async def customers(ctx: Context) -> list[tuple[int, str]]:
    async with ctx.db.unit_of_work() as session:
        rows = await session.execute(
            select(ProviderCustomer.workspace_id, ProviderCustomer.customer_id)
        )
        return [(workspace, customer) for workspace, customer in rows]


async def test_the_customer_is_made_outside_a_transaction_and_stored_once(
    ctx: Context, workspace_id: int
) -> None:
    calls: list[bool] = []

    async def create() -> str:
        calls.append(ctx.db.in_unit_of_work)
        return "cus_1"

    assert await customer_for(ctx.db, ctx.clock, PROVIDER, workspace_id, create) == "cus_1"
    assert await customer_for(ctx.db, ctx.clock, PROVIDER, workspace_id, create) == "cus_1"
    assert calls == [False]
    assert await customers(ctx) == [(workspace_id, "cus_1")]


async def test_a_customer_stored_first_by_a_concurrent_request_wins(
    ctx: Context, workspace_id: int
) -> None:
    async def create() -> str:
        async with ctx.db.unit_of_work() as session:
            session.add(
                ProviderCustomer(
                    provider=PROVIDER,
                    workspace_id=workspace_id,
                    customer_id="cus_winner",
                    created_at=ctx.clock.now(),
                )
            )
        return "cus_late"

    found = await customer_for(ctx.db, ctx.clock, PROVIDER, workspace_id, create)
    assert found == "cus_winner"
    assert await stored_customer(ctx.db, PROVIDER, workspace_id) == "cus_winner"
    assert await customers(ctx) == [(workspace_id, "cus_winner")]
