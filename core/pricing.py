"""Pricing rules P1–P7 and P9 as pure functions: a quote is what a change would cost now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.catalog import Catalog, Package
from core.clock import as_utc
from core.errors import InvalidRequest
from core.money import Money, div_round_half_up
from core.periods import add_months, whole_seconds


class PricingError(InvalidRequest):
    """Terms that the catalog does not sell (unknown package or cycle, quantity out of range)."""


class QuoteKind(StrEnum):
    NEW = "new"
    ADD_ACCOUNTS = "add_accounts"
    CHANGE = "change"
    DOWNGRADE = "downgrade"
    NO_CHANGE = "no_change"


@dataclass(frozen=True, slots=True)
class Terms:
    """What a subscription holds or would hold: package, billing cycle and accounts."""

    package: str
    cycle_months: int
    quantity: int


@dataclass(frozen=True, slots=True)
class RunningPeriod:
    """A paid period in progress; its end is `anchor + anchor_months` (P3, no drift)."""

    terms: Terms
    start: datetime
    end: datetime
    anchor: datetime
    anchor_months: int

    @classmethod
    def starting(cls, terms: Terms, start: datetime) -> RunningPeriod:
        start = as_utc(start)
        return cls(terms, start, add_months(start, terms.cycle_months), start, terms.cycle_months)

    def next_end(self, cycle_months: int) -> datetime:
        """End of the period that follows this one on a cycle of `cycle_months`."""
        return add_months(self.anchor, self.anchor_months + cycle_months)


@dataclass(frozen=True, slots=True)
class Quote:
    """An immutable, priced answer; amounts are minor units of `currency` (section 8 fields)."""

    kind: QuoteKind
    currency: str
    terms: Terms
    price_per_account: int
    quantity: int
    total: int
    proration: int
    credit: int
    balance_applied: int
    due_now: int
    balance_after: int
    period_start: datetime
    period_end: datetime
    quoted_at: datetime
    valid_until: datetime

    @property
    def is_order(self) -> bool:
        """Only new purchases, added accounts and changes are paid now through an order."""
        return self.kind in (QuoteKind.NEW, QuoteKind.ADD_ACCOUNTS, QuoteKind.CHANGE)


def price_per_account(catalog: Catalog, package_code: str, cycle_months: int) -> Money:
    """P1: monthly × months × (100 − discount%) / 100, rounded half up once."""
    package = catalog.package(package_code)
    cycle = catalog.cycle(cycle_months)
    exact = package.monthly_price.minor * cycle.months * (100 - cycle.discount_percent)
    return Money(div_round_half_up(exact, 100), catalog.currency)


def check_terms(catalog: Catalog, terms: Terms) -> Package:
    """Refuse terms the catalog does not sell, with a message that says what is allowed."""
    if not catalog.has_package(terms.package):
        known = ", ".join(p.code for p in catalog.packages)
        raise PricingError(
            "unknown package '{package}'; choose one of {known}", package=terms.package, known=known
        )
    if not catalog.has_cycle(terms.cycle_months):
        known = ", ".join(str(c.months) for c in catalog.cycles)
        raise PricingError(
            "unknown cycle {months} months; choose one of {known}",
            months=terms.cycle_months,
            known=known,
        )
    package = catalog.package(terms.package)
    if not package.min_quantity <= terms.quantity <= package.max_quantity:
        raise PricingError(
            "enter a number of accounts from {low} to {high}",
            low=package.min_quantity,
            high=package.max_quantity,
        )
    return package


def classify(catalog: Catalog, current: RunningPeriod | None, requested: Terms) -> QuoteKind:
    """P4–P7: which kind of change `requested` is, given the paid period running (if any)."""
    if current is None:
        return QuoteKind.NEW
    held = current.terms
    if requested.package != held.package:
        higher = catalog.package(requested.package).rank > catalog.package(held.package).rank
        return QuoteKind.CHANGE if higher else QuoteKind.DOWNGRADE
    if requested.cycle_months == held.cycle_months:
        if requested.quantity == held.quantity:
            return QuoteKind.NO_CHANGE
        more = requested.quantity > held.quantity
        return QuoteKind.ADD_ACCOUNTS if more else QuoteKind.DOWNGRADE
    return QuoteKind.CHANGE if requested.quantity >= held.quantity else QuoteKind.DOWNGRADE


def _time_left(current: RunningPeriod, at: datetime) -> tuple[int, int]:
    period_s = whole_seconds(current.start, current.end)
    remaining_s = min(max(whole_seconds(at, current.end), 0), period_s)
    return remaining_s, period_s


def unused_value(catalog: Catalog, current: RunningPeriod, at: datetime) -> int:
    """P5's credit: the full value of the current terms for the time left of the period,
    round(Price × quantity × remaining_s / period_s)."""
    held = current.terms
    held_price = price_per_account(catalog, held.package, held.cycle_months).minor
    remaining_s, period_s = _time_left(current, at)
    return div_round_half_up(held_price * held.quantity * remaining_s, period_s)


def quote(
    catalog: Catalog,
    requested: Terms,
    current: RunningPeriod | None,
    at: datetime,
    balance: int = 0,
) -> Quote:
    """Price `requested` at `at` against the running period and the credit balance (P1–P7, P10)."""
    at = as_utc(at)
    check_terms(catalog, requested)
    if current is not None and not current.start <= at < current.end:
        raise PricingError("the current period is not running at the quote time")
    if balance < 0:
        raise PricingError("the credit balance cannot be negative")
    kind = classify(catalog, current, requested)
    price = price_per_account(catalog, requested.package, requested.cycle_months).minor
    quantity, proration, credit = requested.quantity, 0, 0
    start, end = at, add_months(at, requested.cycle_months)
    if current is not None and kind is QuoteKind.ADD_ACCOUNTS:
        quantity = requested.quantity - current.terms.quantity
        remaining_s, period_s = _time_left(current, at)
        charge = div_round_half_up(price * quantity * remaining_s, period_s)
        proration = price * quantity - charge
        start, end = current.start, current.end
    elif current is not None and kind is QuoteKind.CHANGE:
        credit = unused_value(catalog, current, at)
    elif current is not None and kind is QuoteKind.DOWNGRADE:
        start, end = current.end, current.next_end(requested.cycle_months)
    elif current is not None:
        start, end = current.start, current.end
    total = price * quantity if kind is not QuoteKind.NO_CHANGE else 0
    owed = total - proration - credit
    due_before_balance = max(0, owed) if kind not in _NOT_DUE_NOW else 0
    balance_applied = min(balance, due_before_balance)
    return Quote(
        kind=kind,
        currency=catalog.currency,
        terms=requested,
        price_per_account=price,
        quantity=quantity,
        total=total,
        proration=proration,
        credit=credit,
        balance_applied=balance_applied,
        due_now=due_before_balance - balance_applied,
        balance_after=balance - balance_applied + max(0, -owed),
        period_start=start,
        period_end=end,
        quoted_at=at,
        valid_until=at + timedelta(minutes=catalog.quote_validity_minutes),
    )


_NOT_DUE_NOW = (QuoteKind.DOWNGRADE, QuoteKind.NO_CHANGE)
