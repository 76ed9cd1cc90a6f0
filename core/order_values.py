"""Orders as pure values: renewal pricing (P8), an order's columns from its priced terms, and
what paying it settles; the per-order path and the sweep's batch path run these same rules."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core import order_lifecycle
from core.catalog import Catalog
from core.order_lifecycle import OrderState
from core.periods import add_months
from core.pricing import Terms, price_per_account
from core.states import OrderKind, OrderStatus

APPLIED_TO_ORDER = "applied to order"
CREDIT_BEYOND_TOTAL = "credit beyond the order total"


class Priced(Protocol):
    """The amounts an order is placed on: a reviewed Quote, or a renewal's price."""

    @property
    def currency(self) -> str: ...
    @property
    def terms(self) -> Terms: ...
    @property
    def price_per_account(self) -> int: ...
    @property
    def quantity(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def proration(self) -> int: ...
    @property
    def credit(self) -> int: ...
    @property
    def balance_applied(self) -> int: ...
    @property
    def due_now(self) -> int: ...
    @property
    def balance_after(self) -> int: ...
    @property
    def period_start(self) -> datetime: ...
    @property
    def period_end(self) -> datetime: ...


class BaseSubscription(Protocol):
    """The subscription an order is based on: an ORM row or the sweep's plain row."""

    @property
    def id(self) -> int: ...
    @property
    def terms_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RenewalPrice:
    """P8: the next period of the terms in force, priced, with the credit balance applied."""

    currency: str
    terms: Terms
    price_per_account: int
    quantity: int
    total: int
    balance_applied: int
    due_now: int
    balance_after: int
    period_start: datetime
    period_end: datetime
    proration: int = 0
    credit: int = 0


def renewal_price(
    catalog: Catalog,
    terms: Terms,
    *,
    period_end: datetime,
    anchor_at: datetime,
    anchor_months: int,
    balance: int,
) -> RenewalPrice:
    """P8 and P10: Price × quantity of `terms`, the balance applied first; the next period
    continues from the old end, counted from the original anchor (P3, no drift)."""
    price = price_per_account(catalog, terms.package, terms.cycle_months).minor
    total = price * terms.quantity
    applied = min(balance, total)
    return RenewalPrice(
        currency=catalog.currency,
        terms=terms,
        price_per_account=price,
        quantity=terms.quantity,
        total=total,
        balance_applied=applied,
        due_now=total - applied,
        balance_after=balance - applied,
        period_start=period_end,
        period_end=add_months(anchor_at, anchor_months + terms.cycle_months),
    )


@dataclass(slots=True)
class OrderValues:
    """An order's columns before it has an id: what the ORM adds, or the sweep bulk-inserts."""

    reference: str
    idempotency_key: str
    workspace_id: int
    subscription_id: int | None
    base_version: int | None
    kind: OrderKind
    status: OrderStatus
    package: str
    cycle_months: int
    new_quantity: int
    quantity: int
    currency: str
    price_per_account: int
    total: int
    proration: int
    credit: int
    balance_applied: int
    due_now: int
    balance_after: int
    period_start: datetime
    period_end: datetime
    payment_method: str | None
    chat_platform: str | None
    chat_id: str | None
    placed_by: str
    created_at: datetime
    expires_at: datetime
    provider: str | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None

    def columns(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(OrderValues))


def order_values(
    kind: OrderKind,
    priced: Priced,
    *,
    reference: str,
    idempotency_key: str,
    workspace_id: int,
    base: BaseSubscription | None,
    placed_by: str,
    created_at: datetime,
    expires_at: datetime,
    chat: tuple[str | None, str | None] = (None, None),
    payment_method: str | None = None,
) -> OrderValues:
    """A pending order for `priced` on `base` (None: a package the workspace does not hold)."""
    return OrderValues(
        reference=reference,
        idempotency_key=idempotency_key,
        workspace_id=workspace_id,
        subscription_id=None if base is None else base.id,
        base_version=None if base is None else base.terms_version,
        kind=kind,
        status=order_lifecycle.INITIAL,
        package=priced.terms.package,
        cycle_months=priced.terms.cycle_months,
        new_quantity=priced.terms.quantity,
        quantity=priced.quantity,
        currency=priced.currency,
        price_per_account=priced.price_per_account,
        total=priced.total,
        proration=priced.proration,
        credit=priced.credit,
        balance_applied=priced.balance_applied,
        due_now=priced.due_now,
        balance_after=priced.balance_after,
        period_start=priced.period_start,
        period_end=priced.period_end,
        payment_method=payment_method,
        chat_platform=chat[0],
        chat_id=chat[1],
        placed_by=placed_by,
        created_at=created_at,
        expires_at=expires_at,
    )


class SettledOrder(OrderState, Protocol):
    """What settling reads of an order (and the status it moves)."""

    kind: OrderKind
    package: str
    cycle_months: int
    new_quantity: int
    total: int
    proration: int
    credit: int
    balance_applied: int


class SubscriptionStep(StrEnum):
    """What a paid order does to its subscription."""

    START_PERIOD = "start_period"
    ADD_ACCOUNTS = "add_accounts"
    RENEW = "renew"


_STEPS = {
    OrderKind.NEW: SubscriptionStep.START_PERIOD,
    OrderKind.CHANGE: SubscriptionStep.START_PERIOD,
    OrderKind.ADD_ACCOUNTS: SubscriptionStep.ADD_ACCOUNTS,
    OrderKind.RENEWAL: SubscriptionStep.RENEW,
}


@dataclass(frozen=True, slots=True)
class Movement:
    """One credit-balance ledger movement (minor units; negative spends)."""

    amount: int
    reason: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """What paying an order does beyond its own status: the subscription step and the ledger."""

    step: SubscriptionStep
    terms: Terms
    movements: tuple[Movement, ...]


def settle(order: SettledOrder, at: datetime) -> Settlement:
    """Pay `order` at `at` (the caller decided it is payable; a closed one is refused): it
    becomes paid, the balance it used is spent, credit beyond its total goes to the balance."""
    order_lifecycle.move(order, OrderStatus.PAID, at)
    excess = order.credit - (order.total - order.proration)
    movements = (
        Movement(-order.balance_applied, APPLIED_TO_ORDER),
        Movement(max(0, excess), CREDIT_BEYOND_TOTAL),
    )
    return Settlement(
        _STEPS[order.kind],
        Terms(order.package, order.cycle_months, order.new_quantity),
        tuple(m for m in movements if m.amount != 0),
    )
