"""Trials, unsubscribe and resume, scheduled downgrades, renewals with grace (section 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest
from core.lifecycle import NoteKind, Status
from core.model import AuditEntry, Order
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order, schedule_downgrade, withdraw_scheduled_change
from core.services.queries import subscription_details
from core.services.subscriptions import resume, start_trial, unsubscribe
from core.services.sweep import sweep
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, pay, pay_order, pending_renewal, subscription


async def test_a_trial_runs_fourteen_days_then_becomes_inactive(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc2")
    (view,) = (await subscription_details(ctx, owner, workspace_id)).subscriptions
    assert (view.id, view.status, view.quantity) == (sub_id, Status.TRY, 10)
    assert view.next_payment_at == clock.now() + timedelta(days=14)
    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert (await sweep(ctx))["trial.ended"] == 0
    clock.advance(timedelta(seconds=1))
    assert (await sweep(ctx))["trial.ended"] == 1
    assert (await sweep(ctx))["trial.ended"] == 0
    sub = await subscription(ctx, workspace_id, "cc2")
    assert (sub.state, sub.inactive_reason) == ("inactive", "trial_expired")


async def test_a_trial_is_once_per_package_and_within_its_account_limit(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    with pytest.raises(InvalidRequest, match="1 to 10"):
        await start_trial(ctx, owner, workspace_id, "cc1", quantity=11)
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1", quantity=3)
    await unsubscribe(ctx, owner, workspace_id, sub_id)
    with pytest.raises(Conflict, match="once"):
        await start_trial(ctx, owner, workspace_id, "cc1")


async def test_buying_during_a_trial_turns_the_same_subscription_active(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    trial_id = await start_trial(ctx, owner, workspace_id, "cc2")
    clock.advance(timedelta(days=3))
    placed = await buy(ctx, owner, workspace_id, Terms("cc2", 12, 10))
    assert placed.quote.kind == "new"
    sub = await subscription(ctx, workspace_id, "cc2")
    assert (sub.id, sub.state, sub.trial_ends_at) == (trial_id, "active", None)
    assert sub.period_start == clock.now()


async def test_unsubscribe_ends_the_period_and_resume_takes_it_back(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    with pytest.raises(Conflict, match="already set to end"):
        await unsubscribe(ctx, owner, workspace_id, sub.id)
    await resume(ctx, owner, workspace_id, sub.id)
    with pytest.raises(Conflict, match="resumed"):
        await resume(ctx, owner, workspace_id, sub.id)
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    clock.set(at("2026-02-15T10:00:00Z"))
    report = await sweep(ctx)
    assert (report["cancellation.effective"], report["renewal.due"]) == (1, 0)
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.state, sub.inactive_reason) == ("inactive", "cancelled")
    with pytest.raises(Conflict):
        await resume(ctx, owner, workspace_id, sub.id)


async def test_buying_again_after_inactive_is_a_new_purchase(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    clock.set(at("2026-03-01T00:00:00Z"))
    await sweep(ctx)
    again = await buy(ctx, owner, workspace_id, Terms("cc1", 3, 4))
    assert again.quote.kind == "new"
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.state, sub.quantity, sub.period_start) == ("active", 4, clock.now())


async def test_a_downgrade_is_scheduled_shown_withdrawn_and_applied_at_renewal(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 100))
    sub = await subscription(ctx, workspace_id, "cc2")
    quote = await schedule_downgrade(ctx, owner, workspace_id, sub.id, Terms("cc1", 1, 50))
    assert (quote.kind, quote.due_now, quote.total) == ("downgrade", 0, 1500 * 50)
    assert quote.period_start == at("2026-02-15T10:00:00Z")
    (view,) = (await subscription_details(ctx, owner, workspace_id)).subscriptions
    assert [n.kind for n in view.notes] == [NoteKind.CHANGES_ON]
    await withdraw_scheduled_change(ctx, owner, workspace_id, sub.id)
    (view,) = (await subscription_details(ctx, owner, workspace_id)).subscriptions
    assert view.notes == ()
    with pytest.raises(InvalidRequest):
        await withdraw_scheduled_change(ctx, owner, workspace_id, sub.id)
    await schedule_downgrade(ctx, owner, workspace_id, sub.id, Terms("cc1", 1, 50))
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    assert (renewal.package, renewal.new_quantity, renewal.due_now) == ("cc1", 50, 75_000)
    await pay_order(ctx, renewal, "r1")
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.quantity, sub.scheduled_package, sub.period_end) == (
        50,
        None,
        at("2026-03-15T10:00:00Z"),
    )


async def test_an_unpaid_renewal_suspends_after_the_grace_period(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    (view,) = (await subscription_details(ctx, owner, workspace_id)).subscriptions
    assert view.status is Status.ACTIVE
    assert [(n.kind, n.at) for n in view.notes] == [(NoteKind.OVERDUE, at("2026-02-18T10:00:00Z"))]
    with pytest.raises(Conflict, match="overdue"):
        await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 5))
    clock.set(at("2026-02-18T10:00:00Z"))
    assert (await sweep(ctx))["subscription.suspended"] == 1
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.state, sub.inactive_reason) == ("inactive", "lapsed")
    late = await pay_order(ctx, renewal, "late")
    assert late.outcome == "credited"
    again = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    assert again.quote.kind == "new"
    assert again.quote.balance_applied == renewal.due_now


async def test_unsubscribing_an_overdue_renewal_withdraws_its_payment_link(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-16T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    assert renewal.provider_reference is not None
    await unsubscribe(ctx, owner, workspace_id, sub.id)
    assert gateway.cancelled == [renewal.provider_reference]
    late = await pay_order(ctx, renewal, "late")
    assert late.outcome == "credited"


async def test_a_renewal_lapsing_with_its_grace_period_withdraws_its_payment_link(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    assert renewal.provider_reference is not None and gateway.cancelled == []
    clock.set(at("2026-02-18T10:00:00Z"))
    assert (await sweep(ctx))["subscription.suspended"] == 1
    assert gateway.cancelled == [renewal.provider_reference]
    async with ctx.db.unit_of_work() as session:
        lapsed = await session.get(Order, renewal.id)
        assert lapsed is not None
        assert (lapsed.status, lapsed.close_reason) == ("expired", "grace period ended")
    assert sum((await sweep(ctx)).counts.values()) == 0
    assert gateway.cancelled == [renewal.provider_reference]


async def test_a_renewal_paid_within_grace_continues_from_the_old_end(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-16T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    clock.set(at("2026-02-17T09:00:00Z"))
    await pay_order(ctx, renewal, "r")
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.period_start, sub.period_end) == (
        at("2026-02-15T10:00:00Z"),
        at("2026-03-15T10:00:00Z"),
    )


async def test_the_sweep_is_idempotent(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    clock.set(at("2026-02-15T10:00:00Z"))
    first = await sweep(ctx)
    second = await sweep(ctx)
    assert first["renewal.due"] == 1 and sum(second.counts.values()) == 0
    async with ctx.db.unit_of_work() as session:
        renewals = list(await session.scalars(select(Order).where(Order.kind == "renewal")))
        assert len(renewals) == 1


async def test_a_renewal_is_paid_from_the_credit_balance_when_it_covers_it(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    stale = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 9))
    await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 10))
    await pay(ctx, stale)  # cancelled by the newer order: its money becomes credit
    clock.set(at("2026-02-15T10:00:00Z"))
    report = await sweep(ctx)
    assert report["renewal.charged"] == 1
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (sub.grace_until, sub.period_end) == (None, at("2026-03-15T10:00:00Z"))
    async with ctx.db.unit_of_work() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
        assert "order.renewal" in actions


async def test_buying_again_after_a_lapse_renews_again_at_the_next_period_end(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    clock.set(at("2026-02-18T10:00:00Z"))
    assert (await sweep(ctx))["subscription.suspended"] == 1
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    clock.set(at("2026-03-18T10:00:00Z"))
    assert (await sweep(ctx))["renewal.due"] == 1
    sub = await subscription(ctx, workspace_id, "cc1")
    assert (await pending_renewal(ctx, sub.id)).period_start == at("2026-03-18T10:00:00Z")


async def test_an_upgrade_after_a_paid_renewal_renews_again_at_its_own_period_end(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub = await subscription(ctx, workspace_id, "cc1")
    clock.set(at("2026-02-15T10:00:00Z"))
    await sweep(ctx)
    renewal = await pending_renewal(ctx, sub.id)
    await pay_order(ctx, renewal, "r1")
    clock.set(at("2026-03-01T10:00:00Z"))
    await buy(ctx, owner, workspace_id, Terms("cc2", 1, 2), subscription_id=sub.id)
    clock.set(at("2026-04-01T10:00:00Z"))
    assert (await sweep(ctx))["renewal.due"] == 1
