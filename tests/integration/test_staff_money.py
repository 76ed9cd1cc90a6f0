"""Staff changes that move money: refunds through the provider (never beyond what is left),
credit to the balance as a ledger entry, cancel's refund modes at DESIGN example 3's moment,
flagged payments refunded or credited, and a provider that fails once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest, NotAllowed, PaymentProviderError
from core.model import BalanceEntry, Payment, StaffAction
from core.model import Refund as RefundRow
from core.money import Money
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.payments import apply_payment
from core.services.staff.changes import (
    AlreadyDone,
    Done,
    ProviderFailed,
    confirm,
    preview,
)
from core.services.staff.requests import (
    Cancel,
    Credit,
    CreditPayment,
    Grant,
    ReasonCode,
    Refund,
    RefundMode,
    new_token,
)
from core.services.subscriptions import start_trial
from core.staff import StaffDirectory
from tests.conftest import at
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, subscription
from tests.integration.staff import AGENT, MANAGER, VIEWER, run

USD = "USD"


def usd(minor: int) -> Money:
    return Money(minor, USD)


async def balance(ctx: Context, workspace_id: int) -> tuple[int, int]:
    """The workspace's balance and the sum of its ledger (always equal)."""
    from core.model import Workspace

    async with ctx.db.read() as session:
        workspace = await session.get(Workspace, workspace_id)
        ledger = await session.scalar(
            select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                BalanceEntry.workspace_id == workspace_id
            )
        )
        assert workspace is not None
        return workspace.credit_balance, int(ledger or 0)


async def payments(ctx: Context) -> list[Payment]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(Payment).order_by(Payment.id)))


async def refunds(ctx: Context) -> list[RefundRow]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(RefundRow)))


async def paid(ctx: Context, owner: Actor, workspace_id: int, terms: Terms) -> Payment:
    await buy(ctx, owner, workspace_id, terms)
    return (await payments(ctx))[-1]


@pytest.fixture
def no_second_approval(ctx: Context) -> Context:
    """These cancels move more than the default threshold; approvals are tested apart."""
    ctx.staff = StaffDirectory(approval_over=Decimal(1_000_000))
    return ctx


@pytest.mark.usefixtures("no_second_approval")
async def test_cancel_prorated_at_example_3s_moment_refunds_12854_79(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    payment = await paid(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    sub = await subscription(ctx, workspace_id, "cc2")
    shown = await preview(ctx, MANAGER, Cancel(workspace_id, sub.id, RefundMode.PRORATED))
    assert shown.refund == usd(1_285_479) and shown.refundable == usd(2_550_000)
    assert shown.after.refunded == usd(1_285_479)
    result = await run(ctx, Cancel(workspace_id, sub.id, RefundMode.PRORATED))
    assert result.preview.refund == shown.refund and result.after == shown.after
    [made] = gateway.refunds.values()
    assert (made.amount, made.provider_payment_id) == (1_285_479, payment.provider_payment_id)
    [row] = await refunds(ctx)
    assert (row.amount, row.payment_id) == (1_285_479, payment.id)
    assert (await subscription(ctx, workspace_id, "cc2")).state == "inactive"


@pytest.mark.usefixtures("no_second_approval")
async def test_cancel_full_refunds_the_last_payment_and_credit_puts_unused_time_in_the_balance(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await paid(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    await paid(ctx, owner, workspace_id, Terms("cc1", 1, 10))
    clock.set(at("2026-07-15T10:00:00Z"))
    cc2 = await subscription(ctx, workspace_id, "cc2")
    full = await run(ctx, Cancel(workspace_id, cc2.id, RefundMode.FULL))
    assert full.preview.refund == usd(2_550_000)
    cc1 = await subscription(ctx, workspace_id, "cc1")
    with pytest.raises(InvalidRequest, match="no unused paid time"):
        await preview(ctx, MANAGER, Cancel(workspace_id, cc1.id, RefundMode.CREDIT))


@pytest.mark.usefixtures("no_second_approval")
async def test_cancel_credit_moves_unused_time_to_the_balance_through_the_ledger(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock, gateway: FakeGateway
) -> None:
    await paid(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    clock.set(at("2026-07-15T10:00:00Z"))
    sub = await subscription(ctx, workspace_id, "cc2")
    result = await run(ctx, Cancel(workspace_id, sub.id, RefundMode.CREDIT))
    assert result.preview.credit == usd(1_285_479) and gateway.refunds == {}
    assert await balance(ctx, workspace_id) == (1_285_479, 1_285_479)


async def test_a_trial_is_cancelled_with_none_and_refused_a_refund(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    sub_id = await start_trial(ctx, owner, workspace_id, "cc1")
    with pytest.raises(InvalidRequest, match="credit or none"):
        await preview(ctx, MANAGER, Cancel(workspace_id, sub_id, RefundMode.PRORATED))
    result = await run(ctx, Cancel(workspace_id, sub_id, RefundMode.NONE))
    assert result.after.status is not None and result.after.status.value == "Inactive"


async def test_a_refund_is_all_or_part_and_never_beyond_what_is_left(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    payment = await paid(ctx, owner, workspace_id, Terms("cc2", 1, 10))  # 250.00
    part = await run(ctx, Refund(workspace_id, payment.id, usd(10_000)))
    assert part.after.refunded == usd(10_000)
    with pytest.raises(InvalidRequest, match=r"at most 150\.00 USD"):
        await preview(ctx, MANAGER, Refund(workspace_id, payment.id, usd(15_001)))
    rest = await run(ctx, Refund(workspace_id, payment.id, None))
    assert rest.preview.refund == usd(15_000) and rest.after.refunded == usd(25_000)
    with pytest.raises(Conflict, match="Nothing is left"):
        await preview(ctx, MANAGER, Refund(workspace_id, payment.id, None))
    assert sum(r.amount for r in await refunds(ctx)) == 25_000


async def test_a_provider_failing_once_then_succeeding_refunds_once(
    ctx: Context, owner: Actor, workspace_id: int, gateway: FakeGateway
) -> None:
    payment = await paid(ctx, owner, workspace_id, Terms("cc2", 1, 10))
    shown = await preview(ctx, MANAGER, Refund(workspace_id, payment.id, None))
    token = new_token()
    args = (shown.request, ReasonCode.BILLING_ERROR, None, shown.state_key, token)
    gateway.refund_outages = 1
    with pytest.raises(ProviderFailed, match="confirm again to retry"):
        await confirm(ctx, MANAGER, *args)
    assert await refunds(ctx) == []
    done = await confirm(ctx, MANAGER, *args)
    again = await confirm(ctx, MANAGER, *args)
    assert isinstance(done, Done) and isinstance(again, AlreadyDone)
    assert list(gateway.refunds) == [f"staff:{token}"]
    assert [r.amount for r in await refunds(ctx)] == [25_000]


async def test_money_verbs_need_a_manager(ctx: Context, owner: Actor, workspace_id: int) -> None:
    payment = await paid(ctx, owner, workspace_id, Terms("cc2", 1, 10))
    for staff in (AGENT, VIEWER):
        with pytest.raises(NotAllowed):
            await preview(ctx, staff, Refund(workspace_id, payment.id, None))
        with pytest.raises(NotAllowed):
            await preview(ctx, staff, Credit(workspace_id, usd(100)))
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(StaffAction)) == 0


async def test_credit_adds_a_ledger_entry_and_the_balance(ctx: Context, workspace_id: int) -> None:
    shown = await preview(ctx, MANAGER, Credit(workspace_id, usd(1_250)))
    assert (shown.before.balance, shown.after.balance) == (usd(0), usd(1_250))
    result = await run(ctx, Credit(workspace_id, usd(1_250)))
    assert result.after.balance == usd(1_250)
    assert await balance(ctx, workspace_id) == (1_250, 1_250)


async def test_a_payment_of_another_provider_cannot_be_refunded_from_here(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 1))
    await apply_payment(
        ctx,
        provider="elsewhere",
        provider_payment_id="p1",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency=USD,
    )
    [payment] = await payments(ctx)
    with pytest.raises(PaymentProviderError, match="through elsewhere"):
        await preview(ctx, MANAGER, Refund(workspace_id, payment.id, None))


async def credited_payment(ctx: Context, owner: Actor, workspace_id: int) -> Payment:
    """A payment that came in after its order was closed: credited and flagged."""
    await buy(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 120))
    sub = await subscription(ctx, workspace_id, "cc2")
    await run(ctx, Grant(workspace_id, sub.id, 5))
    await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id="late",
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency=USD,
    )
    late = (await payments(ctx))[-1]
    assert late.outcome == "credited" and late.needs_support
    return late


async def mismatched_payment(ctx: Context, owner: Actor, workspace_id: int) -> Payment:
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 2))
    await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id="short",
        order_reference=placed.reference,
        amount=placed.quote.due_now - 100,
        currency=USD,
    )
    short = (await payments(ctx))[-1]
    assert short.outcome == "mismatch" and short.needs_support
    return short


async def test_refunding_a_credited_payment_takes_it_back_out_of_the_balance(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    late = await credited_payment(ctx, owner, workspace_id)
    assert (await balance(ctx, workspace_id))[0] == late.amount
    shown = await preview(ctx, MANAGER, Refund(workspace_id, late.id, None))
    assert shown.balance_taken == usd(late.amount) and shown.clears_flag
    shown = await preview(ctx, MANAGER, Refund(workspace_id, late.id, usd(1_000)))
    assert shown.balance_taken == usd(1_000) and shown.needs_approval is False
    await run(ctx, Refund(workspace_id, late.id, usd(1_000)))
    assert await balance(ctx, workspace_id) == (late.amount - 1_000,) * 2
    flagged = (await payments(ctx))[-1]
    assert not flagged.needs_support


async def test_crediting_a_flagged_payment_clears_the_flag_once(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    short = await mismatched_payment(ctx, owner, workspace_id)
    shown = await preview(ctx, MANAGER, CreditPayment(workspace_id, short.id))
    assert shown.credit == usd(short.amount) and shown.clears_flag
    await run(ctx, CreditPayment(workspace_id, short.id))
    assert await balance(ctx, workspace_id) == (short.amount, short.amount)
    with pytest.raises(Conflict, match="not waiting for support"):
        await preview(ctx, MANAGER, CreditPayment(workspace_id, short.id))
    late = await credited_payment(ctx, owner, workspace_id)
    before = (await balance(ctx, workspace_id))[0]
    result = await run(ctx, CreditPayment(workspace_id, late.id))
    assert result.preview.credit is None and (await balance(ctx, workspace_id))[0] == before
