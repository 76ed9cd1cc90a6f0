"""planbot with the Stripe gateway: the real SDK over HTTP against a fake Stripe on 127.0.0.1,
and webhooks signed as Stripe signs them, posted to the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest
from sqlalchemy import select

from adapters.stripe import StripeGateway, build_client, stripe_routes
from adapters.web import create_app
from core.access import Actor
from core.model import Order
from core.ports import RecordingNotifier
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import Chat, PlacedOrder, place_order
from core.services.workspaces import create_workspace
from tests.stripe.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, running

PUBLIC_URL = "https://planbot.test"
DEFAULT_TERMS = Terms("cc2", 12, 100)


@dataclass
class Stripe:
    fake: FakeStripe
    ctx: Context
    notifier: RecordingNotifier
    owner: Actor
    workspace_id: int

    async def order(
        self, terms: Terms = DEFAULT_TERMS, method: str = "card", **kw: object
    ) -> PlacedOrder:
        return await place_order(
            self.ctx,
            self.owner,
            self.workspace_id,
            terms,
            payment_method=method,
            chat=Chat("telegram", "1001"),
            **kw,  # type: ignore[arg-type]
        )

    async def stored(self, reference: str) -> Order:
        async with self.ctx.db.unit_of_work() as session:
            order = await session.scalar(select(Order).where(Order.reference == reference))
            assert order is not None
            return order

    async def session_of(self, reference: str) -> str:
        order = await self.stored(reference)
        assert order.provider == "stripe" and order.provider_reference
        return order.provider_reference

    async def pay(self, reference: str) -> None:
        for event in self.fake.pay(await self.session_of(reference)):
            response = await self.fake.send(event)
            assert response.status_code == 200, response.text


@pytest.fixture
async def stripe_env(ctx: Context, owner: Actor) -> AsyncIterator[Stripe]:
    fake = FakeStripe(ctx.clock.now)
    async with running(fake) as url:
        notifier = RecordingNotifier()
        client = build_client(API_KEY, url)
        gateway = StripeGateway(client, ctx.db, ctx.clock, PUBLIC_URL)
        stripe_ctx = replace(ctx, gateway=gateway, notifier=notifier)
        app = create_app(stripe_ctx, routes=stripe_routes(stripe_ctx, WEBHOOK_SECRET))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
        ) as http:
            fake.webhook = http
            workspace_id = await create_workspace(stripe_ctx, owner, "Acme Support")
            yield Stripe(fake, stripe_ctx, notifier, owner, workspace_id)
