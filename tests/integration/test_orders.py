"""Placing orders and applying payments: P4–P7, P9, P10 and exactly-once fulfilment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest
from core.model import AuditEntry, BalanceEntry, Payment, Subscription, Workspace
from core.ports import RecordingNotifier
from core.pricing import QuoteKind, Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.payments import apply_payment, record_payment_failure
from core.services.staff.requests import Grant
from core.services.sweep import sweep
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import CHAT, buy, order, pay, subscription
from tests.integration.staff import run


async def balance(ctx: Context, workspace_id: int) -> int:
    async with ctx.db.unit_of_work() as session:
        ws = await session.get(Workspace, workspace_id)
        assert ws is not None
        ledger = await session.scalar(
            select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                BalanceEntry.workspace_id == workspace_id
            )
        )
        assert ws.credit_balance == ledger
        return ws.credit_balance


async def test_a_payment_reported_twice_is_applied_once(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    first = await pay(ctx, placed, "pay-1")
    again = await pay(ctx, placed, "pay-1")
    assert (first.outcome, first.duplicate) == ("applied", False)
    assert (again.outcome, again.duplicate) == ("applied", True)
    sub = await subscription(ctx, workspace_id, "cc2")
    assert sub.terms_version == 2
    async with ctx.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1


async def test_payment_confirmation_is_told_to_the_chat_where_the_order_began(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc1", 1, 3))
    (notice,) = notifier.notices
    assert (notice.kind, notice.chat_platform, notice.chat_id) == (
        "payment.succeeded",
        "telegram",
        "chat-1",
    )


async def test_a_wrong_amount_is_not_applied_and_is_flagged(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    result = await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id="short",
        order_reference=placed.reference,
        amount=placed.quote.due_now - 1,
        currency="USD",
    )
    assert result.outcome == "mismatch"
    assert (await order(ctx, placed.reference)).status == "pending"
    async with ctx.db.unit_of_work() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.needs_support
        assert await session.scalar(select(func.count()).select_from(Subscription)) == 0
    wrong_currency = await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id="eur",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency="EUR",
    )
    assert wrong_currency.outcome == "mismatch"


async def test_a_newer_order_cancels_the_older_pending_one_and_its_link(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    older = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    newer = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 150))
    assert (await order(ctx, older.reference)).status == "cancelled"
    assert gateway.cancelled == [f"cs_{older.reference}"]
    late = await pay(ctx, older)
    assert late.outcome == "credited"
    assert await balance(ctx, workspace_id) == older.quote.due_now
    await pay(ctx, newer)
    assert (await subscription(ctx, workspace_id, "cc2")).quantity == 150


async def test_a_newer_order_closes_an_older_one_that_already_lapsed_as_expired(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    older = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(older.expires_at)
    await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 150))
    lapsed = await order(ctx, older.reference)
    assert (lapsed.status, lapsed.close_reason) == ("expired", "quote validity ended")
    assert lapsed.closed_at == older.expires_at
    assert gateway.cancelled == [f"cs_{older.reference}"]


async def test_a_paid_order_whose_base_changed_goes_to_the_balance_and_support_is_told(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 120), chat=CHAT)
    sub = await subscription(ctx, workspace_id, "cc2")
    await run(ctx, Grant(workspace_id, sub.id, 5))  # closes the order priced on 100 accounts
    result = await pay(ctx, placed)
    assert result.outcome == "credited"
    assert result.note is not None and "cancelled" in result.note
    assert (await subscription(ctx, workspace_id, "cc2")).quantity == 105
    assert await balance(ctx, workspace_id) == placed.quote.due_now
    assert notifier.notices[-1].kind == "payment.needs_support"
    async with ctx.db.unit_of_work() as session:
        flagged = await session.scalar(select(Payment).where(Payment.needs_support.is_(True)))
        assert flagged is not None and flagged.outcome == "credited"


async def test_credit_beyond_the_new_total_goes_to_the_balance_and_pays_the_next_order(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 24, 100))
    clock.set(at("2026-02-15T10:00:00Z"))
    cc2 = await subscription(ctx, workspace_id, "cc2")
    change = await buy(ctx, owner, workspace_id, Terms("cc3", 1, 100), subscription_id=cc2.id)
    assert change.quote.kind is QuoteKind.CHANGE
    assert change.quote.due_now == 0 and change.status == "paid"
    excess = change.quote.credit - change.quote.total
    assert await balance(ctx, workspace_id) == excess > 0
    nxt = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 10))
    assert nxt.quote.balance_applied == min(excess, nxt.quote.total)
    if nxt.status == "pending":
        await pay(ctx, nxt)
    assert await balance(ctx, workspace_id) == excess - nxt.quote.balance_applied


async def test_a_change_to_a_package_already_held_is_refused_with_a_pointer(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 10))
    await buy(ctx, owner, workspace_id, Terms("cc3", 12, 10))
    cc2 = await subscription(ctx, workspace_id, "cc2")
    with pytest.raises(Conflict, match="add accounts there"):
        await place_order(ctx, owner, workspace_id, Terms("cc3", 12, 20), subscription_id=cc2.id)


async def test_same_terms_are_no_change_and_a_downgrade_is_not_an_order(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 10))
    with pytest.raises(InvalidRequest, match="already holds"):
        await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 10))
    with pytest.raises(InvalidRequest, match="scheduled"):
        await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 5))


async def test_an_idempotency_key_returns_the_same_order(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    first = await place_order(ctx, owner, workspace_id, Terms("cc1", 3, 4), idempotency_key="k1")
    second = await place_order(ctx, owner, workspace_id, Terms("cc1", 3, 4), idempotency_key="k1")
    assert second.reference == first.reference
    assert second.quote == first.quote
    assert len(gateway.checkouts) == 1


async def test_orders_expire_after_the_quote_validity_and_their_links_are_withdrawn(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 1))
    clock.advance(timedelta(minutes=29))
    assert (await sweep(ctx))["order.expired"] == 0
    clock.advance(timedelta(minutes=1))
    assert (await sweep(ctx))["order.expired"] == 1
    assert (await order(ctx, placed.reference)).status == "expired"
    assert gateway.cancelled == [f"cs_{placed.reference}"]
    assert (await pay(ctx, placed)).outcome == "credited"


async def test_a_failed_payment_fails_the_order_and_tells_the_chat(
    ctx: Context, owner: Actor, workspace_id: int, notifier: RecordingNotifier
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 1), chat=CHAT)
    assert await record_payment_failure(ctx, provider="fake", order_reference=placed.reference)
    assert (await order(ctx, placed.reference)).status == "failed"
    assert notifier.notices[-1].kind == "payment.failed"
    assert not await record_payment_failure(ctx, provider="fake", order_reference=placed.reference)


async def test_every_applied_order_is_audited_with_before_and_after(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await buy(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    paid = await order(ctx, placed.reference)
    async with ctx.db.unit_of_work() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "order.new"))
        assert entry is not None
        assert entry.actor == "payment provider:fake"
        assert entry.before is not None and entry.before["state"] == "inactive"
        assert entry.after is not None and entry.after["state"] == "active"
        assert entry.order_id == paid.id
        assert entry.payment_id is not None
