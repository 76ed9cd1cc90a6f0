"""Lifecycle state machine (DESIGN sections 2, 3 and 10) over the real services on SQLite.

Random sequences of orders, payments (correct, repeated, late, wrong), payment failures,
trials, unsubscribes, resumes, scheduled downgrades, clock moves and sweeps run against one
workspace; after every step the database is read back and the invariants are checked:
one subscription per package, statuses consistent with periods, every order applied at most
once, money conserved between orders, payments and the credit balance, and every paid order
visible on its subscription.

The tests at the end replay the shortest sequences behind the bugs the machine found, so
each stays fixed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from core.access import Actor
from core.catalog import Catalog, load_catalog
from core.clock import FixedClock
from core.db import Database
from core.errors import DomainError, InvalidRequest
from core.model import (
    AuditEntry,
    BalanceEntry,
    Base,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentOutcome,
    Subscription,
    SubscriptionState,
    TrialUse,
    Workspace,
)
from core.ports import RecordingNotifier
from core.pricing import QuoteKind, Terms
from core.services import orders, payments, subscriptions
from core.services.context import Context
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from tests.conftest import START, at
from tests.fakes import FakeGateway
from tests.integration.helpers import CHAT, buy, pay, pending_renewal, subscription

T = TypeVar("T")

CATALOG: Catalog = load_catalog()
PROVIDER = FakeGateway.name
PACKAGE_CODES = [package.code for package in CATALOG.packages]
CYCLE_MONTHS = [cycle.months for cycle in CATALOG.cycles]
RANK = {package.code: package.rank for package in CATALOG.packages}
TRIAL_MAX_ACCOUNTS = max(package.trial.max_accounts for package in CATALOG.packages)

PACKAGES = st.sampled_from(PACKAGE_CODES)
CYCLES = st.sampled_from(CYCLE_MONTHS)
QUANTITIES = st.integers(min_value=1, max_value=50)
DELAYS = st.one_of(
    st.integers(min_value=1, max_value=90).map(lambda n: relativedelta(minutes=n)),
    st.integers(min_value=1, max_value=48).map(lambda n: relativedelta(hours=n)),
    st.integers(min_value=1, max_value=45).map(lambda n: relativedelta(days=n)),
    st.integers(min_value=1, max_value=13).map(lambda n: relativedelta(months=n)),
)
NEAR = st.sampled_from([relativedelta(seconds=-1), relativedelta(), relativedelta(seconds=1)])


@dataclass(frozen=True)
class Snapshot:
    """Everything the invariants look at, read straight from the database."""

    now: datetime
    balance: int
    ledger: list[BalanceEntry]
    subs: dict[int, Subscription]
    orders: dict[str, Order]
    payments: list[Payment]
    order_audits: list[AuditEntry]
    tried: frozenset[str]

    @property
    def all_orders(self) -> list[str]:
        """Order references in placing order (references are random, ids are not)."""
        return [o.reference for o in sorted(self.orders.values(), key=lambda o: o.id)]

    @property
    def pending(self) -> list[str]:
        return [r for r in self.all_orders if self.orders[r].status == OrderStatus.PENDING]

    @property
    def closed(self) -> list[str]:
        return [r for r in self.all_orders if self.orders[r].status != OrderStatus.PENDING]

    def sub_ids(self, *states: str) -> list[int]:
        return sorted(i for i, sub in self.subs.items() if not states or sub.state in states)

    def holding(self, package: str) -> Subscription | None:
        return next((s for s in self.subs.values() if s.package == package), None)


@dataclass(frozen=True)
class SentPayment:
    order_reference: str
    provider_payment_id: str
    amount: int
    currency: str
    outcome: str


async def read_snapshot(ctx: Context, workspace_id: int) -> Snapshot:
    async with ctx.db.unit_of_work() as session:
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None

        async def rows(entity: Any, *where: Any) -> list[Any]:
            return list(await session.scalars(select(entity).where(*where)))

        subs = await rows(Subscription, Subscription.workspace_id == workspace_id)
        placed = await rows(Order, Order.workspace_id == workspace_id)
        tried = await rows(TrialUse.package, TrialUse.workspace_id == workspace_id)
        return Snapshot(
            now=ctx.clock.now(),
            balance=workspace.credit_balance,
            ledger=await rows(BalanceEntry, BalanceEntry.workspace_id == workspace_id),
            subs={sub.id: sub for sub in subs},
            orders={o.reference: o for o in placed},
            payments=await rows(Payment, Payment.workspace_id == workspace_id),
            order_audits=await rows(
                AuditEntry,
                AuditEntry.workspace_id == workspace_id,
                AuditEntry.action.like("order.%"),
            ),
            tried=frozenset(tried),
        )


class LifecycleMachine(RuleBasedStateMachine):
    """One workspace and its owner, the default catalog, a fake provider and a frozen clock."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FixedClock(START)
        self.db = Database.from_url("sqlite+aiosqlite:///:memory:")
        self.gateway = FakeGateway()
        self.notifier = RecordingNotifier()
        self.ctx = Context(
            db=self.db,
            catalog=CATALOG,
            clock=self.clock,
            gateway=self.gateway,
            notifier=self.notifier,
        )
        self.owner = Actor("telegram", "1001")
        self.run(self._create_schema())
        self.workspace_id = self.run(create_workspace(self.ctx, self.owner, "Acme Support"))
        self.sent: list[SentPayment] = []
        self.payments_made = 0
        self.swept_at: datetime | None = None
        self.snap = self.refresh()

    async def _create_schema(self) -> None:
        async with self.db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    def teardown(self) -> None:
        try:
            self.run(self.db.dispose())
        finally:
            self.runner.close()

    # -- plumbing ----------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def attempt(self, what: str, coro: Coroutine[Any, Any, T]) -> T | None:
        """Run a use case: a domain refusal is an allowed outcome, anything else fails."""
        try:
            result = self.run(coro)
        except DomainError as refusal:
            event(f"{what}: refused ({refusal.code})")
            return None
        event(f"{what}: done")
        return result

    def refresh(self) -> Snapshot:
        return self.run(read_snapshot(self.ctx, self.workspace_id))

    def has_subs(self) -> bool:
        return bool(self.snap.subs)

    def has_orders(self) -> bool:
        return bool(self.snap.orders)

    def has_pending(self) -> bool:
        return bool(self.snap.pending)

    def has_closed(self) -> bool:
        return bool(self.snap.closed)

    def has_sent(self) -> bool:
        return bool(self.sent)

    def has_running(self) -> bool:
        return bool(self.snap.sub_ids(SubscriptionState.ACTIVE, SubscriptionState.TRIAL))

    def has_active(self) -> bool:
        return bool(self.snap.sub_ids(SubscriptionState.ACTIVE))

    def has_ending(self) -> bool:
        return any(sub.cancel_at_period_end for sub in self.snap.subs.values())

    def has_scheduled(self) -> bool:
        return any(sub.scheduled_package for sub in self.snap.subs.values())

    # -- orders ------------------------------------------------------------------------------

    def order_terms(self, terms: Terms, subscription_id: int | None, pay_now: bool) -> None:
        placed = self.attempt(
            "place_order",
            orders.place_order(
                self.ctx,
                self.owner,
                self.workspace_id,
                terms,
                subscription_id=subscription_id,
                chat=CHAT,
            ),
        )
        if placed is None:
            return
        event(f"order kind: {placed.quote.kind}")
        if placed.quote.kind == QuoteKind.NEW:
            held = self.snap.holding(terms.package)
            assert held is None or held.state != SubscriptionState.ACTIVE, (
                f"a new purchase of {terms.package} was sold while it is Active"
            )
        if placed.status == OrderStatus.PAID:
            assert placed.quote.due_now == 0, "an order with money due was applied unpaid"
            return
        assert placed.status == OrderStatus.PENDING
        assert placed.quote.due_now > 0
        assert placed.payment_link is not None, "a pending order has no payment link"
        if pay_now:
            self.snap = self.refresh()
            self.pay_correctly(placed.reference)

    @rule(
        package=PACKAGES,
        cycle=CYCLES,
        quantity=QUANTITIES,
        pay_now=st.booleans(),
        data=st.data(),
    )
    def place_order(
        self, package: str, cycle: int, quantity: int, pay_now: bool, data: st.DataObject
    ) -> None:
        named = data.draw(st.sampled_from([None, *self.snap.sub_ids()]), label="subscription")
        self.order_terms(Terms(package, cycle, quantity), named, pay_now)

    @precondition(has_subs)
    @rule(
        change=st.sampled_from(["add_accounts", "higher_package", "other_cycle"]),
        more=st.integers(min_value=0, max_value=20),
        pay_now=st.booleans(),
        data=st.data(),
    )
    def change_subscription(
        self, change: str, more: int, pay_now: bool, data: st.DataObject
    ) -> None:
        sub = self.snap.subs[data.draw(st.sampled_from(self.snap.sub_ids()), label="subscription")]
        package, cycle = sub.package, sub.cycle_months
        if change == "add_accounts":
            more = max(more, 1)
        elif change == "higher_package":
            higher = [code for code in PACKAGE_CODES if RANK[code] > RANK[sub.package]]
            package = data.draw(st.sampled_from(higher or [sub.package]), label="package")
            cycle = data.draw(CYCLES, label="cycle")
        else:
            others = [months for months in CYCLE_MONTHS if months != sub.cycle_months]
            cycle = data.draw(st.sampled_from(others), label="cycle")
        self.order_terms(Terms(package, cycle, sub.quantity + more), sub.id, pay_now)

    # -- payments ----------------------------------------------------------------------------

    def send_payment(self, reference: str, amount: int, currency: str) -> str:
        self.payments_made += 1
        payment_id = f"pi_{self.payments_made}"
        result = self.run(
            payments.apply_payment(
                self.ctx,
                provider=PROVIDER,
                provider_payment_id=payment_id,
                order_reference=reference,
                amount=amount,
                currency=currency,
            )
        )
        assert not result.duplicate, "a new provider payment id was taken for a repeat"
        self.sent.append(SentPayment(reference, payment_id, amount, currency, result.outcome))
        event(f"payment: {result.outcome}")
        return result.outcome

    def pay_correctly(self, reference: str) -> None:
        placed = self.snap.orders[reference]
        expired = self.clock.now() >= placed.expires_at
        outcome = self.send_payment(reference, placed.due_now, placed.currency)
        if expired:
            assert outcome == PaymentOutcome.CREDITED, f"{reference} applied after it expired"
        after = self.refresh()
        if outcome == PaymentOutcome.APPLIED:
            assert after.orders[reference].status == OrderStatus.PAID
            assert after.balance == self.snap.balance + balance_effect(placed)
        else:
            assert outcome == PaymentOutcome.CREDITED, outcome
            assert after.orders[reference].status != OrderStatus.PAID
            assert after.balance == self.snap.balance + placed.due_now

    @precondition(has_pending)
    @rule(data=st.data())
    def pay_pending_order(self, data: st.DataObject) -> None:
        self.pay_correctly(data.draw(st.sampled_from(self.snap.pending), label="order"))

    @precondition(has_sent)
    @rule(data=st.data())
    def repeat_a_payment(self, data: st.DataObject) -> None:
        first = data.draw(st.sampled_from(self.sent), label="payment")
        result = self.run(
            payments.apply_payment(
                self.ctx,
                provider=PROVIDER,
                provider_payment_id=first.provider_payment_id,
                order_reference=first.order_reference,
                amount=first.amount,
                currency=first.currency,
            )
        )
        assert result.duplicate, "a repeated provider payment was not recognised"
        assert result.outcome == first.outcome
        after = self.refresh()
        assert len(after.payments) == len(self.snap.payments)
        assert after.balance == self.snap.balance
        assert {r: o.status for r, o in after.orders.items()} == {
            r: o.status for r, o in self.snap.orders.items()
        }

    @precondition(has_closed)
    @rule(data=st.data())
    def pay_closed_order(self, data: st.DataObject) -> None:
        reference = data.draw(st.sampled_from(self.snap.closed), label="order")
        closed = self.snap.orders[reference]
        outcome = self.send_payment(reference, closed.due_now, closed.currency)
        assert outcome == PaymentOutcome.CREDITED, "a late payment was applied"
        after = self.refresh()
        assert after.orders[reference].status == closed.status
        assert after.balance == self.snap.balance + closed.due_now

    @precondition(has_orders)
    @rule(data=st.data(), delta=st.sampled_from([-100, -1, 1, 100, 0]))
    def pay_wrong_amount(self, data: st.DataObject, delta: int) -> None:
        reference = data.draw(st.sampled_from(self.snap.all_orders), label="order")
        target = self.snap.orders[reference]
        amount, currency = max(0, target.due_now + delta), target.currency
        if amount == target.due_now:
            currency = "EUR" if target.currency != "EUR" else "USD"
        outcome = self.send_payment(reference, amount, currency)
        assert outcome == PaymentOutcome.MISMATCH
        after = self.refresh()
        assert after.orders[reference].status == target.status
        assert after.balance == self.snap.balance

    @precondition(has_orders)
    @rule(data=st.data())
    def report_payment_failure(self, data: st.DataObject) -> None:
        reference = data.draw(st.sampled_from(self.snap.all_orders), label="order")
        target = self.snap.orders[reference]
        changed = self.run(
            payments.record_payment_failure(self.ctx, provider=PROVIDER, order_reference=reference)
        )
        was_pending = target.status == OrderStatus.PENDING
        assert changed == was_pending
        now = self.refresh().orders[reference].status
        if was_pending and target.kind != OrderKind.RENEWAL:
            assert now == OrderStatus.FAILED
        else:
            assert now == target.status

    # -- subscriptions -----------------------------------------------------------------------

    @precondition(has_running)
    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        running = self.snap.sub_ids(SubscriptionState.ACTIVE, SubscriptionState.TRIAL)
        sub_id = data.draw(st.sampled_from(running), label="subscription")
        self.attempt(
            "unsubscribe",
            subscriptions.unsubscribe(self.ctx, self.owner, self.workspace_id, sub_id),
        )

    @precondition(has_ending)
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        ending = sorted(i for i, s in self.snap.subs.items() if s.cancel_at_period_end)
        sub_id = data.draw(st.sampled_from(ending), label="subscription")
        self.attempt(
            "resume", subscriptions.resume(self.ctx, self.owner, self.workspace_id, sub_id)
        )

    @rule(
        quantity=st.none() | st.integers(min_value=1, max_value=TRIAL_MAX_ACCOUNTS + 1),
        data=st.data(),
    )
    def start_trial(self, quantity: int | None, data: st.DataObject) -> None:
        held = {s.package for s in self.snap.subs.values() if s.state != SubscriptionState.INACTIVE}
        open_ = [code for code in PACKAGE_CODES if code not in self.snap.tried | held]
        package = data.draw(st.sampled_from(open_ or PACKAGE_CODES), label="package")
        self.attempt(
            "start_trial",
            subscriptions.start_trial(self.ctx, self.owner, self.workspace_id, package, quantity),
        )

    @precondition(has_active)
    @rule(
        change=st.sampled_from(["lower_package", "fewer_accounts", "other_cycle", "anything"]),
        fewer=st.integers(min_value=0, max_value=20),
        data=st.data(),
    )
    def schedule_downgrade(self, change: str, fewer: int, data: st.DataObject) -> None:
        active = self.snap.sub_ids(SubscriptionState.ACTIVE)
        sub = self.snap.subs[data.draw(st.sampled_from(active), label="subscription")]
        package, cycle = sub.package, sub.cycle_months
        quantity = max(1, sub.quantity - fewer)
        if change == "lower_package":
            lower = [code for code in PACKAGE_CODES if RANK[code] < RANK[sub.package]]
            package = data.draw(st.sampled_from(lower or [sub.package]), label="package")
            cycle = data.draw(CYCLES, label="cycle")
        elif change == "fewer_accounts":
            quantity = max(1, sub.quantity - max(fewer, 1))
        elif change == "other_cycle":
            others = [months for months in CYCLE_MONTHS if months != sub.cycle_months]
            cycle = data.draw(st.sampled_from(others), label="cycle")
        else:
            package = data.draw(PACKAGES, label="package")
            cycle = data.draw(CYCLES, label="cycle")
            quantity = data.draw(QUANTITIES, label="quantity")
        self.attempt(
            "schedule_downgrade",
            orders.schedule_downgrade(
                self.ctx, self.owner, self.workspace_id, sub.id, Terms(package, cycle, quantity)
            ),
        )

    @precondition(has_scheduled)
    @rule(data=st.data())
    def withdraw_downgrade(self, data: st.DataObject) -> None:
        scheduled = sorted(i for i, s in self.snap.subs.items() if s.scheduled_package)
        sub_id = data.draw(st.sampled_from(scheduled), label="subscription")
        self.attempt(
            "withdraw_downgrade",
            orders.withdraw_scheduled_change(self.ctx, self.owner, self.workspace_id, sub_id),
        )

    # -- time --------------------------------------------------------------------------------

    def sweep_now(self) -> None:
        now = self.clock.now()
        report = self.run(sweep(self.ctx))
        for name, count in report.counts.items():
            if count:
                event(f"sweep: {name}")
        again = self.run(sweep(self.ctx))
        assert sum(again.counts.values()) == 0, f"a second sweep at {now} did {again.counts}"
        self.swept_at = now

    def move_clock(self, to: datetime) -> None:
        if to != self.clock.now():
            self.swept_at = None
        self.clock.set(to)

    @rule(delay=DELAYS, then_sweep=st.booleans())
    def advance_clock(self, delay: relativedelta, then_sweep: bool) -> None:
        self.move_clock(self.clock.now() + delay)
        if then_sweep:
            self.sweep_now()

    def next_moments(self) -> list[datetime]:
        """When something is next due: trial and period ends, grace ends, order expiries."""
        moments = [sub.due_at for sub in self.snap.subs.values() if sub.due_at is not None]
        moments += [self.snap.orders[r].expires_at for r in self.snap.pending]
        return sorted(moment for moment in moments if moment > self.snap.now)

    def has_next_moment(self) -> bool:
        return bool(self.next_moments())

    @precondition(has_next_moment)
    @rule(offset=NEAR, then_sweep=st.booleans())
    def advance_to_next_moment(self, offset: relativedelta, then_sweep: bool) -> None:
        self.move_clock(max(self.next_moments()[0] + offset, self.clock.now()))
        if then_sweep:
            self.sweep_now()

    @rule()
    def run_the_sweep(self) -> None:
        self.sweep_now()

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        before, snap = self.snap, self.refresh()
        check_one_subscription_per_package(snap)
        check_statuses(snap, swept=self.swept_at == snap.now)
        check_orders_applied_once(snap)
        check_money(snap)
        check_paid_orders_visible(before, snap)
        check_active_subscriptions_kept(before, snap)
        check_pending_orders(snap, self.gateway, swept=self.swept_at == snap.now)
        check_notices(snap, self.notifier)
        self.snap = snap


def balance_effect(paid: Order) -> int:
    """What applying an order does to the credit balance (P5 excess credit, P10 balance used)."""
    return max(0, paid.credit - (paid.total - paid.proration)) - paid.balance_applied


def check_one_subscription_per_package(snap: Snapshot) -> None:
    held = Counter(sub.package for sub in snap.subs.values())
    assert all(count == 1 for count in held.values()), f"packages held twice: {held}"


def check_statuses(snap: Snapshot, *, swept: bool) -> None:
    """Statuses agree with periods; the time checks hold once a sweep has run at `now`."""
    now = snap.now
    for sub in snap.subs.values():
        where = f"subscription {sub.id} ({sub.package}, {sub.state})"
        if sub.state == SubscriptionState.ACTIVE:
            assert sub.period_start is not None and sub.period_end is not None, where
            assert sub.period_start < sub.period_end, where
            assert sub.due_at == (sub.grace_until or sub.period_end), where
            if swept:
                in_period = now < sub.period_end
                in_grace = sub.grace_until is not None and now < sub.grace_until
                assert in_period or in_grace, f"{where} runs past its period and grace at {now}"
        elif sub.state == SubscriptionState.TRIAL:
            assert sub.trial_ends_at is not None, where
            assert sub.due_at == sub.trial_ends_at, where
            if swept:
                assert now < sub.trial_ends_at, f"{where} is still trying after its end at {now}"
        else:
            assert sub.state == SubscriptionState.INACTIVE, where
            assert sub.due_at is None, f"{where} is still due at {sub.due_at}"


def check_orders_applied_once(snap: Snapshot) -> None:
    applications = Counter(entry.order_id for entry in snap.order_audits)
    twice = {order_id: n for order_id, n in applications.items() if n > 1}
    assert not twice, f"orders applied more than once: {twice}"
    applied = Counter(p.order_id for p in snap.payments if p.outcome == PaymentOutcome.APPLIED)
    twice = {order_id: n for order_id, n in applied.items() if n > 1}
    assert not twice, f"orders with more than one applied payment: {twice}"
    paid = {o.id for o in snap.orders.values() if o.status == OrderStatus.PAID}
    assert set(applications) == paid, "paid orders and their audit entries disagree"


def check_money(snap: Snapshot) -> None:
    """Balance = its ledger = credited payments + what paid orders did to it; never negative."""
    assert snap.balance == sum(entry.amount for entry in snap.ledger), "balance is not its ledger"
    assert snap.balance >= 0, f"negative credit balance {snap.balance}"
    applied = {
        p.order_id: p
        for p in snap.payments
        if p.outcome == PaymentOutcome.APPLIED and p.order_id is not None
    }
    paid_by_payments = 0
    for placed in snap.orders.values():
        ref = placed.reference
        assert placed.total == placed.price_per_account * placed.quantity, f"{ref}: P2"
        assert placed.due_now >= 0, f"{ref}: negative amount due"
        if placed.status != OrderStatus.PAID:
            assert placed.id not in applied, f"{ref} has an applied payment but is unpaid"
            continue
        payment = applied.get(placed.id)
        if payment is None:
            assert placed.provider == "balance", (
                f"{ref} is paid with no payment ({placed.provider})"
            )
            assert placed.due_now == 0, f"{ref} was paid from the balance with money due"
        else:
            assert placed.provider != "balance", ref
            assert (payment.amount, payment.currency) == (placed.due_now, placed.currency), ref
            paid_by_payments += placed.due_now
    assert sum(p.amount for p in applied.values()) == paid_by_payments
    credited = sum(p.amount for p in snap.payments if p.outcome == PaymentOutcome.CREDITED)
    effects = sum(balance_effect(o) for o in snap.orders.values() if o.status == OrderStatus.PAID)
    assert snap.balance == credited + effects, (
        f"balance {snap.balance} != credited payments {credited} + paid orders {effects}"
    )


def check_paid_orders_visible(before: Snapshot, snap: Snapshot) -> None:
    """Each order paid in this step moved its subscription's terms_version; the last one shows."""
    newly_paid = sorted(
        (
            o
            for ref, o in snap.orders.items()
            if o.status == OrderStatus.PAID
            and (ref not in before.orders or before.orders[ref].status != OrderStatus.PAID)
        ),
        key=lambda o: o.id,
    )
    last: dict[int, Order] = {}
    for paid in newly_paid:
        assert paid.subscription_id is not None, f"{paid.reference} applied to nothing"
        sub = snap.subs.get(paid.subscription_id)
        assert sub is not None, f"{paid.reference} applied to a missing subscription"
        was = before.subs.get(sub.id)
        assert sub.terms_version > (1 if was is None else was.terms_version), (
            f"{paid.reference} left no visible change on subscription {sub.id}"
        )
        last[sub.id] = paid
    for sub_id, paid in last.items():
        holds = snap.subs[sub_id].terms
        assert holds == paid.terms, f"{paid.reference}: holds {holds}, paid {paid.terms}"


def check_active_subscriptions_kept(before: Snapshot, snap: Snapshot) -> None:
    vanished = [
        f"{sub.package} #{sub.id}"
        for sub in before.subs.values()
        if sub.state == SubscriptionState.ACTIVE and sub.id not in snap.subs
    ]
    assert not vanished, f"Active subscriptions disappeared: {vanished}"


def check_pending_orders(snap: Snapshot, gateway: FakeGateway, *, swept: bool) -> None:
    """P8/P9: one open order per subscription (plus its renewal), each with its own link;
    a renewal is open only while its subscription is overdue; links of replaced or lapsed
    quotes are withdrawn (a renewal found after its grace ended gets none); once swept at
    `now`, no quote is left open past its validity."""
    open_orders: Counter[tuple[int, bool]] = Counter()
    for ref in snap.pending:
        placed = snap.orders[ref]
        assert placed.provider_reference == f"cs_{ref}", f"{ref} has no link of its own"
        assert placed.payment_link is not None, f"{ref} has no payment link"
        renewal = placed.kind == OrderKind.RENEWAL
        if placed.subscription_id is not None:
            open_orders[placed.subscription_id, renewal] += 1
        if renewal:
            sub = snap.subs.get(placed.subscription_id or 0)
            assert sub is not None, f"renewal {ref} belongs to no subscription"
            assert sub.state == SubscriptionState.ACTIVE and sub.grace_until is not None, (
                f"renewal {ref} is open but subscription {sub.id} is not overdue"
            )
        elif swept:
            assert placed.expires_at > snap.now, f"{ref} is open past its validity"
    crowded = {key: n for key, n in open_orders.items() if n > 1}
    assert not crowded, f"subscriptions with more than one open order: {crowded}"
    withdrawn = set(gateway.cancelled)
    for placed in snap.orders.values():
        if placed.close_reason in (
            "replaced by a newer order",
            "quote validity ended",
            "grace period ended",
            "unsubscribed",
            "cancelled by support",
        ):
            if placed.provider_reference is None:
                # A renewal the sweep reached only after its grace ended never got a link.
                assert placed.kind == OrderKind.RENEWAL, f"{placed.reference} never had a link"
                assert placed.created_at >= placed.expires_at, f"{placed.reference} has no link"
                continue
            assert placed.provider_reference in withdrawn, f"{placed.reference} link still open"


def check_notices(snap: Snapshot, notifier: RecordingNotifier) -> None:
    """Every applied payment told its chat once."""
    told = Counter(n.data["order"] for n in notifier.notices if n.kind == "payment.succeeded")
    applied = Counter(
        o.reference
        for p in snap.payments
        if p.outcome == PaymentOutcome.APPLIED
        for o in snap.orders.values()
        if o.id == p.order_id
    )
    assert told == applied, f"payment notices {dict(told)} != applied payments {dict(applied)}"


def test_lifecycle_invariants_hold_over_random_sequences() -> None:
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# -- the shortest sequences behind the bugs the machine found ----------------------------------


async def test_each_pending_renewal_gets_its_own_payment_link(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    first = await buy(ctx, owner, workspace_id, Terms("cc1", 1, 1))
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 10))
    await pay(ctx, first, "late-repeat")  # credited: the balance now covers cc1's renewal
    cc1 = await subscription(ctx, workspace_id, "cc1")
    cc2 = await subscription(ctx, workspace_id, "cc2")
    clock.set(at("2026-02-15T10:00:00Z"))
    report = await sweep(ctx)
    assert (report["renewal.charged"], report["renewal.due"]) == (1, 1)
    async with ctx.db.unit_of_work() as session:
        charged = await session.scalar(
            select(Order).where(Order.subscription_id == cc1.id, Order.kind == "renewal")
        )
    assert charged is not None
    due = await pending_renewal(ctx, cc2.id)
    assert (charged.status, charged.provider, charged.payment_link) == ("paid", "balance", None)
    assert due.provider_reference == f"cs_{due.reference}"
    assert due.payment_link is not None


async def test_a_renewal_onto_a_scheduled_package_keeps_its_active_subscription(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc3", 1, 10))
    cc3 = await subscription(ctx, workspace_id, "cc3")
    await orders.schedule_downgrade(ctx, owner, workspace_id, cc3.id, Terms("cc1", 1, 10))
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 5))
    bought = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, cc3.id)
    await payments.apply_payment(
        ctx,
        provider=PROVIDER,
        provider_payment_id="renew-cc3",
        order_reference=renewal.reference,
        amount=renewal.due_now,
        currency=renewal.currency,
    )
    kept = await subscription(ctx, workspace_id, "cc1")
    assert (kept.id, kept.state, kept.quantity) == (bought.id, "active", 5)
    assert kept.period_end == at("2027-01-15T10:00:00Z")


async def test_naming_a_trial_does_not_sell_a_running_package_again(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 12, 10))
    trial = await subscriptions.start_trial(ctx, owner, workspace_id, "cc2")
    clock.advance(timedelta(days=30))
    more = Terms("cc1", 12, 15)
    direct = await orders.get_quote(ctx, owner, workspace_id, more)
    via_trial = await orders.get_quote(ctx, owner, workspace_id, more, subscription_id=trial)
    assert via_trial == direct
    with pytest.raises(InvalidRequest):
        await orders.place_order(
            ctx, owner, workspace_id, Terms("cc1", 12, 10), subscription_id=trial
        )
    assert len((await read_snapshot(ctx, workspace_id)).orders) == 1, "nothing was ordered"


async def test_a_renewal_paid_after_its_grace_is_not_applied(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 5))
    cc1 = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, cc1.id)
    clock.set(at("2026-02-18T10:00:00Z"))  # the grace ends; the next sweep is yet to run
    result = await payments.apply_payment(
        ctx,
        provider=PROVIDER,
        provider_payment_id="renew-late",
        order_reference=renewal.reference,
        amount=renewal.due_now,
        currency=renewal.currency,
    )
    assert result.outcome == PaymentOutcome.CREDITED
    await sweep(ctx)
    lapsed = await subscription(ctx, workspace_id, "cc1")
    assert (lapsed.state, lapsed.inactive_reason) == ("inactive", "lapsed")
