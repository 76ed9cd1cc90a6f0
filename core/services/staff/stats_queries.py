"""The SQL of `/staff stats` (the rules are in `core.services.staff.stats`): MRR priced from
the catalog in CASE expressions, the audit trail's snapshots walked with LAG, and money
summed by month, each a few grouped statements whose answers are a handful of rows."""

from __future__ import annotations

import math
from datetime import datetime
from itertools import pairwise

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

from core.catalog import Catalog
from core.model import AuditEntry, Payment, Refund, Subscription
from core.money import Money, div_round_half_up
from core.mrr import terms_key
from core.pricing import price_per_account
from core.states import SubscriptionState

PAID = (Payment.received_at, Payment.amount, Payment.currency)
REFUNDED = (Refund.at, Refund.amount, Refund.currency)
Held = dict[tuple[SubscriptionState, str], tuple[int, int]]
"""(state, package) → (subscriptions, accounts)."""
Moves = tuple[int, int, int, int]
"""Scaled new, expansion, contraction and churned MRR."""


class Prices:
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


async def holdings(session: AsyncSession, prices: Prices) -> tuple[int, Held]:
    """Scaled MRR now, and subscriptions and accounts by state and package: one grouped query."""
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
    held: Held = {}
    scaled = 0
    for state, package, count, accounts, value in rows:
        held[(SubscriptionState(state), package)] = (int(count), int(accounts))
        if state == SubscriptionState.ACTIVE:
            scaled += int(value)
    return scaled, held


def month_of(
    at: SQLColumnExpression[datetime], starts: list[datetime], low: int = 0, high: int | None = None
) -> ColumnElement[int]:
    """The index of the month (in `starts`, whose last entry ends the window) an instant of
    the window falls in, found by halving: five comparisons for 24 months, not 24."""
    high = len(starts) - 1 if high is None else high
    if high - low == 1:
        return literal(low)
    middle = (low + high) // 2
    return case(
        (at >= starts[middle], month_of(at, starts, middle, high)),
        else_=month_of(at, starts, low, middle),
    )


async def movements(
    session: AsyncSession, prices: Prices, starts: list[datetime]
) -> dict[int, Moves]:
    """Scaled new, expansion, contraction and churned MRR by month, from the audit trail's
    snapshots (`core.services.staff.stats` says what counts as each)."""
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
            month_of(moves.c.at, starts).label("month"),
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


async def money_by_month(
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
