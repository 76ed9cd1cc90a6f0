"""A customer workspace with something of everything support looks at: members, a trial, a
paid subscription, an open order with a mismatched payment, a refund, a staff audit entry and
notices; made through the use cases where they exist, at the clock's time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from core.access import Actor, StaffTier
from core.model import OutboxNotice, Payment, Refund
from core.pricing import Terms
from core.services.context import Context, audit
from core.services.orders import Chat, PlacedOrder, place_order
from core.services.payments import apply_payment
from core.services.subscriptions import start_trial
from core.services.workspaces import add_member, create_workspace
from core.states import NoticeState, Role

OWNER = Actor("telegram", "1001")
ADMIN = Actor("telegram", "1002")
MEMBER = Actor("telegram", "1003")
GROUP_CHAT = Chat("telegram", "-100555")
SUPPORT = Actor("console", "sam", tier=StaffTier.MANAGER)
REFUNDED = 1000
"""Minor units given back on the first payment."""
MISPAID = 100
"""Minor units paid on the open order instead of what it asks."""


@dataclass(frozen=True, slots=True)
class Seeded:
    workspace_id: int
    paid: PlacedOrder
    pending: PlacedOrder
    refund_id: int
    notice_ids: tuple[int, int]
    """The notice taken for delivery, then the one still waiting."""

    @property
    def first_payment(self) -> str:
        """The provider's id of the payment of `paid` (`pay_short_<id>` paid `pending`)."""
        return f"pay_first_{self.workspace_id}"

    @property
    def refund(self) -> str:
        return f"re_{self.workspace_id}"


async def seed_customer(
    ctx: Context, name: str = "Acme Support", *, timezone: str = "Asia/Ho_Chi_Minh"
) -> Seeded:
    workspace_id = await create_workspace(ctx, OWNER, name, timezone=timezone)
    await add_member(ctx, OWNER, workspace_id, ADMIN, Role.ADMIN)
    await add_member(ctx, OWNER, workspace_id, MEMBER, Role.MEMBER)
    await start_trial(ctx, OWNER, workspace_id, "cc2")
    paid = await place_order(ctx, OWNER, workspace_id, Terms("cc1", 12, 5), chat=GROUP_CHAT)
    await _pay(ctx, paid, f"pay_first_{workspace_id}", paid.quote.due_now)
    pending = await place_order(ctx, OWNER, workspace_id, Terms("cc1", 12, 8), chat=GROUP_CHAT)
    await _pay(ctx, pending, f"pay_short_{workspace_id}", MISPAID)
    refund_id = await _refund(ctx, workspace_id, paid.reference)
    notice_ids = await _notices(ctx, workspace_id)
    return Seeded(workspace_id, paid, pending, refund_id, notice_ids)


async def _pay(ctx: Context, placed: PlacedOrder, payment_id: str, amount: int) -> None:
    await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id=payment_id,
        order_reference=placed.reference,
        amount=amount,
        currency=placed.quote.currency,
    )


async def _refund(ctx: Context, workspace_id: int, reference: str) -> int:
    """A refund as support's refund leaves it: the row, and its audit entry with the tier."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.provider_payment_id == f"pay_first_{workspace_id}")
        )
        assert payment is not None
        refund = Refund(
            payment_id=payment.id,
            workspace_id=workspace_id,
            provider="fake",
            provider_refund_id=f"re_{workspace_id}",
            amount=REFUNDED,
            currency=payment.currency,
            reason="goodwill",
            actor=SUPPORT.label,
            at=now,
        )
        session.add(refund)
        await session.flush()
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            actor=SUPPORT,
            action="support.refund",
            before={"refundable": payment.amount},
            after={"refundable": payment.amount - REFUNDED, "refund": f"re_{workspace_id}"},
            order_id=payment.order_id,
            payment_id=payment.id,
            reason="goodwill",
            reason_code="courtesy",
            comment="late delivery",
            refund_id=refund.id,
        )
        return refund.id


async def _notices(ctx: Context, workspace_id: int) -> tuple[int, int]:
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        sent = OutboxNotice(
            kind="payment.succeeded",
            workspace_id=workspace_id,
            chat_platform=GROUP_CHAT.platform,
            chat_id=GROUP_CHAT.chat_id,
            data={},
            created_at=now,
            delivered_at=now + timedelta(seconds=5),
            subject="order:seeded",
            due_at=now,
            send_after=now,
            state=NoticeState.SENT,
        )
        waiting = OutboxNotice(
            kind="trial.reminder",
            workspace_id=workspace_id,
            chat_platform="telegram",
            chat_id=OWNER.user_id,
            data={},
            created_at=now,
            subject="subscription:seeded",
            due_at=now,
            send_after=now,
            state=NoticeState.PENDING,
        )
        session.add_all([sent, waiting])
        await session.flush()
        return sent.id, waiting.id
