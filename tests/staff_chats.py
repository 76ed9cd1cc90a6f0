"""Steps shared by the staff-chat tests of every platform: a sandbox payment support must
look at, and a stand-in for `/staff show` that records what it was asked."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

import bot.flows.staff as staff_flow
from adapters.sandbox import PROVIDER, complete_sandbox_payment, payment_id
from bot.flow import Done, Move, Turn
from bot.flows.staff.verbs import Verb
from bot.vocabulary import Text
from core.access import Actor, StaffTier, StaffVerb
from core.model import Payment, Subscription
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.payments import apply_payment
from core.services.staff.requests import Grant
from core.states import PaymentOutcome
from tests.integration.staff import run

GRANTER = Actor("console", "granter", tier=StaffTier.MANAGER)


@dataclass(frozen=True, slots=True)
class Flagged:
    order: str
    payment: int
    amount: int


async def flag_a_sandbox_payment(ctx: Context, owner: Actor, workspace_id: int) -> Flagged:
    """Pay cc1 through the sandbox, quote 2 more accounts, let support grant one first (which
    closes the quote's order): the payment that still arrives for that order can no longer be
    applied and goes to the balance."""
    first = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    assert (await complete_sandbox_payment(ctx, first.reference, fail=False)).ok
    async with ctx.db.read() as session:
        sub = await session.scalar(select(Subscription).where(Subscription.package == "cc1"))
    assert sub is not None
    more = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 4), subscription_id=sub.id)
    await run(ctx, Grant(workspace_id, sub.id, 1), GRANTER)
    late = await apply_payment(
        ctx,
        provider=PROVIDER,
        provider_payment_id=payment_id(more.reference),
        order_reference=more.reference,
        amount=more.quote.due_now,
        currency=more.quote.currency,
    )
    assert late.outcome == PaymentOutcome.CREDITED
    async with ctx.db.read() as session:
        payment = await session.scalar(select(Payment).where(Payment.needs_support.is_(True)))
    assert payment is not None
    return Flagged(more.reference, payment.id, payment.amount)


@dataclass
class ShowProbe:
    """What `/staff show` was started with, by whom."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    async def begin(self, turn: Turn, typed: str) -> Move:
        self.calls.append((turn.actor.user_id, typed))
        return Done((Text(f"Showing workspace {typed}."),))


def install_show_probe(monkeypatch: pytest.MonkeyPatch) -> ShowProbe:
    """`/staff show` answered by a probe, whatever the show verb of the day does."""
    probe = ShowProbe()
    known = staff_flow.verbs
    verb = Verb(StaffVerb.SHOW, "Show", probe.begin)
    monkeypatch.setattr(staff_flow, "verbs", lambda: {**known(), StaffVerb.SHOW: verb})
    return probe
