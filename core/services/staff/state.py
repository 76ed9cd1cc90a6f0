"""The state a staff change is previewed on, read the same way for the preview and (locked)
for the run, and its key: a short hash of exactly that state."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.clock import format_iso
from core.errors import NotFound
from core.model import (
    BalanceEntry,
    Order,
    OrderStatus,
    Payment,
    PaymentOutcome,
    StaffAction,
    Subscription,
    Workspace,
)
from core.model import Refund as RefundRow
from core.order_lifecycle import payable
from core.services.context import get_workspace
from core.services.staff.requests import (
    SUBSCRIPTION_REQUESTS,
    Cancel,
    CreditPayment,
    Refund,
    Resend,
    StaffRequest,
)


class ActionStatus(StrEnum):
    """Where a staff action is: waiting for a second manager, running (its provider call may
    be retried), done, or closed without effect."""

    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    DONE = "done"
    REJECTED = "rejected"
    LAPSED = "lapsed"


OPEN_ACTIONS = (ActionStatus.AWAITING_APPROVAL, ActionStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class PaymentState:
    """A payment with what was refunded on it and the order it paid."""

    row: Payment
    refunded: int
    order: Order | None
    in_balance: int = 0
    """What of it sits in the credit balance (a payment credited instead of applied)."""

    @property
    def refundable(self) -> int:
        return self.row.amount - self.refunded


@dataclass(frozen=True, slots=True)
class ChangeState:
    """Everything a change reads: the rows it may write, and what else its key covers."""

    now: datetime
    workspace: Workspace
    subscription: Subscription | None
    payment: PaymentState | None
    last_payment: PaymentState | None
    """The subscription's last applied payment (what `cancel` may refund)."""
    open_orders: tuple[Order, ...]
    """The workspace's pending orders, oldest first."""
    open_actions: tuple[tuple[int, str], ...]
    """Other staff actions on the workspace still waiting or running: (id, status)."""

    def key(self, *amounts: int | None) -> str:
        """The state's key, covering also the amounts a preview computed on it."""
        return state_key(self, amounts)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else format_iso(at)


def _subscription_facts(sub: Subscription | None, now: datetime) -> list[Any] | None:
    if sub is None:
        return None
    return [
        lifecycle.running_period(sub, now) is not None,
        sub.id,
        sub.package,
        sub.quantity,
        sub.cycle_months,
        sub.state.value,
        _iso(sub.trial_ends_at),
        _iso(sub.period_end),
        _iso(sub.grace_until),
        sub.cancel_at_period_end,
        sub.terms_version,
        sub.scheduled_package,
        sub.scheduled_quantity,
    ]


def _payment_facts(payment: PaymentState | None) -> list[Any] | None:
    if payment is None:
        return None
    row = payment.row
    return [row.id, row.amount, payment.refunded, row.outcome.value, row.needs_support]


def state_key(state: ChangeState, amounts: tuple[int | None, ...] = ()) -> str:
    """A short hash of the state (and the amounts a preview computed on it): any change to
    what a preview showed changes it."""
    facts = {
        "amounts": list(amounts),
        "balance": state.workspace.credit_balance,
        "subscription": _subscription_facts(state.subscription, state.now),
        "payment": _payment_facts(state.payment),
        "last_payment": _payment_facts(state.last_payment),
        "orders": [[o.reference, o.status.value, o.provider_reference] for o in state.open_orders],
        "actions": [list(a) for a in state.open_actions],
    }
    encoded = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Locked:
    """A workspace locked for a run, with its staff actions that matter: the one a confirm
    token names (if it was used) and the ones still waiting or running."""

    workspace: Workspace
    actions: tuple[StaffAction, ...]

    def named(
        self, *, token: str | None = None, action_id: int | None = None
    ) -> StaffAction | None:
        for action in self.actions:
            if (token is not None and action.token == token) or action.id == action_id:
                return action
        return None

    def open_actions(self, excluding: StaffAction | None) -> tuple[tuple[int, str], ...]:
        return tuple(
            (a.id, a.status) for a in self.actions if a.status in OPEN_VALUES and a is not excluding
        )


OPEN_VALUES = frozenset(status.value for status in OPEN_ACTIONS)


async def lock_workspace(
    session: AsyncSession, workspace_id: int, token: str | None = None
) -> Locked:
    """Lock the workspace (first, as everywhere), then read in one go its open staff actions
    and the one `token` names."""
    workspace = await get_workspace(session, workspace_id, lock=True)
    wanted = and_(StaffAction.workspace_id == workspace_id, StaffAction.status.in_(OPEN_VALUES))
    if token is not None:
        wanted = or_(StaffAction.token == token, wanted)
    rows = await session.scalars(select(StaffAction).where(wanted).order_by(StaffAction.id))
    return Locked(workspace, tuple(rows))


async def load_state(
    session: AsyncSession,
    request: StaffRequest,
    now: datetime,
    *,
    locked: Locked | None = None,
    excluding: StaffAction | None = None,
) -> ChangeState:
    """Read what `request` stands on. For a run, `locked` is the workspace already locked and
    the subscription is locked too; `excluding` leaves out the action being run."""
    lock = locked is not None
    if locked is None:
        workspace = await get_workspace(session, request.workspace_id)
        open_actions = await _open_actions(session, request.workspace_id)
    else:
        workspace, open_actions = locked.workspace, locked.open_actions(excluding)
    payment = None
    subscription_id: int | None = None
    if isinstance(request, SUBSCRIPTION_REQUESTS):
        subscription_id = request.subscription_id
    elif isinstance(request, Resend):
        subscription_id = await _order_subscription(session, request)
    elif isinstance(request, Refund | CreditPayment):
        payment = await payment_state(session, request.workspace_id, request.payment_id)
    sub = None
    if subscription_id is not None:
        sub = await _subscription(session, request.workspace_id, subscription_id, lock)
    last = (
        await last_payment(session, sub.id)
        if sub is not None and isinstance(request, Cancel)
        else None
    )
    return ChangeState(
        now=now,
        workspace=workspace,
        subscription=sub,
        payment=payment,
        last_payment=last,
        open_orders=await _open_orders(session, request.workspace_id),
        open_actions=open_actions,
    )


async def _subscription(
    session: AsyncSession, workspace_id: int, subscription_id: int, lock: bool
) -> Subscription:
    stmt = select(Subscription).where(
        Subscription.id == subscription_id, Subscription.workspace_id == workspace_id
    )
    sub = await session.scalar(stmt.with_for_update() if lock else stmt)
    if sub is None:
        raise NotFound("That subscription does not exist in this workspace.")
    return sub


async def _order_subscription(session: AsyncSession, request: Resend) -> int | None:
    found = await session.execute(
        select(Order.id, Order.subscription_id).where(
            Order.reference == request.order_reference,
            Order.workspace_id == request.workspace_id,
        )
    )
    row = found.first()
    if row is None:
        raise NotFound("There is no order '{reference}'.", reference=request.order_reference[:60])
    subscription_id: int | None = row.subscription_id
    return subscription_id


async def _refunded(session: AsyncSession, payment_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(RefundRow.amount), 0)).where(
            RefundRow.payment_id == payment_id
        )
    )
    return int(total or 0)


async def payment_state(session: AsyncSession, workspace_id: int, payment_id: int) -> PaymentState:
    row = await session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFound("There is no payment #{id} in this workspace.", id=payment_id)
    order = None if row.order_id is None else await session.get(Order, row.order_id)
    in_balance = 0
    if row.outcome is not PaymentOutcome.APPLIED:
        total = await session.scalar(
            select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                BalanceEntry.payment_id == row.id
            )
        )
        in_balance = max(0, int(total or 0))
    return PaymentState(row, await _refunded(session, row.id), order, in_balance)


async def last_payment(session: AsyncSession, subscription_id: int) -> PaymentState | None:
    found = await session.execute(
        select(Payment, Order)
        .join(Order, Payment.order_id == Order.id)
        .where(Order.subscription_id == subscription_id, Payment.outcome == PaymentOutcome.APPLIED)
        .order_by(Payment.received_at.desc(), Payment.id.desc())
        .limit(1)
    )
    row = found.first()
    if row is None:
        return None
    payment, order = row
    return PaymentState(payment, await _refunded(session, payment.id), order)


async def _open_orders(session: AsyncSession, workspace_id: int) -> tuple[Order, ...]:
    rows = await session.scalars(
        select(Order)
        .where(Order.workspace_id == workspace_id, Order.status == OrderStatus.PENDING)
        .order_by(Order.id)
    )
    return tuple(rows)


async def _open_actions(session: AsyncSession, workspace_id: int) -> tuple[tuple[int, str], ...]:
    rows = await session.execute(
        select(StaffAction.id, StaffAction.status)
        .where(StaffAction.workspace_id == workspace_id, StaffAction.status.in_(OPEN_VALUES))
        .order_by(StaffAction.id)
    )
    return tuple((int(i), str(s)) for i, s in rows)


def is_payable(order: Order, now: datetime) -> bool:
    return payable(order, now) is None
