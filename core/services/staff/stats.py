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

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    BigInteger,
    SQLColumnExpression,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.access import Actor, StaffVerb, require_staff
from core.catalog import Catalog
from core.errors import N_, InvalidRequest
from core.model import AuditEntry, Payment, Refund, Subscription
from core.money import Money, div_round_half_up
from core.mrr import terms_key
from core.pricing import price_per_account
from core.services.context import Context
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


class _Prices:
    """The catalog's monthly price per account as SQL: every (package, cycle) scaled by the
    least common multiple of the cycles' months, so each figure stays an exact integer."""

    def __init__(self, catalog: Catalog) -> None:
        self.currency = catalog.currency
        self.scale = math.lcm(*(cycle.months for cycle in catalog.cycles))
        self.by_package = {
            package.code: {
                cycle.months: price_per_account(catalog, package.code, cycle.months).minor
                * (self.scale // cycle.months)
                for cycle in catalog.cycles
            }
            for package in catalog.packages
        }

    def value(
        self,
        package: SQLColumnExpression[str],
        cycle: SQLColumnExpression[int],
        quantity: SQLColumnExpression[int],
    ) -> ColumnElement[int]:
        """Scaled MRR of a package, cycle and quantity; a pair the catalog no longer sells is 0."""
        zero = literal(0, BigInteger)
        per_account = case(
            {
                code: case(
                    {months: literal(weight, BigInteger) for months, weight in cycles.items()},
                    value=cycle,
                    else_=zero,
                )
                for code, cycles in self.by_package.items()
            },
            value=package,
            else_=zero,
        )
        return per_account * quantity

    def terms_value(
        self,
        active_terms: SQLColumnExpression[str | None],
        accounts: SQLColumnExpression[int | None],
    ) -> ColumnElement[int]:
        """Scaled MRR of an audit snapshot's terms (`core.mrr`): 0 unless it was Active."""
        zero = literal(0, BigInteger)
        per_account = case(
            {
                terms_key(code, months): literal(weight, BigInteger)
                for code, cycles in self.by_package.items()
                for months, weight in cycles.items()
            },
            value=active_terms,
            else_=zero,
        )
        return per_account * func.coalesce(accounts, 0)

    def money(self, scaled: int) -> Money:
        return Money(div_round_half_up(scaled, self.scale), self.currency)


async def stats(ctx: Context, staff: Actor, months: int = DEFAULT_MONTHS) -> StaffStats:
    """The figures of `/staff stats [months]`, for any support tier."""
    require_staff(StaffVerb.STATS, staff)
    check_months(months)
    now = ctx.clock.now()
    starts = month_starts(now, months)
    prices = _Prices(ctx.catalog)
    async with ctx.db.read() as session:
        mrr, counts, held = await _holdings(session, prices)
        moves = await _movements(session, prices, starts)
        collected = await _money_by_month(session, _PAID, starts, ctx.catalog.currency)
        refunded = await _money_by_month(session, _REFUNDED, starts, ctx.catalog.currency)
    zero = (0, 0, 0, 0)
    return StaffStats(
        at=now,
        mrr=mrr,
        counts=counts,
        accounts=_accounts(ctx.catalog, held),
        months=tuple(
            _month(prices, start, moves.get(n, zero), collected.get(n, 0), refunded.get(n, 0))
            for n, start in enumerate(starts[:-1])
        ),
    )


def _month(
    prices: _Prices,
    start: datetime,
    moves: tuple[int, int, int, int],
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


_PAID = (Payment.received_at, Payment.amount, Payment.currency)
_REFUNDED = (Refund.at, Refund.amount, Refund.currency)

_Held = dict[tuple[SubscriptionState, str], tuple[int, int]]
"""(state, package) → (subscriptions, accounts)."""


async def _holdings(session: AsyncSession, prices: _Prices) -> tuple[Money, StatusCounts, _Held]:
    """MRR now, and subscriptions and accounts by state and package, in one grouped query."""
    sub = Subscription
    rows = await session.execute(
        select(
            sub.state,
            sub.package,
            func.count(),
            func.coalesce(func.sum(sub.quantity), 0),
            func.coalesce(func.sum(prices.value(sub.package, sub.cycle_months, sub.quantity)), 0),
        ).group_by(sub.state, sub.package)
    )
    held: _Held = {}
    scaled = 0
    for state, package, count, accounts, value in rows:
        held[(SubscriptionState(state), package)] = (int(count), int(accounts))
        if state == SubscriptionState.ACTIVE:
            scaled += int(value)
    by_state = {
        s: sum(n for (state, _), (n, _) in held.items() if state == s) for s in SubscriptionState
    }
    counts = StatusCounts(
        by_state[SubscriptionState.ACTIVE],
        by_state[SubscriptionState.TRIAL],
        by_state[SubscriptionState.INACTIVE],
    )
    return prices.money(scaled), counts, held


def _accounts(catalog: Catalog, held: _Held) -> tuple[PackageAccounts, ...]:
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


def _month_of(
    at: SQLColumnExpression[datetime], starts: list[datetime], low: int = 0, high: int | None = None
) -> ColumnElement[int]:
    """The index of the month (in `starts`, whose last entry ends the window) an instant of
    the window falls in, found by halving: five comparisons for 24 months, not 24."""
    high = len(starts) - 1 if high is None else high
    if high - low == 1:
        return literal(low)
    middle = (low + high) // 2
    return case(
        (at >= starts[middle], _month_of(at, starts, middle, high)),
        else_=_month_of(at, starts, low, middle),
    )


async def _movements(
    session: AsyncSession, prices: _Prices, starts: list[datetime]
) -> dict[int, tuple[int, int, int, int]]:
    """Scaled new, expansion, contraction and churned MRR by month, from the audit trail's
    snapshots (the module's docstring says what counts as each)."""
    audit = AuditEntry
    was = prices.terms_value(audit.active_terms_before, audit.accounts_before)
    now = prices.terms_value(audit.active_terms_after, audit.accounts_after)
    # Entries whose own snapshots have one MRR move nothing: in a consistent trail their
    # before is the previous entry's after, so leaving them out changes no comparison.
    snapshots = (
        select(
            audit.id,
            audit.subscription_id,
            audit.at,
            was.label("was"),
            now.label("after_value"),
        )
        .where(
            audit.accounts_after.is_not(None),
            audit.subscription_id.is_not(None),
            audit.at >= starts[0],
            audit.at < starts[-1],
            was != now,
        )
        .subquery("snapshots")
    )
    previous = func.lag(snapshots.c.after_value).over(
        partition_by=snapshots.c.subscription_id, order_by=snapshots.c.id
    )
    moves = select(
        snapshots.c.at,
        func.coalesce(previous, snapshots.c.was).label("before_value"),
        snapshots.c.after_value,
    ).subquery("moves")
    # Only the entries that moved MRR are sorted into months.
    changes = (
        select(
            _month_of(moves.c.at, starts).label("month"),
            moves.c.before_value,
            moves.c.after_value,
        )
        .where(moves.c.before_value != moves.c.after_value)
        .subquery("changes")
    )
    before, after = changes.c.before_value, changes.c.after_value
    zero = literal(0, BigInteger)
    rows = await session.execute(
        select(
            changes.c.month,
            func.sum(case((before == 0, after), else_=zero)),
            func.sum(case((and_(before > 0, after > before), after - before), else_=zero)),
            func.sum(case((and_(after > 0, after < before), before - after), else_=zero)),
            func.sum(case((and_(before > 0, after == 0), before), else_=zero)),
        ).group_by(changes.c.month)
    )
    return {
        int(month): (int(new), int(expansion), int(contraction), int(churned))
        for month, new, expansion, contraction, churned in rows
    }


async def _money_by_month(
    session: AsyncSession,
    columns: tuple[
        SQLColumnExpression[datetime], SQLColumnExpression[int], SQLColumnExpression[str]
    ],
    starts: list[datetime],
    currency: str,
) -> dict[int, int]:
    """Amounts in `currency` summed by the month of their instant; `columns` are the rows'
    instant, amount and currency (a payment's receipt, a refund's). One range sum per month,
    each read from the index on the instant, in one statement."""
    at, amount, in_currency = columns
    months = [
        select(literal(n).label("month"), func.coalesce(func.sum(amount), 0).label("total")).where(
            at >= start, at < end, in_currency == currency
        )
        for n, (start, end) in enumerate(pairwise(starts))
    ]
    rows = await session.execute(union_all(*months))
    return {int(month): int(total) for month, total in rows}
