"""Support staff's read-only look-ups of a workspace's money trail: its orders, its payments
with their refunds, and its audit log a page at a time (DESIGN section 13)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor, StaffTier, StaffVerb, require_staff
from core.errors import InvalidRequest
from core.model import AuditEntry, Order, Payment, Refund
from core.money import Money
from core.pricing import Terms
from core.services.context import Context, get_workspace
from core.states import OrderKind, OrderStatus, PaymentOutcome

ORDERS_SHOWN = 20
PAYMENTS_SHOWN = 20
AUDIT_PER_PAGE = 10
MAX_PER_PAGE = 50
MAX_PAGE = 10_000
VALUE_CHARS = 120
"""An audit value longer than this is cut (a chat message has room for a page of them)."""


@dataclass(frozen=True, slots=True)
class RefundLine:
    provider_refund_id: str
    amount: Money
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """A payment as a provider reported it, with what has been given back of it."""

    id: int
    order_reference: str | None
    provider: str
    provider_payment_id: str
    amount: Money
    outcome: PaymentOutcome
    needs_support: bool
    note: str | None
    received_at: datetime
    refunded: Money
    refunds: tuple[RefundLine, ...]

    @property
    def refundable(self) -> Money:
        """What a refund may still give back (a mismatched payment is not refunded here)."""
        if self.outcome is PaymentOutcome.MISMATCH:
            return Money.zero(self.amount.currency)
        return self.amount - self.refunded


@dataclass(frozen=True, slots=True)
class OrderLine:
    reference: str
    kind: OrderKind
    status: OrderStatus
    terms: Terms
    total: Money
    due_now: Money
    paid: Money
    refunded: Money
    provider: str | None
    provider_reference: str | None
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    close_reason: str | None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an audit entry that moved: its value before and after (as text)."""

    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class AuditLine:
    id: int
    at: datetime
    actor: str
    tier: StaffTier | None
    action: str
    changes: tuple[FieldChange, ...]
    reason_code: str | None
    reason: str | None
    comment: str | None
    order_id: int | None
    order_reference: str | None
    payment_id: int | None
    refund_id: int | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    workspace_id: int
    page: int
    per_page: int
    entries: tuple[AuditLine, ...]
    has_more: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


async def payment_lines(session: AsyncSession, rows: Sequence[Payment]) -> list[PaymentLine]:
    """Payments with their order's reference and their refunds, in two more queries."""
    ids = [p.id for p in rows]
    refunds: defaultdict[int, list[RefundLine]] = defaultdict(list)
    if ids:
        found = await session.scalars(
            select(Refund).where(Refund.payment_id.in_(ids)).order_by(Refund.at, Refund.id)
        )
        for r in found:
            line = RefundLine(
                r.provider_refund_id, Money(r.amount, r.currency), r.reason, r.actor, r.at
            )
            refunds[r.payment_id].append(line)
    references = await _references(session, {p.order_id for p in rows})
    return [_payment_line(p, references, tuple(refunds[p.id])) for p in rows]


def _payment_line(
    p: Payment, references: dict[int, str], refunds: tuple[RefundLine, ...]
) -> PaymentLine:
    refunded = sum((r.amount.minor for r in refunds), 0)
    return PaymentLine(
        id=p.id,
        order_reference=None if p.order_id is None else references.get(p.order_id),
        provider=p.provider,
        provider_payment_id=p.provider_payment_id,
        amount=Money(p.amount, p.currency),
        outcome=p.outcome,
        needs_support=p.needs_support,
        note=p.note,
        received_at=p.received_at,
        refunded=Money(refunded, p.currency),
        refunds=refunds,
    )


async def _references(session: AsyncSession, order_ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in order_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Order.id, Order.reference).where(Order.id.in_(wanted)))
    return {order_id: reference for order_id, reference in rows}


async def payments(ctx: Context, staff: Actor, workspace_id: int) -> list[PaymentLine]:
    """The workspace's latest payments, newest first, each with its refunds."""
    require_staff(StaffVerb.PAYMENTS, staff)
    async with ctx.db.read() as session:
        await get_workspace(session, workspace_id)
        rows = await session.scalars(
            select(Payment)
            .where(Payment.workspace_id == workspace_id)
            .order_by(Payment.received_at.desc(), Payment.id.desc())
            .limit(PAYMENTS_SHOWN)
        )
        return await payment_lines(session, list(rows))


async def orders(ctx: Context, staff: Actor, workspace_id: int) -> list[OrderLine]:
    """The workspace's latest orders, newest first, with what was paid and refunded on each."""
    require_staff(StaffVerb.ORDERS, staff)
    async with ctx.db.read() as session:
        await get_workspace(session, workspace_id)
        rows = list(
            await session.scalars(
                select(Order)
                .where(Order.workspace_id == workspace_id)
                .order_by(Order.id.desc())
                .limit(ORDERS_SHOWN)
            )
        )
        ids = [o.id for o in rows]
        paid = await _sums(session, select(Payment.order_id, func.sum(Payment.amount)), ids)
        refunded = await _sums(
            session,
            select(Payment.order_id, func.sum(Refund.amount)).join(
                Refund, Refund.payment_id == Payment.id
            ),
            ids,
        )
    return [_order_line(o, paid.get(o.id, 0), refunded.get(o.id, 0)) for o in rows]


async def _sums(session: AsyncSession, stmt: Any, order_ids: list[int]) -> dict[int, int]:
    """Per order, the sum `stmt` selects over the payments applied or credited for it (a
    mismatched one may be in another currency, and is not the order's money)."""
    if not order_ids:
        return {}
    rows = await session.execute(
        stmt.where(
            Payment.order_id.in_(order_ids), Payment.outcome != PaymentOutcome.MISMATCH
        ).group_by(Payment.order_id)
    )
    return {order_id: int(total or 0) for order_id, total in rows}


def _order_line(order: Order, paid: int, refunded: int) -> OrderLine:
    return OrderLine(
        reference=order.reference,
        kind=order.kind,
        status=order.status,
        terms=order.terms,
        total=Money(order.total, order.currency),
        due_now=Money(order.due_now, order.currency),
        paid=Money(paid, order.currency),
        refunded=Money(refunded, order.currency),
        provider=order.provider,
        provider_reference=order.provider_reference,
        created_at=order.created_at,
        expires_at=order.expires_at,
        closed_at=order.closed_at,
        close_reason=order.close_reason,
    )


def _check_page(page: int, per_page: int) -> None:
    if not 1 <= page <= MAX_PAGE:
        raise InvalidRequest("Pages go from 1 to {n}.", n=MAX_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidRequest("A page holds 1 to {n} entries.", n=MAX_PER_PAGE)


async def audit(
    ctx: Context, staff: Actor, workspace_id: int, page: int = 1, per_page: int = AUDIT_PER_PAGE
) -> AuditPage:
    """One page of the workspace's audit log, newest first."""
    require_staff(StaffVerb.AUDIT, staff)
    _check_page(page, per_page)
    async with ctx.db.read() as session:
        await get_workspace(session, workspace_id)
        rows = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.workspace_id == workspace_id)
                .order_by(AuditEntry.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page + 1)
            )
        )
        shown = rows[:per_page]
        references = await _references(session, {e.order_id for e in shown})
    entries = tuple(_audit_line(e, references) for e in shown)
    return AuditPage(workspace_id, page, per_page, entries, has_more=len(rows) > per_page)


def _audit_line(entry: AuditEntry, references: dict[int, str]) -> AuditLine:
    return AuditLine(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        tier=_tier(entry.actor_tier),
        action=entry.action,
        changes=field_changes(entry.before, entry.after),
        reason_code=entry.reason_code,
        reason=entry.reason,
        comment=entry.comment,
        order_id=entry.order_id,
        order_reference=None if entry.order_id is None else references.get(entry.order_id),
        payment_id=entry.payment_id,
        refund_id=entry.refund_id,
    )


def _tier(value: str | None) -> StaffTier | None:
    try:
        return None if value is None else StaffTier(value)
    except ValueError:
        return None


def field_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[FieldChange, ...]:
    """The fields whose value differs between an entry's before and after, in their order."""
    old, new = before or {}, after or {}
    names = [*new, *(k for k in old if k not in new)]
    return tuple(
        FieldChange(name, _text(old.get(name)), _text(new.get(name)))
        for name in names
        if old.get(name) != new.get(name)
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"
