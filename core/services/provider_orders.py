"""What a payment provider may read of an order it collects: planbot's own sandbox and the
pages a provider returns to read their orders through here, never from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.model import AuditEntry, Conversation, Order, Payment, Workspace
from core.periods import add_months
from core.services.context import Context
from core.states import OrderKind, OrderStatus

FAILED_ATTEMPT = "payment.failed"
"""The audit action of a payment attempt a provider reported as failed."""


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """The latest payment attempt that failed on an order, as the provider reported it."""

    at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    """One order as its provider sees it, with the workspace it bills and the language of
    the conversation it was placed in."""

    reference: str
    kind: OrderKind
    status: OrderStatus
    package: str
    cycle_months: int
    quantity: int
    new_quantity: int
    currency: str
    price_per_account: int
    total: int
    proration: int
    credit: int
    balance_applied: int
    due_now: int
    period_start: datetime
    period_end: datetime
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    payment_method: str | None
    payment_link: str | None
    workspace_name: str
    workspace_locale: str | None
    workspace_zone: str
    conversation_language: str | None
    """The language chosen in the chat where the order was placed (None: not chosen there)."""
    failed_attempt: FailedAttempt | None = None

    @property
    def language(self) -> str | None:
        """The order's language: its conversation's, else the workspace's (None: neither)."""
        return self.conversation_language or self.workspace_locale

    @property
    def paid_period(self) -> tuple[datetime, datetime] | None:
        """The period a paid order pays for: added accounts and renewals keep the quoted
        one; a new purchase or a change starts at the payment (P3)."""
        if self.status != OrderStatus.PAID or self.closed_at is None:
            return None
        if self.kind in (OrderKind.ADD_ACCOUNTS, OrderKind.RENEWAL):
            return self.period_start, self.period_end
        return self.closed_at, add_months(self.closed_at, self.cycle_months)


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    """A payment the provider already reported for the order."""

    amount: int
    currency: str


async def _conversation_language(session: AsyncSession, order: Order) -> str | None:
    """The language chosen in the conversation that placed the order, if it chose one."""
    platform, _, user = order.placed_by.partition(":")
    if order.chat_platform is None or order.chat_id is None or platform != order.chat_platform:
        return None
    language: str | None = await session.scalar(
        select(Conversation.language).where(
            Conversation.platform == order.chat_platform,
            Conversation.chat_id == order.chat_id,
            Conversation.user_id == user,
        )
    )
    return language


async def _failed_attempt(session: AsyncSession, order: Order) -> FailedAttempt | None:
    """The latest failed attempt, unless the order was paid since."""
    if order.status == OrderStatus.PAID:
        return None
    row = (
        await session.execute(
            select(AuditEntry.at, AuditEntry.reason)
            .where(
                AuditEntry.workspace_id == order.workspace_id,
                AuditEntry.order_id == order.id,
                AuditEntry.action == FAILED_ATTEMPT,
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else FailedAttempt(row.at, row.reason)


async def provider_order(
    ctx: Context, provider: str, reference: str, provider_payment_id: str | None = None
) -> tuple[ProviderOrder, ReceivedPayment | None] | None:
    """The provider's order `reference` and the payment `provider_payment_id` if it came."""
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(Order, Workspace)
                .join(Workspace, Workspace.id == Order.workspace_id)
                .where(Order.reference == reference, Order.provider == provider)
            )
        ).first()
        if row is None:
            return None
        order, workspace = row
        seen = None
        if provider_payment_id is not None:
            seen = await session.scalar(
                select(Payment).where(
                    Payment.provider == provider,
                    Payment.provider_payment_id == provider_payment_id,
                )
            )
        language = await _conversation_language(session, order)
        failed = await _failed_attempt(session, order)
    view = ProviderOrder(
        reference=order.reference,
        kind=OrderKind(order.kind),
        status=OrderStatus(order.status),
        package=order.package,
        cycle_months=order.cycle_months,
        quantity=order.quantity,
        new_quantity=order.new_quantity,
        currency=order.currency,
        price_per_account=order.price_per_account,
        total=order.total,
        proration=order.proration,
        credit=order.credit,
        balance_applied=order.balance_applied,
        due_now=order.due_now,
        period_start=order.period_start,
        period_end=order.period_end,
        created_at=order.created_at,
        expires_at=order.expires_at,
        closed_at=order.closed_at,
        close_reason=order.close_reason,
        payment_method=order.payment_method,
        payment_link=order.payment_link,
        workspace_name=workspace.name,
        workspace_locale=workspace.locale,
        workspace_zone=workspace.timezone or "UTC",
        conversation_language=language,
        failed_attempt=failed,
    )
    return view, None if seen is None else ReceivedPayment(seen.amount, seen.currency)
