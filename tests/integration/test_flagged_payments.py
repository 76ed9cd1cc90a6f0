"""A payment that cannot be applied reaches support: one staff.flagged notice per staff
chat, stored with the payment (the outbox joins its unit of work), and never twice."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core.access import Actor
from core.model import OutboxNotice, Payment
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import place_order
from core.services.outbox import OutboxNotifier
from core.services.payments import apply_payment
from core.staff import StaffDirectory, parse_staff_chats
from core.staff_notices import FlaggedPayment, FlagReason
from tests.integration.helpers import CHAT, pay

STAFF_CHATS = StaffDirectory(chats=parse_staff_chats("telegram:-100123,slack:T0V:C0STAFF"))


def with_outbox(ctx: Context, staff: StaffDirectory = STAFF_CHATS) -> Context:
    return replace(ctx, notifier=OutboxNotifier(ctx.db, ctx.clock), staff=staff)


async def outbox(ctx: Context, kind: str) -> list[OutboxNotice]:
    async with ctx.db.read() as session:
        stmt = select(OutboxNotice).where(OutboxNotice.kind == kind).order_by(OutboxNotice.id)
        return list(await session.scalars(stmt))


async def short_payment(ctx: Context, reference: str, amount: int, payment_id: str) -> None:
    await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id=payment_id,
        order_reference=reference,
        amount=amount,
        currency="USD",
    )


async def test_a_short_payment_is_posted_to_every_staff_chat_with_its_facts(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    ctx = with_outbox(ctx)
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    await short_payment(ctx, placed.reference, placed.quote.due_now - 1, "short")
    rows = await outbox(ctx, "staff.flagged")
    assert [(r.chat_platform, r.chat_id, r.workspace_id) for r in rows] == [
        ("telegram", "-100123", workspace_id),
        ("slack", "C0STAFF", workspace_id),
    ]
    async with ctx.db.read() as session:
        payment = await session.scalar(select(Payment))
    assert payment is not None
    assert FlaggedPayment.from_data(rows[0].data) == FlaggedPayment(
        workspace_id=workspace_id,
        workspace="Acme Support",
        order=placed.reference,
        payment=payment.id,
        amount=placed.quote.due_now - 1,
        currency="USD",
        outcome=FlagReason.MISMATCH,
        note=payment.note,
    )
    customer = await outbox(ctx, "payment.needs_support")
    assert [(r.chat_platform, r.chat_id) for r in customer] == [("telegram", "chat-1")]


async def test_a_repeated_report_of_a_flagged_payment_posts_nothing_more(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    ctx = with_outbox(ctx)
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    for _ in range(2):
        await short_payment(ctx, placed.reference, 1, "short")
    assert len(await outbox(ctx, "staff.flagged")) == 2


async def test_a_payment_applied_as_quoted_tells_support_nothing(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    ctx = with_outbox(ctx)
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100), chat=CHAT)
    assert (await pay(ctx, placed)).outcome == "applied"
    assert await outbox(ctx, "staff.flagged") == []


async def test_with_no_staff_chat_the_payment_is_still_flagged_for_staff_flagged(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    ctx = with_outbox(ctx, StaffDirectory())
    placed = await place_order(ctx, owner, workspace_id, Terms("cc2", 12, 100))
    await short_payment(ctx, placed.reference, 1, "short")
    assert await outbox(ctx, "staff.flagged") == []
    async with ctx.db.read() as session:
        payment = await session.scalar(select(Payment))
    assert payment is not None and payment.needs_support
