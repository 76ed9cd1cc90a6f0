"""DESIGN section 2's worked examples, end to end through the service layer."""

from __future__ import annotations

from core.access import Actor
from core.catalog import builtin_catalog_path, load_catalog
from core.clock import FixedClock
from core.db import Database
from core.pricing import QuoteKind, Terms
from core.services.context import Context
from core.services.orders import get_quote, place_order
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, pay, pay_order, pending_renewal, subscription


async def test_example_1_new_purchase_starts_the_period_at_payment(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    assert (placed.quote.kind, placed.quote.price_per_account, placed.quote.total) == (
        QuoteKind.NEW,
        25_500,
        2_550_000,
    )
    assert placed.payment_link is not None
    clock.set(at("2026-01-15T10:00:00Z"))
    result = await pay(ctx, placed)
    assert result.outcome == "applied"
    sub = await subscription(ctx, workspace_id, "cc2")
    assert (sub.state, sub.quantity, sub.cycle_months) == ("active", 100, 12)
    assert sub.period_start == at("2026-01-15T10:00:00Z")
    assert sub.period_end == at("2027-01-15T10:00:00Z")


async def test_example_2_adding_accounts_charges_only_the_time_left(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 120))
    assert placed.quote.kind is QuoteKind.ADD_ACCOUNTS
    assert (placed.quote.quantity, placed.quote.total, placed.quote.due_now) == (
        20,
        510_000,
        257_096,
    )
    await pay(ctx, placed)
    sub = await subscription(ctx, workspace_id, "cc2")
    assert sub.quantity == 120
    assert sub.period_end == at("2027-01-15T10:00:00Z")


async def test_example_3_change_to_a_higher_package_credits_the_current_terms(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    cc2 = await subscription(ctx, workspace_id, "cc2")
    q = await get_quote(ctx, owner, workspace_id, Terms("cc3", 12, 100), subscription_id=cc2.id)
    assert (q.kind, q.total, q.credit, q.due_now) == (
        QuoteKind.CHANGE,
        4_080_000,
        1_285_479,
        2_794_521,
    )
    await buy(ctx, owner, workspace_id, Terms("cc3", 12, 100), subscription_id=cc2.id)
    cc3 = await subscription(ctx, workspace_id, "cc3")
    assert cc3.id == cc2.id
    assert cc3.period_start == at("2026-07-15T10:00:00Z")
    assert cc3.period_end == at("2027-07-15T10:00:00Z")


async def test_example_4_month_end_anchor_does_not_drift_across_renewals(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    clock.set(at("2026-01-31T09:00:00Z"))
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 5))
    sub = await subscription(ctx, workspace_id, "cc1")
    assert sub.period_end == at("2026-02-28T09:00:00Z")
    clock.set(at("2026-02-28T09:00:00Z"))
    report = await sweep(ctx)
    assert report["renewal.due"] == 1
    renewal = await pending_renewal(ctx, sub.id)
    await pay_order(ctx, renewal, "renew-1")
    sub = await subscription(ctx, workspace_id, "cc1")
    assert sub.period_start == at("2026-02-28T09:00:00Z")
    assert sub.period_end == at("2026-03-31T09:00:00Z")
    assert sub.grace_until is None


async def test_example_5_zero_decimal_currency_is_never_scaled_by_100(
    db: Database, clock: FixedClock, owner: Actor
) -> None:
    vnd = load_catalog(builtin_catalog_path("vnd.toml"))
    vctx = Context(db=db, catalog=vnd, clock=clock, gateway=FakeGateway())
    workspace = await create_workspace(vctx, owner, "Công ty ABC")
    placed = await place_order(vctx, owner, workspace, Terms("cc2", 3, 7))
    assert (placed.quote.currency, placed.quote.price_per_account, placed.quote.total) == (
        "VND",
        712_500,
        4_987_500,
    )
    request = next(iter(vctx.gateway.checkouts.values()))  # type: ignore[union-attr]
    assert (request.currency, request.due_now) == ("VND", 4_987_500)
