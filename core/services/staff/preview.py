"""What a staff change will do, exactly, before it is confirmed: the customer-visible picture
before and after, the money it moves, what becomes of open orders and their links."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from core import lifecycle
from core.lifecycle import Status, SubscriptionFields, SubscriptionRow
from core.model import Order, OrderKind, Subscription, Workspace
from core.money import Money, currency_exponent
from core.ports import CheckoutRequest, RefundRequest
from core.services.staff.requests import MONEY_REQUESTS, StaffRequest
from core.services.staff.state import ChangeState, PaymentState


@dataclass(frozen=True, slots=True)
class Place:
    """The customer workspace a change is about, with the zone its dates are shown in."""

    id: int
    name: str
    timezone: str
    locale: str | None
    currency: str


@dataclass(frozen=True, slots=True)
class Picture:
    """What the customer sees of a subscription and the workspace's money (the notice's
    before and after)."""

    status: Status | None
    accounts: int | None
    trial_end: datetime | None
    period_end: datetime | None
    ends_at_period_end: bool
    balance: Money
    refunded: Money
    """Refunded so far on the payment the change is about (zero if none)."""


class Fate(StrEnum):
    """What a change does to an open order."""

    KEPT = "kept"
    CANCELLED = "cancelled"
    NEW_LINK = "new_link"


@dataclass(frozen=True, slots=True)
class OrderFate:
    reference: str
    package: str
    due: Money
    fate: Fate
    renewal: bool


@dataclass(frozen=True, slots=True)
class Preview:
    """A change as it would run on the state `state_key` names; amounts are exact."""

    request: StaffRequest
    workspace: Place
    package: str | None
    before: Picture
    after: Picture
    refund: Money | None
    """Given back through the payment provider."""
    credit: Money | None
    """Added to the credit balance."""
    balance_taken: Money | None
    """Taken back out of the balance (a refunded payment that had been credited)."""
    refundable: Money | None
    """What may still be refunded on the payment concerned."""
    renewal_price: Money | None
    """What the next renewal (or purchase) will cost after a grant."""
    order_reference: str | None
    orders: tuple[OrderFate, ...]
    needs_approval: bool
    reminders_move: bool
    clears_flag: bool
    state_key: str


@dataclass(frozen=True, slots=True)
class RefundJob:
    """A refund to ask of the provider once the action is recorded as running."""

    payment_id: int
    refund: RefundRequest


@dataclass(frozen=True, slots=True)
class LinkJob:
    """A fresh payment link to ask of the provider, and the link it replaces."""

    order_reference: str
    checkout: CheckoutRequest
    replaced: str | None


Job = RefundJob | LinkJob


def place(workspace: Workspace) -> Place:
    return Place(
        workspace.id, workspace.name, workspace.timezone, workspace.locale, workspace.currency
    )


def money(state: ChangeState, minor: int) -> Money:
    return Money(minor, state.workspace.currency)


def plain(sub: Subscription) -> SubscriptionRow:
    """A detached copy: a preview steps it with the same rules the run applies to the row."""
    return SubscriptionRow(**{f.name: getattr(sub, f.name) for f in fields(SubscriptionRow)})


def picture(
    state: ChangeState,
    sub: SubscriptionFields | None = None,
    payment: PaymentState | None = None,
) -> Picture:
    """The picture of `sub` (default: the state's) with the workspace's balance."""
    sub = sub if sub is not None else state.subscription
    refunded = money(state, 0 if payment is None else payment.refunded)
    balance = money(state, state.workspace.credit_balance)
    if sub is None:
        return Picture(None, None, None, None, False, balance, refunded)
    status = lifecycle.status(sub)
    paid = status is Status.ACTIVE
    return Picture(
        status=status,
        accounts=sub.quantity,
        trial_end=sub.trial_ends_at if status is Status.TRY else None,
        period_end=sub.period_end if paid else None,
        ends_at_period_end=paid and sub.cancel_at_period_end,
        balance=balance,
        refunded=refunded,
    )


def fates(
    state: ChangeState, changed: set[str], fate: Fate, *, subscription_only: bool = True
) -> tuple[OrderFate, ...]:
    """The open orders a change concerns (the subscription's, or all the workspace's), with
    `fate` for those named in `changed` and KEPT for the others."""
    sub_id = None if state.subscription is None else state.subscription.id
    return tuple(
        OrderFate(
            order.reference,
            order.package,
            money(state, order.due_now),
            fate if order.reference in changed else Fate.KEPT,
            order.kind is OrderKind.RENEWAL,
        )
        for order in state.open_orders
        if not subscription_only or order.subscription_id == sub_id
    )


def orders_of(state: ChangeState, *, renewals: bool = True) -> list[Order]:
    """The subscription's open orders (with or without its renewal)."""
    sub = state.subscription
    if sub is None:
        return []
    return [
        o
        for o in state.open_orders
        if o.subscription_id == sub.id and (renewals or o.kind is not OrderKind.RENEWAL)
    ]


def over_threshold(amount: Money | None, approval_over: Decimal) -> bool:
    """Whether `amount` is above the approval threshold (major units), compared in minor."""
    if amount is None:
        return False
    return Decimal(amount.minor) > approval_over.scaleb(currency_exponent(amount.currency))


def needs_approval(request: StaffRequest, moved: Money | None, approval_over: Decimal) -> bool:
    """A refund or credit above the threshold, on its own or with a cancel, waits for a
    second manager."""
    return isinstance(request, MONEY_REQUESTS) and over_threshold(moved, approval_over)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a verb adds to its preview; what it leaves out is empty."""

    refund: Money | None = None
    credit: Money | None = None
    balance_taken: Money | None = None
    refundable: Money | None = None
    renewal_price: Money | None = None
    order_reference: str | None = None
    orders: tuple[OrderFate, ...] = ()
    reminders_move: bool = False
    clears_flag: bool = False
    package: str | None = None
    """Default: the package of the subscription concerned."""


def _amounts(facts: Facts) -> tuple[Money | None, ...]:
    return (facts.refund, facts.credit, facts.balance_taken, facts.renewal_price)


def _minor(amount: Money | None) -> int | None:
    return None if amount is None else amount.minor


def compose(
    approval_over: Decimal,
    state: ChangeState,
    request: StaffRequest,
    before: Picture,
    after: Picture,
    facts: Facts = Facts(),
) -> Preview:
    """A preview of `request` on `state`; a refund or credit above the threshold needs a
    second manager."""
    sub = state.subscription
    package = facts.package or (None if sub is None else sub.package)
    return Preview(
        request=request,
        workspace=place(state.workspace),
        package=package,
        before=before,
        after=after,
        refund=facts.refund,
        credit=facts.credit,
        balance_taken=facts.balance_taken,
        refundable=facts.refundable,
        renewal_price=facts.renewal_price,
        order_reference=facts.order_reference,
        orders=facts.orders,
        needs_approval=needs_approval(request, facts.refund or facts.credit, approval_over),
        reminders_move=facts.reminders_move,
        clears_flag=facts.clears_flag,
        state_key=state.key(*(_minor(m) for m in _amounts(facts))),
    )
