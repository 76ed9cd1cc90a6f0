"""Read-only use cases: the package list and the subscription details."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Action, Actor, allowed
from core.catalog import Package
from core.lifecycle import Note, Status, next_payment_at, notes, status
from core.model import Order, Subscription, SubscriptionState, TrialUse
from core.money import Money
from core.pricing import price_per_account
from core.services.context import Context, authorize, get_workspace, role_of
from core.states import InactiveReason, OrderKind, OrderStatus


@dataclass(frozen=True, slots=True)
class PackageLine:
    package: Package
    accounts: int | None
    status: Status | None

    @property
    def is_current(self) -> bool:
        return self.status in (Status.ACTIVE, Status.TRY)


@dataclass(frozen=True, slots=True)
class RenewalDue:
    """An overdue renewal's order: what to pay, by when (the grace end), and where."""

    reference: str
    amount: Money
    deadline: datetime
    payment_link: str | None
    """None until the provider has given the order its link."""


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    package: Package
    quantity: int
    cycle_months: int
    price_per_account: Money
    total: Money
    status: Status
    notes: tuple[Note, ...]
    next_payment_at: datetime | None
    registered_at: datetime
    period_start: datetime | None
    period_end: datetime | None
    trial_ends_at: datetime | None
    cancel_at_period_end: bool
    has_scheduled_change: bool
    inactive_reason: InactiveReason | None = None
    """Why it is Inactive (None while Active or Try)."""
    renewal_due: RenewalDue | None = None
    """Set in the details of a subscription in grace with its renewal unpaid."""


@dataclass(frozen=True, slots=True)
class Details:
    workspace_id: int
    workspace_name: str
    credit_balance: Money
    subscriptions: tuple[SubscriptionView, ...]


async def list_packages(ctx: Context, actor: Actor, workspace_id: int | None) -> list[PackageLine]:
    """The catalog with this workspace's accounts per package, in one query (none for outsiders)."""
    held: dict[str, Subscription] = {}
    visible = False
    if workspace_id is not None:
        async with ctx.db.read() as session:
            role = await role_of(session, workspace_id, actor)
            visible = allowed(Action.VIEW_DETAILS, actor, role)
            if visible:
                result = await session.scalars(
                    select(Subscription).where(Subscription.workspace_id == workspace_id)
                )
                held = {sub.package: sub for sub in result}
    lines = []
    for package in ctx.catalog.packages:
        sub = held.get(package.code)
        shown = None if sub is None else status(sub)
        accounts = None
        if visible:
            accounts = sub.quantity if sub is not None and shown is not Status.INACTIVE else 0
        lines.append(PackageLine(package, accounts, shown))
    return lines


def view(ctx: Context, sub: Subscription) -> SubscriptionView:
    price = price_per_account(ctx.catalog, sub.package, sub.cycle_months)
    return SubscriptionView(
        id=sub.id,
        package=ctx.catalog.package(sub.package),
        quantity=sub.quantity,
        cycle_months=sub.cycle_months,
        price_per_account=price,
        total=price * sub.quantity,
        status=status(sub),
        notes=tuple(notes(sub)),
        next_payment_at=next_payment_at(sub),
        registered_at=sub.registered_at,
        period_start=sub.period_start,
        period_end=sub.period_end,
        trial_ends_at=sub.trial_ends_at,
        cancel_at_period_end=sub.cancel_at_period_end,
        has_scheduled_change=sub.scheduled_package is not None,
        inactive_reason=sub.inactive_reason if sub.state == SubscriptionState.INACTIVE else None,
    )


# Built once: read on every step of a flow that picks a subscription.
_HELD = select(Subscription).where(
    Subscription.workspace_id == bindparam("workspace_id"),
    Subscription.state != SubscriptionState.INACTIVE,
)


async def held_subscriptions(
    ctx: Context, actor: Actor, workspace_id: int
) -> list[SubscriptionView]:
    """The Active and Try subscriptions, without the workspace's balance (one query fewer)."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        subs = await session.scalars(_HELD, {"workspace_id": workspace_id})
        return _ordered(ctx, subs)


def _ordered(ctx: Context, subs: Iterable[Subscription]) -> list[SubscriptionView]:
    rank = {p.code: p.rank for p in ctx.catalog.packages}
    return sorted(
        (view(ctx, s) for s in subs if s.package in rank), key=lambda v: rank[v.package.code]
    )


async def subscription_details(ctx: Context, actor: Actor, workspace_id: int) -> Details:
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        workspace = await get_workspace(session, workspace_id)
        subs = await session.scalars(
            select(Subscription).where(Subscription.workspace_id == workspace_id)
        )
        views = _ordered(ctx, subs)
        due = await renewals_due(session, workspace_id)
        return Details(
            workspace.id,
            workspace.name,
            Money(workspace.credit_balance, workspace.currency),
            tuple(replace(v, renewal_due=due.get(v.id)) for v in views),
        )


async def renewals_due(session: AsyncSession, workspace_id: int) -> dict[int, RenewalDue]:
    """The unpaid renewal of each of the workspace's subscriptions in grace, by subscription."""
    rows = await session.execute(
        select(Order, Subscription.grace_until)
        .join(Subscription, Subscription.id == Order.subscription_id)
        .where(
            Order.workspace_id == workspace_id,
            Order.kind == OrderKind.RENEWAL,
            Order.status == OrderStatus.PENDING,
            Subscription.state == SubscriptionState.ACTIVE,
            Subscription.grace_until.is_not(None),
        )
        .order_by(Order.id)
    )
    found: dict[int, RenewalDue] = {}
    for order, grace_until in rows.tuples():
        assert order.subscription_id is not None and grace_until is not None
        found[order.subscription_id] = RenewalDue(
            order.reference, Money(order.due_now, order.currency), grace_until, order.payment_link
        )
    return found


async def require_permission(ctx: Context, actor: Actor, workspace_id: int, action: Action) -> None:
    """Refuse early, before a conversation asks questions the actor may not answer."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, action)


async def permitted(
    ctx: Context, actor: Actor, workspace_id: int | None, actions: Iterable[Action]
) -> frozenset[Action]:
    """Which of `actions` the person may take in the workspace: what menus offer them.

    Outside a workspace only the packages can be seen. The role read with the conversation
    serves here, so a menu costs no query of its own."""
    wanted = frozenset(actions)
    if workspace_id is None:
        return wanted & {Action.VIEW_PACKAGES}
    role = None
    if not (actor.is_support or actor.is_automatic):
        async with ctx.db.read() as session:
            role = await role_of(session, workspace_id, actor)
    return frozenset(action for action in wanted if allowed(action, actor, role))


async def trial_candidates(ctx: Context, actor: Actor, workspace_id: int) -> list[Package]:
    """Packages this workspace may still try: never tried and not held."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.START_TRIAL)
        tried = set(
            await session.scalars(
                select(TrialUse.package).where(TrialUse.workspace_id == workspace_id)
            )
        )
        held = set(
            await session.scalars(
                select(Subscription.package).where(
                    Subscription.workspace_id == workspace_id,
                    Subscription.state != SubscriptionState.INACTIVE,
                )
            )
        )
    return [p for p in ctx.catalog.packages if p.code not in tried | held]
