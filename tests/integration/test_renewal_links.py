"""A renewal the provider could not serve in one sweep gets its link in the next, with the
same idempotency key, and does not hold up the other renewals (DESIGN 12)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.errors import PROVIDER_UNAVAILABLE, PaymentProviderError
from core.model import Order, OrderKind
from core.ports import Checkout, CheckoutRequest
from core.pricing import Terms
from core.services.context import Context
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from tests.fakes import FakeGateway
from tests.integration.helpers import buy


class RefusesFirst(FakeGateway):
    """Refuses the first checkout it is asked for, as a provider briefly unavailable does."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        self.asked.append(request.idempotency_key)
        if len(self.asked) == 1:
            raise PaymentProviderError(PROVIDER_UNAVAILABLE)
        return await super().create_checkout(request)


async def renewals(ctx: Context) -> list[Order]:
    async with ctx.db.read() as session:
        found = await session.scalars(
            select(Order).where(Order.kind == OrderKind.RENEWAL).order_by(Order.id)
        )
        return list(found)


async def test_a_renewal_refused_a_link_gets_it_in_the_next_sweep_and_the_others_go_on(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    other = await create_workspace(ctx, Actor("telegram", "2002"), "Beta")
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 5))
    await buy(ctx, Actor("telegram", "2002"), other, Terms("cc1", 1, 3))
    gateway = RefusesFirst()
    ctx.gateway = gateway
    clock.advance(timedelta(days=31))
    report = await sweep(ctx)
    first, second = await renewals(ctx)
    assert report["renewal.link_failed"] == 1
    assert (first.payment_link, second.payment_link is not None) == (None, True)
    clock.advance(timedelta(hours=1))
    report = await sweep(ctx)
    again = (await renewals(ctx))[0]
    assert report["renewal.link_retried"] == 1 and again.payment_link is not None
    assert gateway.asked.count(first.idempotency_key) == 2
    assert len(await renewals(ctx)) == 2  # no renewal order was made twice
