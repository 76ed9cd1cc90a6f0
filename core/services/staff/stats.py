"""`/staff stats`: MRR, subscriptions by status, accounts by package, and per month the MRR
movements and the money collected and refunded (DESIGN section 13), all summed in the
database: no subscription, order or payment row is loaded into Python.

MRR of one subscription: the catalog's price per account for its package and cycle
(`core.pricing.price_per_account`, the cycle discount applied) × its accounts ÷ the cycle's
months, when it is Active (overdue ones in grace included); Try and Inactive count 0. Sums
are kept exact (× the least common multiple of the cycles' months) and rounded half up once
per figure. One currency: the catalog's.

MRR movements come from the audit trail, where every change of a subscription is written
with a before and an after snapshot (`core.lifecycle.snapshot`): by the use cases, by
fulfilment and by the sweep's batch rows alike, all through `audit_values`, which keeps
beside the snapshots what their MRR depends on (`core.mrr`: the package and cycle while
Active, and the accounts). A snapshot's MRR is the rule above applied to those. Within the
months asked for, a subscription's snapshot entries are taken in order (by id, with LAG),
and each moves its MRR from the previous entry's after (the entry's own before for its
first entry in the window) to its own after. Comparing with the previous entry rather than
the entry's own before counts once a change that is written twice (a renewal paid from the
balance in the sweep has the order's entry and the sweep's). Each movement, by the month
(UTC) of its entry, is:

- new: from 0 to more than 0 (bought from nothing, from Try, or again after Inactive);
- expansion: from more than 0 to more (accounts added or granted, a higher package);
- contraction: from more than 0 to less, but not 0 (a downgrade applied at renewal, fewer
  accounts, a cycle with a bigger discount);
- churned: from more than 0 to 0 (cancelled now, ended at period end, grace ran out).

Movements are per subscription: a workspace taking a second package brings new MRR.
Collected: the payments received in the catalog's currency, whatever became of them
(applied, credited, or waiting for support); refunded: the refunds made. Both by month of
receipt and of refund.

Months are calendar months in UTC; the last one is the current month, so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

from core.access import Actor, StaffVerb, require_staff
from core.catalog import Catalog
from core.errors import N_, InvalidRequest
from core.money import Money
from core.services.context import Context
from core.services.staff.stats_queries import (
    PAID,
    REFUNDED,
    Held,
    Moves,
    Prices,
    holdings,
    money_by_month,
    movements,
)
from core.states import SubscriptionState

DEFAULT_MONTHS = 6
MAX_MONTHS = 24
MONTHS_REFUSAL = N_("Stats cover 1 to 24 months: type a whole number such as 6.")


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """Subscriptions by the three statuses the product shows."""

    active: int
    trying: int
    inactive: int


@dataclass(frozen=True, slots=True)
class PackageAccounts:
    """Accounts held of one package: on Active subscriptions, and on Try."""

    code: str
    name: str
    active: int
    trying: int


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One calendar month (UTC): its MRR movements and the money that came in and went back."""

    start: datetime
    """The month's first instant, UTC."""
    new: Money
    expansion: Money
    contraction: Money
    churned: Money
    collected: Money
    refunded: Money

    @property
    def net(self) -> Money:
        """How much MRR moved in the month, all movements together."""
        return self.new + self.expansion - self.contraction - self.churned


@dataclass(frozen=True, slots=True)
class StaffStats:
    at: datetime
    mrr: Money
    counts: StatusCounts
    accounts: tuple[PackageAccounts, ...]
    months: tuple[MonthFigures, ...]
    """Oldest first; the last is the current month so far."""

    @property
    def currency(self) -> str:
        return self.mrr.currency


def check_months(months: int) -> int:
    """Refuse a window other than 1 to 24 whole months."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidRequest(MONTHS_REFUSAL)
    return months


def parse_months(text: str) -> int:
    """The months a person typed after `stats` (nothing: the default), or a refusal."""
    typed = text.strip()
    if not typed:
        return DEFAULT_MONTHS
    if not (typed.isascii() and typed.isdigit() and len(typed) <= 2):
        raise InvalidRequest(MONTHS_REFUSAL)
    return check_months(int(typed))


def month_starts(at: datetime, months: int) -> list[datetime]:
    """The first instants (UTC) of the `months` calendar months ending with `at`'s, and of
    the month after them."""
    at = at.astimezone(UTC)
    current = datetime(at.year, at.month, 1, tzinfo=UTC)
    return [current - relativedelta(months=back) for back in range(months - 1, -2, -1)]


async def stats(ctx: Context, staff: Actor, months: int = DEFAULT_MONTHS) -> StaffStats:
    """The figures of `/staff stats [months]`, for any support tier."""
    require_staff(StaffVerb.STATS, staff)
    check_months(months)
    now = ctx.clock.now()
    starts = month_starts(now, months)
    prices = Prices(ctx.catalog)
    currency = ctx.catalog.currency
    async with ctx.db.read() as session:
        mrr, held = await holdings(session, prices)
        moves = await movements(session, prices, starts)
        collected = await money_by_month(session, PAID, starts, currency)
        refunded = await money_by_month(session, REFUNDED, starts, currency)
    zero = (0, 0, 0, 0)
    return StaffStats(
        at=now,
        mrr=prices.money(mrr),
        counts=_counts(held),
        accounts=_accounts(ctx.catalog, held),
        months=tuple(
            _month(prices, start, moves.get(n, zero), collected.get(n, 0), refunded.get(n, 0))
            for n, start in enumerate(starts[:-1])
        ),
    )


def _counts(held: Held) -> StatusCounts:
    def count(wanted: SubscriptionState) -> int:
        return sum(n for (state, _), (n, _) in held.items() if state == wanted)

    return StatusCounts(
        count(SubscriptionState.ACTIVE),
        count(SubscriptionState.TRIAL),
        count(SubscriptionState.INACTIVE),
    )


def _month(
    prices: Prices,
    start: datetime,
    moves: Moves,
    collected: int,
    refunded: int,
) -> MonthFigures:
    new, expansion, contraction, churned = (prices.money(scaled) for scaled in moves)
    return MonthFigures(
        start=start,
        new=new,
        expansion=expansion,
        contraction=contraction,
        churned=churned,
        collected=Money(collected, prices.currency),
        refunded=Money(refunded, prices.currency),
    )


def _accounts(catalog: Catalog, held: Held) -> tuple[PackageAccounts, ...]:
    """Accounts on Active and on Try per package, in the catalog's order (then any package
    the catalog no longer sells)."""
    names = {package.code: package.name for package in catalog.packages}
    codes = list(names) + sorted({code for _, code in held} - set(names))

    def accounts(state: SubscriptionState, code: str) -> int:
        return held.get((state, code), (0, 0))[1]

    return tuple(
        PackageAccounts(
            code,
            names.get(code, code),
            accounts(SubscriptionState.ACTIVE, code),
            accounts(SubscriptionState.TRIAL, code),
        )
        for code in codes
    )
