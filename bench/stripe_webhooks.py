"""Stripe webhook throughput: signed checkout.session.completed deliveries, 30 % of them
duplicates, shuffled and posted by concurrent senders to the web app's /stripe/webhook.

Each paid order must be fulfilled exactly once. Runs on SQLite, and on PostgreSQL when
PLANBOT_TEST_DATABASE_URL or `--postgres URL` is given (a scratch database: its tables are
dropped and recreated).

    python -m bench.stripe_webhooks [--orders 7000] [--senders 8] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from adapters.stripe import WEBHOOK_PATH, stripe_routes
from adapters.web import create_app
from bench.table import Row, print_table
from core.access import Actor
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.model import Base, Member, Order, Payment, PaymentOutcome, Workspace
from core.ports import Checkout, CheckoutRequest, RecordingNotifier
from core.pricing import Terms
from core.services.checkouts import checkout_request
from core.services.context import Context
from core.services.orders import new_reference, place_order
from core.services.workspaces import create_workspace

SECRET = "whsec_bench"
DUPLICATES = 0.30
DELIVERIES = 10_000
# Paid orders such that they and their duplicates make DELIVERIES in all (DESIGN 11).
ORDERS = round(DELIVERIES * (1 - DUPLICATES))
PACKAGES = ("cc1", "cc2", "cc3")


def sign(payload: bytes, secret: str) -> str:
    """Stripe-Signature as Stripe computes it: t=..., v1=HMAC-SHA256(secret, "t.body")."""
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class BenchGateway:
    """Hands out Stripe-shaped sessions without a network (the webhook is what is measured)."""

    name = "stripe"

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(
            self.name,
            f"https://checkout.stripe.test/c/pay/cs_{request.order_reference}",
            f"cs_{request.order_reference}",
            request.expires_at,
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        return None


def _event(n: int, order: Order) -> dict[str, Any]:
    session = {
        "id": order.provider_reference,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "client_reference_id": order.reference,
        "metadata": {"order": order.reference},
        "amount_total": order.due_now,
        "currency": order.currency.lower(),
        "payment_intent": f"pi_bench_{n}",
    }
    return {
        "id": f"evt_bench_{n}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": session},
    }


async def _orders(ctx: Context, count: int) -> list[Order]:
    """Three packages per workspace: the first workspace's orders go through place_order, the
    rest are bulk copies of them (own workspace, owner, keys, quantity and Checkout Session)."""
    gateway = ctx.gateway
    assert gateway is not None
    owner = Actor("telegram", "10000")
    first = await create_workspace(ctx, owner, "Bench 0")
    templates = {}
    for package in PACKAGES[:count]:
        placed = await place_order(ctx, owner, first, Terms(package, 12, 10))
        templates[package] = placed.reference
    async with ctx.db.unit_of_work() as session:
        stored = await session.scalars(
            select(Order).where(Order.reference.in_(list(templates.values())))
        )
        columns = [c.key for c in Order.__table__.columns if c.key != "id"]
        model = {o.package: {key: getattr(o, key) for key in columns} for o in stored}
        starts = range(len(PACKAGES), count, len(PACKAGES))
        await session.execute(
            insert(Workspace),
            [
                {
                    "name": f"Bench {n}",
                    "currency": ctx.catalog.currency,
                    "timezone": "UTC",
                    "credit_balance": 0,
                    "created_at": ctx.clock.now(),
                }
                for n in starts
            ],
        )
        ids = dict(
            (name, workspace_id)
            for name, workspace_id in await session.execute(
                select(Workspace.name, Workspace.id).where(Workspace.id != first)
            )
        )
        members, orders = [], []
        for n in starts:
            workspace_id, user = ids[f"Bench {n}"], Actor("telegram", str(10_000 + n))
            members.append(
                {
                    "workspace_id": workspace_id,
                    "platform": user.platform,
                    "user_id": user.user_id,
                    "role": "owner",
                    "created_at": ctx.clock.now(),
                }
            )
            for package in PACKAGES[: count - n]:
                reference, quantity = new_reference(), 10 + n % 50
                price = model[package]["price_per_account"]
                checkout = await gateway.create_checkout(
                    replace(
                        checkout_request(ctx, Order(**model[package]), ""),
                        order_reference=reference,
                    )
                )
                orders.append(
                    model[package]
                    | {
                        "reference": reference,
                        "idempotency_key": reference,
                        "workspace_id": workspace_id,
                        "new_quantity": quantity,
                        "quantity": quantity,
                        "total": price * quantity,
                        "due_now": price * quantity,
                        "placed_by": user.label,
                        "provider_reference": checkout.provider_reference,
                        "payment_link": checkout.link,
                    }
                )
        if members:
            await session.execute(insert(Member), members)
            await session.execute(insert(Order), orders)
        references = [*templates.values(), *(o["reference"] for o in orders)]
        return list(await session.scalars(select(Order).where(Order.reference.in_(references))))


async def measure(url: str, orders: int, senders: int) -> tuple[float, int, int, int]:
    db = Database.from_url(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    clock = FixedClock(parse_iso("2026-01-15T10:00:00Z"))
    ctx = Context(db, load_catalog(), clock, BenchGateway(), RecordingNotifier())
    try:
        events = [_event(n, order) for n, order in enumerate(await _orders(ctx, orders))]
        extra = round(len(events) * DUPLICATES / (1 - DUPLICATES))
        rng = random.Random(42)
        deliveries = events + [rng.choice(events) for _ in range(extra)]
        rng.shuffle(deliveries)
        bodies = [json.dumps(e).encode() for e in deliveries]
        app = create_app(ctx, routes=stripe_routes(ctx, SECRET))
        transport = httpx.ASGITransport(app=app)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def sender(http: httpx.AsyncClient) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"Stripe-Signature": sign(body, SECRET)}
                response = await http.post(WEBHOOK_PATH, content=body, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"webhook answered {response.status_code}: {response.text}")

        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            started = time.perf_counter()
            await asyncio.gather(*(sender(http) for _ in range(senders)))
            elapsed = time.perf_counter() - started
        async with db.unit_of_work() as session:
            fulfilments = await session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.outcome == PaymentOutcome.APPLIED.value)
            )
            paid = await session.scalar(
                select(func.count()).select_from(Order).where(Order.status == "paid")
            )
        return len(bodies) / elapsed, len(bodies), int(fulfilments or 0), int(paid or 0)
    finally:
        await db.dispose()


def _rows(name: str, result: tuple[float, int, int, int], orders: int) -> list[Row]:
    rate, deliveries, fulfilments, paid = result
    if fulfilments != paid or paid != orders:
        raise SystemExit(f"{name}: {fulfilments} fulfilments for {paid} paid of {orders} orders")
    return [
        Row(f"{name}: webhook deliveries ({DUPLICATES:.0%} duplicates)", deliveries, "events"),
        Row(f"{name}: webhook throughput", rate, "events/s"),
        Row(f"{name}: fulfilments = paid orders", fulfilments, "orders", target=paid),
    ]


def main(
    quick: bool = False, orders: int | None = None, senders: int = 8, postgres: str | None = None
) -> None:
    count = orders or (90 if quick else ORDERS)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        rows += _rows("SQLite", asyncio.run(measure(url, count, senders)), count)
    postgres = postgres or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    if postgres:
        rows += _rows("PostgreSQL", asyncio.run(measure(postgres, count, senders)), count)
    print_table(
        f"Stripe webhooks: {count} paid orders, shuffled, {senders} concurrent senders", rows
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.orders, args.senders, args.postgres)
