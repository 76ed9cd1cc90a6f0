"""Support staff's read-only look-ups (DESIGN section 13): a workspace's card, the payments
that need support, and a workspace's notices with their delivery state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor, StaffVerb, require_staff
from core.catalog import Catalog
from core.lifecycle import Note, Status, notes, status
from core.model import Member, Order, OutboxNotice, Payment, Subscription, Workspace
from core.money import Money
from core.order_lifecycle import payable
from core.pricing import Terms
from core.services.context import Context, get_workspace
from core.services.staff.lookup_history import PaymentLine, payment_lines
from core.states import NoticeState, OrderKind, OrderStatus, Role, SubscriptionState

LAST_PAYMENTS = 5
OPEN_ORDERS_SHOWN = 5
FLAGS_SHOWN = 5
MEMBERS_SHOWN = 10
FLAGGED_SHOWN = 30
NOTICES_SHOWN = 30


@dataclass(frozen=True, slots=True)
class Holding:
    """What a workspace holds of one package, in a line."""

    package: str
    quantity: int
    status: Status


@dataclass(frozen=True, slots=True)
class SubscriptionLine:
    id: int
    package: str
    quantity: int
    cycle_months: int
    status: Status
    period_end: datetime | None
    trial_ends_at: datetime | None
    scheduled: Terms | None
    """A downgrade waiting for the renewal (it applies at `period_end`)."""
    cancel_at_period_end: bool
    grace_until: datetime | None
    notes: tuple[Note, ...]


@dataclass(frozen=True, slots=True)
class OpenOrder:
    reference: str
    kind: OrderKind
    terms: Terms
    due_now: Money
    link: str | None
    expires_at: datetime
    link_valid: bool
    """A payment through the link would still be applied (the order is payable now)."""


@dataclass(frozen=True, slots=True)
class MemberLine:
    platform: str
    user_id: str
    role: Role
    display_name: str | None


@dataclass(frozen=True, slots=True)
class WorkspaceCard:
    id: int
    name: str
    platform: str | None
    """Where it lives: its platform, or for one made in a chat, its owner's."""
    external_id: str | None
    timezone: str
    locale: str | None
    credit_balance: Money
    subscriptions: tuple[SubscriptionLine, ...]
    open_orders: tuple[OpenOrder, ...]
    payments: tuple[PaymentLine, ...]
    """The last few, newest first."""
    flags: tuple[PaymentLine, ...]
    """Payments that need support, oldest first."""
    members: tuple[MemberLine, ...]
    members_total: int

    @property
    def refundable_orders(self) -> tuple[str, ...]:
        """The orders among the last payments that still have money to give back."""
        found = (
            p.order_reference
            for p in self.payments
            if p.order_reference is not None and p.refundable.minor > 0
        )
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class FlaggedPayment:
    workspace_id: int
    workspace_name: str
    payment: PaymentLine


@dataclass(frozen=True, slots=True)
class NoticeLine:
    id: int
    kind: str
    chat_platform: str | None
    chat_id: str | None
    state: NoticeState
    created_at: datetime
    delivered_at: datetime | None


def ranked(catalog: Catalog, subs: Iterable[Subscription]) -> list[Subscription]:
    """Subscriptions in the catalog's order; a package it no longer sells comes last."""
    rank = {p.code: p.rank for p in catalog.packages}
    return sorted(subs, key=lambda s: (rank.get(s.package, len(rank) + 1), s.id))


def holding(sub: Subscription) -> Holding:
    return Holding(sub.package, sub.quantity, status(sub))


async def show(ctx: Context, staff: Actor, workspace_id: int) -> WorkspaceCard:
    """Everything support looks at first about one workspace, in one read."""
    require_staff(StaffVerb.SHOW, staff)
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        workspace = await get_workspace(session, workspace_id)
        subs = await session.scalars(
            select(Subscription).where(Subscription.workspace_id == workspace_id)
        )
        open_orders = await session.scalars(
            select(Order)
            .where(Order.workspace_id == workspace_id, Order.status == OrderStatus.PENDING)
            .order_by(Order.id.desc())
            .limit(OPEN_ORDERS_SHOWN)
        )
        orders = [_open_order(o, now) for o in open_orders]
        recent, flags = await _card_payments(session, workspace_id)
        members, total = await _members(session, workspace_id)
        return WorkspaceCard(
            id=workspace.id,
            name=workspace.name,
            platform=workspace.platform or _owners_platform(members),
            external_id=workspace.external_id,
            timezone=workspace.timezone,
            locale=workspace.locale,
            credit_balance=Money(workspace.credit_balance, workspace.currency),
            subscriptions=tuple(_subscription_line(s) for s in ranked(ctx.catalog, subs)),
            open_orders=tuple(orders),
            payments=recent,
            flags=flags,
            members=members,
            members_total=total,
        )


def _owners_platform(members: tuple[MemberLine, ...]) -> str | None:
    """Owners come first among the members shown."""
    return members[0].platform if members and members[0].role is Role.OWNER else None


def _subscription_line(sub: Subscription) -> SubscriptionLine:
    return SubscriptionLine(
        id=sub.id,
        package=sub.package,
        quantity=sub.quantity,
        cycle_months=sub.cycle_months,
        status=status(sub),
        period_end=sub.period_end,
        trial_ends_at=sub.trial_ends_at if sub.state == SubscriptionState.TRIAL else None,
        scheduled=sub.scheduled_terms,
        cancel_at_period_end=sub.cancel_at_period_end,
        grace_until=sub.grace_until,
        notes=tuple(notes(sub)),
    )


def _open_order(order: Order, now: datetime) -> OpenOrder:
    return OpenOrder(
        reference=order.reference,
        kind=order.kind,
        terms=order.terms,
        due_now=Money(order.due_now, order.currency),
        link=order.payment_link,
        expires_at=order.expires_at,
        link_valid=order.payment_link is not None and payable(order, now) is None,
    )


async def _card_payments(
    session: AsyncSession, workspace_id: int
) -> tuple[tuple[PaymentLine, ...], tuple[PaymentLine, ...]]:
    """The last payments (newest first) and the flagged ones (oldest first)."""
    recent = list(
        await session.scalars(
            select(Payment)
            .where(Payment.workspace_id == workspace_id)
            .order_by(Payment.received_at.desc(), Payment.id.desc())
            .limit(LAST_PAYMENTS)
        )
    )
    flagged = list(
        await session.scalars(
            select(Payment)
            .where(Payment.workspace_id == workspace_id, Payment.needs_support.is_(True))
            .order_by(Payment.received_at, Payment.id)
            .limit(FLAGS_SHOWN)
        )
    )
    lines = {line.id: line for line in await payment_lines(session, [*recent, *flagged])}
    return tuple(lines[p.id] for p in recent), tuple(lines[p.id] for p in flagged)


async def _members(session: AsyncSession, workspace_id: int) -> tuple[tuple[MemberLine, ...], int]:
    """The first members (owners and admins before members) and how many there are."""
    first = case((Member.role == Role.OWNER, 0), (Member.role == Role.ADMIN, 1), else_=2)
    members = await session.scalars(
        select(Member)
        .where(Member.workspace_id == workspace_id)
        .order_by(first, Member.id)
        .limit(MEMBERS_SHOWN)
    )
    total = await session.scalar(
        select(func.count()).select_from(Member).where(Member.workspace_id == workspace_id)
    )
    lines = tuple(MemberLine(m.platform, m.user_id, m.role, m.display_name) for m in members)
    return lines, int(total or 0)


async def flagged(ctx: Context, staff: Actor) -> list[FlaggedPayment]:
    """Payments that need support (a mismatch, or credited since their base had moved or the
    order had expired), oldest first."""
    require_staff(StaffVerb.FLAGGED, staff)
    async with ctx.db.read() as session:
        rows = list(
            await session.scalars(
                select(Payment)
                .where(Payment.needs_support.is_(True))
                .order_by(Payment.received_at, Payment.id)
                .limit(FLAGGED_SHOWN)
            )
        )
        lines = await payment_lines(session, rows)
        ids = {p.workspace_id for p in rows}
        named = await session.execute(
            select(Workspace.id, Workspace.name).where(Workspace.id.in_(ids))
        )
        names = {workspace_id: name for workspace_id, name in named}
    return [
        FlaggedPayment(p.workspace_id, names.get(p.workspace_id, ""), line)
        for p, line in zip(rows, lines, strict=True)
    ]


def notice_state(row: OutboxNotice) -> NoticeState:
    """Where the notice's delivery stands: pending, sending (leased), or how it was settled;
    its delivered_at is when it was sent or settled otherwise."""
    return row.state


async def notices(ctx: Context, staff: Actor, workspace_id: int) -> list[NoticeLine]:
    """The workspace's latest notices, newest first, each with its delivery state."""
    require_staff(StaffVerb.NOTICES, staff)
    async with ctx.db.read() as session:
        await get_workspace(session, workspace_id)
        rows = await session.scalars(
            select(OutboxNotice)
            .where(OutboxNotice.workspace_id == workspace_id)
            .order_by(OutboxNotice.id.desc())
            .limit(NOTICES_SHOWN)
        )
        return [
            NoticeLine(
                r.id,
                r.kind,
                r.chat_platform,
                r.chat_id,
                notice_state(r),
                r.created_at,
                r.delivered_at,
            )
            for r in rows
        ]
