"""The sandbox payment provider: links, reading them back, and paying through the one path."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.sandbox import (
    Outcome,
    SandboxGateway,
    SandboxReferenceError,
    complete_sandbox_payment,
    load_checkout,
    parse_order_reference,
)
from core.access import Actor
from core.clock import FixedClock
from core.model import AuditEntry, OutboxNotice, Payment
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.payments import record_payment_failure
from core.services.sweep import sweep
from tests.conftest import START
from tests.fakes import FakeGateway
from tests.integration.helpers import CHAT, order, pending_renewal, subscription

REFERENCE = "ord_0123456789abcdef"


async def payments(ctx: Context) -> int:
    async with ctx.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(Payment)) or 0)


async def test_a_checkout_links_to_the_sandbox_page_and_keeps_the_expiry(
    sandbox_ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    assert placed.payment_link == f"http://planbot.test/sandbox/checkout/{placed.reference}"
    stored = await order(sandbox_ctx, placed.reference)
    assert (stored.provider, stored.provider_reference) == ("sandbox", placed.reference)
    assert stored.expires_at == START + timedelta(minutes=30)


async def test_the_public_url_may_end_with_a_slash() -> None:
    gateway = SandboxGateway(" https://pay.example.test/planbot/ ")
    assert (
        gateway.link(REFERENCE) == f"https://pay.example.test/planbot/sandbox/checkout/{REFERENCE}"
    )
    await gateway.cancel_checkout(REFERENCE)  # nothing to withdraw, and no error


@pytest.mark.parametrize(
    "text",
    [
        REFERENCE,
        f"  {REFERENCE}\n",
        f"http://127.0.0.1:8000/sandbox/checkout/{REFERENCE}",
        f"http://127.0.0.1:8000/sandbox/checkout/{REFERENCE}/",
        f" https://pay.example.test/planbot/sandbox/checkout/{REFERENCE}/ \n",
        f"Link: http://127.0.0.1:8000/sandbox/checkout/{REFERENCE}",
    ],
)
def test_a_reference_or_a_whole_link_names_the_order(text: str) -> None:
    assert parse_order_reference(text) == REFERENCE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ord 0123",
        "ord_<script>",
        "x" * 41,
        f"ftp://127.0.0.1/sandbox/checkout/{REFERENCE}",
        f"http:///sandbox/checkout/{REFERENCE}",
        f"http://127.0.0.1:8000/stripe/checkout/{REFERENCE}",
        f"http://127.0.0.1:8000/sandbox/checkout/{REFERENCE}/pay",
        f"http://127.0.0.1:8000/sandbox/checkout/{REFERENCE}?x=1",
        "http://127.0.0.1:8000/sandbox/checkout/",
        "http://127.0.0.1:8000/sandbox/checkout/ord%2F..",
        "http://[::1/sandbox/checkout/ord_1",
    ],
)
def test_anything_else_is_refused_with_one_clear_line(text: str) -> None:
    with pytest.raises(SandboxReferenceError) as refused:
        parse_order_reference(text)
    message = str(refused.value)
    assert "\n" not in message
    assert "order reference" in message


async def test_paying_twice_fulfils_once(sandbox_ctx: Context, owner: Actor, ws: int) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    first = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    again = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    assert (first.outcome, again.outcome) == (Outcome.APPLIED, Outcome.ALREADY_PAID)
    assert first.ok and again.ok
    assert await payments(sandbox_ctx) == 1
    sub = await subscription(sandbox_ctx, ws, "cc2")
    assert (sub.state, sub.quantity, sub.terms_version) == ("active", 100, 2)
    async with sandbox_ctx.db.unit_of_work() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
        assert (payment.provider, payment.provider_payment_id) == (
            "sandbox",
            f"sandbox-{placed.reference}",
        )
        assert (payment.amount, payment.currency) == (2_550_000, "USD")
        applied = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "order.new", AuditEntry.order_id.is_not(None))
        )
        assert applied == 1


async def test_the_chat_where_the_order_began_is_told_through_the_outbox(
    sandbox_ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc1", 1, 3), chat=CHAT)
    await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    async with sandbox_ctx.db.unit_of_work() as session:
        rows = list(await session.scalars(select(OutboxNotice)))
    assert [(r.kind, r.chat_platform, r.chat_id, r.workspace_id) for r in rows] == [
        ("payment.succeeded", CHAT.platform, CHAT.chat_id, ws)
    ]
    assert rows[0].data["order"] == placed.reference


async def test_a_failed_payment_leaves_the_order_payable_and_a_retry_pays_it(
    sandbox_ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    failed = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=True)
    again = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=True)
    assert (failed.outcome, again.outcome) == (Outcome.FAILED, Outcome.FAILED)
    assert failed.ok and "the same link can pay it until 2026-01-15T10:30:00Z" in failed.message
    assert (await order(sandbox_ctx, placed.reference)).status == "pending"
    assert await payments(sandbox_ctx) == 0
    paid = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    assert paid.outcome is Outcome.APPLIED
    assert (await order(sandbox_ctx, placed.reference)).status == "paid"
    assert await payments(sandbox_ctx) == 1
    async with sandbox_ctx.db.unit_of_work() as session:
        kinds = list(await session.scalars(select(OutboxNotice.kind).order_by(OutboxNotice.id)))
        reasons = list(
            await session.scalars(
                select(AuditEntry.reason).where(AuditEntry.action == "payment.failed")
            )
        )
    assert kinds == ["payment.failed", "payment.failed", "payment.succeeded"]
    assert reasons == ["declined in the sandbox"] * 2


async def test_an_order_whose_payment_failed_for_good_is_not_failed_or_paid_again(
    sandbox_ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    assert await record_payment_failure(
        sandbox_ctx, provider="sandbox", order_reference=placed.reference
    )
    again = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=True)
    paid = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    assert (again.outcome, paid.outcome) == (Outcome.ALREADY_FAILED, Outcome.NOT_PAYABLE)
    assert again.ok and not paid.ok and "failed" in paid.message
    assert (await order(sandbox_ctx, placed.reference)).status == "failed"
    assert await payments(sandbox_ctx) == 0


async def test_a_paid_order_cannot_be_failed(sandbox_ctx: Context, owner: Actor, ws: int) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc1", 1, 3), chat=CHAT)
    await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    result = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=True)
    assert (result.outcome, result.ok) == (Outcome.NOT_PAYABLE, False)
    assert (await order(sandbox_ctx, placed.reference)).status == "paid"


async def test_an_expired_order_is_not_payable_and_nothing_changes(
    sandbox_ctx: Context, clock: FixedClock, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    clock.advance(timedelta(minutes=31))
    view = await load_checkout(sandbox_ctx, placed.reference)
    assert view is not None and not view.payable and view.shown_status == "expired"
    for fail in (False, True):
        result = await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=fail)
        assert (result.outcome, result.ok) == (Outcome.NOT_PAYABLE, False)
        assert "expired" in result.message
    assert (await order(sandbox_ctx, placed.reference)).status == "pending"
    assert await payments(sandbox_ctx) == 0
    async with sandbox_ctx.db.unit_of_work() as session:
        assert list(await session.scalars(select(OutboxNotice))) == []


async def test_a_replaced_order_is_not_payable(sandbox_ctx: Context, owner: Actor, ws: int) -> None:
    older = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    newer = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 50), chat=CHAT)
    result = await complete_sandbox_payment(sandbox_ctx, older.reference, fail=False)
    assert result.outcome is Outcome.NOT_PAYABLE
    assert "cancelled" in result.message
    assert (await complete_sandbox_payment(sandbox_ctx, newer.reference, False)).outcome is (
        Outcome.APPLIED
    )
    assert (await subscription(sandbox_ctx, ws, "cc2")).quantity == 50


async def test_unknown_orders_and_other_providers_orders_are_unknown_to_the_sandbox(
    ctx: Context, sandbox_ctx: Context, gateway: FakeGateway, owner: Actor, ws: int
) -> None:
    elsewhere = await place_order(ctx, owner, ws, Terms("cc1", 1, 3), chat=CHAT)
    assert gateway.checkouts  # a checkout of the other provider
    for reference in (elsewhere.reference, REFERENCE, "<bad>"):
        result = await complete_sandbox_payment(sandbox_ctx, reference, fail=False)
        assert (result.outcome, result.ok) == (Outcome.UNKNOWN_ORDER, False)
        assert await load_checkout(sandbox_ctx, reference) is None
    assert (await order(ctx, elsewhere.reference)).status == "pending"


async def test_a_renewal_that_fails_stays_due_and_can_still_be_paid(
    sandbox_ctx: Context, clock: FixedClock, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc1", 1, 3), chat=CHAT)
    await complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False)
    sub = await subscription(sandbox_ctx, ws, "cc1")
    assert sub.period_end is not None
    clock.set(sub.period_end)
    await sweep(sandbox_ctx)
    renewal = await pending_renewal(sandbox_ctx, sub.id)
    assert renewal.provider == "sandbox"
    failed = await complete_sandbox_payment(sandbox_ctx, renewal.reference, fail=True)
    assert failed.outcome is Outcome.FAILED and "stays due" in failed.message
    paid = await complete_sandbox_payment(sandbox_ctx, renewal.reference, fail=False)
    assert paid.outcome is Outcome.APPLIED
    after = await subscription(sandbox_ctx, ws, "cc1")
    assert after.grace_until is None and after.period_end is not None
    assert after.period_end > sub.period_end


async def test_two_payments_at_once_fulfil_once(
    sandbox_ctx: Context, owner: Actor, ws: int
) -> None:
    placed = await place_order(sandbox_ctx, owner, ws, Terms("cc2", 12, 100), chat=CHAT)
    results = await asyncio.gather(
        *(complete_sandbox_payment(sandbox_ctx, placed.reference, fail=False) for _ in range(4))
    )
    assert sorted(r.outcome for r in results) == [
        Outcome.ALREADY_PAID,
        Outcome.ALREADY_PAID,
        Outcome.ALREADY_PAID,
        Outcome.APPLIED,
    ]
    assert await payments(sandbox_ctx) == 1
    assert (await subscription(sandbox_ctx, ws, "cc2")).terms_version == 2
    async with sandbox_ctx.db.unit_of_work() as session:
        assert list(await session.scalars(select(OutboxNotice.kind))) == ["payment.succeeded"]
