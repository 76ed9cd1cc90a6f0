"""Half a year of billing through the real use cases and the sweep, for the stats tests:
purchases, accounts added, a higher package, downgrades applied at renewal (one paid from
the credit balance in the sweep), an unsubscribe that ends, a renewal left unpaid, an
immediate cancellation with a refund, and trials. Every figure `/staff stats` shows for it
is worked out by hand below (default catalog, USD)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select

from core.access import Actor, StaffTier
from core.clock import FixedClock, parse_iso
from core.model import Order, Payment
from core.money import Money
from core.ports import RefundRequest, RefundResult
from core.pricing import Terms
from core.services.context import Context, get_workspace
from core.services.fulfilment import move_balance
from core.services.orders import PlacedOrder, schedule_downgrade
from core.services.staff.requests import Cancel, Refund, RefundMode
from core.services.subscriptions import start_trial, unsubscribe
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, pay_order, pending_renewal, subscription
from tests.integration.staff import run

MANAGER = Actor("console", "boss", tier=StaffTier.MANAGER)
NOW = parse_iso("2026-06-20T10:00:00Z")
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06")


async def payment_of(ctx: Context, reference: str) -> int:
    """The id of the payment that paid the order `reference`."""
    async with ctx.db.read() as session:
        paid = await session.scalar(
            select(Payment.id)
            .join(Order, Payment.order_id == Order.id)
            .where(Order.reference == reference)
        )
    assert paid is not None
    return paid


class RefundingGateway(FakeGateway):
    """The fake provider, able to give money back."""

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(f"re_{request.idempotency_key}", request.amount, "succeeded")


@dataclass
class Story:
    """What happened, as the stats must show it (minor units of USD)."""

    new: Counter[str] = field(default_factory=Counter)
    expansion: Counter[str] = field(default_factory=Counter)
    contraction: Counter[str] = field(default_factory=Counter)
    churned: Counter[str] = field(default_factory=Counter)
    collected: Counter[str] = field(default_factory=Counter)
    refunded: Counter[str] = field(default_factory=Counter)
    mrr: int = 0
    counts: tuple[int, int, int] = (0, 0, 0)
    """Active, Try, Inactive."""
    accounts: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Package → (accounts Active, accounts on Try)."""


def month(at: datetime) -> str:
    return at.strftime("%Y-%m")


async def tell(ctx: Context, clock: FixedClock) -> Story:
    """Run the story on `ctx` (its clock is `clock`), ending at NOW."""
    story = Story()
    owners = {name: Actor("telegram", str(2000 + n)) for n, name in enumerate("ABCDEFG")}
    ws = {
        name: await create_workspace(ctx, actor, f"Story {name}") for name, actor in owners.items()
    }

    async def on(when: str) -> None:
        clock.set(parse_iso(when))
        await sweep(ctx)

    async def bought(name: str, terms: Terms, sub: int | None = None) -> PlacedOrder:
        placed = await buy(ctx, owners[name], ws[name], terms, subscription_id=sub)
        story.collected[month(clock.now())] += placed.quote.due_now
        return placed

    async def sub_id(name: str, package: str) -> int:
        return (await subscription(ctx, ws[name], package)).id

    # F buys before the window: 25,500 × 4 / 12 = 8,500 of MRR from December, not shown.
    await on("2025-12-10T10:00:00Z")
    await bought("F", Terms("cc2", 12, 4))
    # January: A 25,500 × 100 / 12 = 212,500; B 1,500 × 10 = 15,000; G 1,500 × 2 = 3,000.
    await on("2026-01-15T10:00:00Z")
    await bought("A", Terms("cc2", 12, 100))
    await on("2026-01-20T10:00:00Z")
    await bought("B", Terms("cc1", 1, 10))
    await on("2026-01-25T10:00:00Z")
    await bought("G", Terms("cc1", 1, 2))
    story.new["2026-01"] += 212_500 + 15_000 + 3_000
    async with ctx.db.unit_of_work() as session:
        workspace = await get_workspace(session, ws["G"], lock=True)
        move_balance(session, workspace, 10_000, "goodwill", clock.now())
    # February: C tries cc3, then buys it (40,000 new); B and G go down at renewal, B paying
    # its renewal (15,000 → 7,500), G's paid from the balance in the sweep (3,000 → 1,500).
    await on("2026-02-01T10:00:00Z")
    await start_trial(ctx, owners["C"], ws["C"], "cc3")
    await schedule_downgrade(
        ctx, owners["G"], ws["G"], await sub_id("G", "cc1"), Terms("cc1", 1, 1)
    )
    await on("2026-02-05T10:00:00Z")
    await schedule_downgrade(
        ctx, owners["B"], ws["B"], await sub_id("B", "cc1"), Terms("cc1", 1, 5)
    )
    await on("2026-02-10T10:00:00Z")
    await bought("C", Terms("cc3", 1, 10))
    story.new["2026-02"] += 40_000
    await on("2026-02-20T10:00:00Z")
    await on("2026-02-21T10:00:00Z")
    renewal = await pending_renewal(ctx, await sub_id("B", "cc1"))
    await pay_order(ctx, renewal, "pay_b_renewal")
    story.collected["2026-02"] += renewal.due_now
    await on("2026-02-25T10:00:00Z")
    story.contraction["2026-02"] += 7_500 + 1_500
    # March: B unsubscribes and ends (7,500 churned), C's renewal goes unpaid past its grace
    # (40,000 churned), A adds 20 accounts (25,500 × 20 / 12 = 42,500 expansion).
    await on("2026-03-01T10:00:00Z")
    await unsubscribe(ctx, owners["B"], ws["B"], await sub_id("B", "cc1"))
    await on("2026-03-10T10:00:00Z")
    await on("2026-03-14T10:00:00Z")
    await on("2026-03-15T10:00:00Z")
    await bought("A", Terms("cc2", 12, 120), await sub_id("A", "cc2"))
    await on("2026-03-20T10:00:00Z")
    await on("2026-03-25T10:00:00Z")
    story.expansion["2026-03"] += 42_500
    story.churned["2026-03"] += 40_000 + 7_500
    # April: D buys cc1 for 3 months (4,275 × 30 / 3 = 42,750 new); F moves up to cc3
    # ((40,800 − 25,500) × 4 / 12 = 5,100 expansion).
    await on("2026-04-05T10:00:00Z")
    d_order = await bought("D", Terms("cc1", 3, 30))
    await on("2026-04-10T10:00:00Z")
    await bought("F", Terms("cc3", 12, 4), await sub_id("F", "cc2"))
    await on("2026-04-25T10:00:00Z")
    story.new["2026-04"] += 42_750
    story.expansion["2026-04"] += 5_100
    # May: support cancels D at once (42,750 churned) and refunds 100.00 of its payment.
    await on("2026-05-05T10:00:00Z")
    await run(ctx, Cancel(ws["D"], await sub_id("D", "cc1"), RefundMode.NONE), MANAGER)
    await on("2026-05-06T10:00:00Z")
    refunding = replace(ctx, gateway=RefundingGateway())
    paid = await payment_of(ctx, d_order.reference)
    await run(refunding, Refund(ws["D"], paid, Money(10_000, "USD")), MANAGER)
    story.refunded["2026-05"] += 10_000
    story.churned["2026-05"] += 42_750
    await on("2026-05-25T10:00:00Z")
    # June: E tries cc2 (Try counts no MRR).
    await on("2026-06-10T10:00:00Z")
    await start_trial(ctx, owners["E"], ws["E"], "cc2")
    await on(NOW.isoformat())
    # Now: A cc2 12 months × 120 = 255,000; F cc3 12 months × 4 = 13,600; G cc1 × 1 = 1,500.
    story.mrr = 255_000 + 13_600 + 1_500
    story.counts = (3, 1, 3)
    story.accounts = {"cc1": (1, 0), "cc2": (120, 10), "cc3": (4, 0)}
    return story
