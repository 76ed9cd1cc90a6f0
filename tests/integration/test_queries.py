"""The package list and the subscription details."""

from __future__ import annotations

from sqlalchemy import event

from core.access import Actor
from core.clock import FixedClock
from core.lifecycle import NoteKind, Status
from core.pricing import Terms
from core.services.context import Context
from core.services.queries import list_packages, subscription_details
from core.services.subscriptions import start_trial, unsubscribe
from tests.conftest import at
from tests.integration.helpers import buy


async def test_package_list_shows_each_package_with_this_workspaces_accounts(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    await start_trial(ctx, owner, workspace_id, "cc3")
    lines = await list_packages(ctx, owner, workspace_id)
    assert [(line.package.code, line.accounts, line.status) for line in lines] == [
        ("cc1", 0, None),
        ("cc2", 100, Status.ACTIVE),
        ("cc3", 10, Status.TRY),
    ]
    assert [line.is_current for line in lines] == [False, True, True]


async def test_outsider_sees_the_catalog_but_not_the_workspaces_counts(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    lines = await list_packages(ctx, Actor("telegram", "stranger"), workspace_id)
    assert [line.package.code for line in lines] == ["cc1", "cc2", "cc3"]
    assert all(line.accounts is None and line.status is None for line in lines)


async def test_package_list_costs_the_same_statements_however_much_is_held(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    await list_packages(ctx, owner, workspace_id)
    empty = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    for package in ("cc1", "cc2", "cc3"):
        await buy(ctx, owner, workspace_id, Terms(package, 1, 3))
    statements.clear()
    await list_packages(ctx, owner, workspace_id)
    full = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(full) == len(empty) == 2  # the caller's role, then all subscriptions at once


async def test_details_show_price_cycle_status_next_payment_and_registered_from(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    clock.set(at("2026-01-10T08:00:00Z"))
    await start_trial(ctx, owner, workspace_id, "cc2")
    clock.set(at("2026-01-15T10:00:00Z"))
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    details = await subscription_details(ctx, owner, workspace_id)
    (view,) = details.subscriptions
    assert view.package.code == "cc2"
    assert (view.price_per_account.minor, view.total.minor) == (25_500, 2_550_000)
    assert (view.cycle_months, view.quantity, view.status) == (12, 100, Status.ACTIVE)
    assert view.next_payment_at == at("2027-01-15T10:00:00Z")
    assert view.registered_at == at("2026-01-10T08:00:00Z")
    assert details.credit_balance.minor == 0
    assert view.notes == ()


async def test_details_note_an_unsubscribe_as_ends_on_without_a_next_payment(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    sub_id = (await subscription_details(ctx, owner, workspace_id)).subscriptions[0].id
    await unsubscribe(ctx, owner, workspace_id, sub_id)
    (view,) = (await subscription_details(ctx, owner, workspace_id)).subscriptions
    assert view.status is Status.ACTIVE
    assert [(n.kind, n.at) for n in view.notes] == [(NoteKind.ENDS_ON, placed.quote.period_end)]
    assert view.next_payment_at is None
