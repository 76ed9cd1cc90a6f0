"""Pricing properties (Hypothesis): totals multiply out, credit is bounded, due now is never
negative, money is conserved, rounding happens once, zero-decimal currencies stay whole."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from core.catalog import Catalog, load_catalog, parse_catalog
from core.money import Money, currency_exponent
from core.periods import add_months
from core.pricing import Quote, QuoteKind, RunningPeriod, Terms, quote

CATALOG = load_catalog()
CODES = [p.code for p in CATALOG.packages]
MONTHS = [c.months for c in CATALOG.cycles]
ORDER_KINDS = (QuoteKind.NEW, QuoteKind.ADD_ACCOUNTS, QuoteKind.CHANGE)

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)


def half_up(value: Fraction) -> int:
    """Round a non-negative exact rational half up."""
    assert value >= 0
    return math.floor(value + Fraction(1, 2))


def exact_price(catalog: Catalog, code: str, months: int) -> int:
    """P1 computed exactly with rationals and rounded once."""
    monthly = catalog.package(code).monthly_price.minor
    discount = catalog.cycle(months).discount_percent
    return half_up(Fraction(monthly * months * (100 - discount), 100))


def seconds_between(start: datetime, end: datetime) -> int:
    return (end - start) // timedelta(seconds=1)


@dataclass(frozen=True)
class Scenario:
    catalog: Catalog
    current: RunningPeriod | None
    requested: Terms
    at: datetime
    balance: int

    def priced(self) -> Quote:
        return quote(self.catalog, self.requested, self.current, self.at, self.balance)


times = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31),
    timezones=st.just(UTC),
)
# many periods start on the 29th-31st so that clamped month ends are exercised (P3)
month_ends = st.tuples(times, st.integers(29, 31)).map(lambda p: p[0] + relativedelta(day=p[1]))
starts = st.one_of(times, month_ends)
balances = st.one_of(st.just(0), st.integers(0, 10**6), st.integers(0, 10**10))


def draw_terms(draw: st.DrawFn, catalog: Catalog) -> Terms:
    return Terms(
        draw(st.sampled_from([p.code for p in catalog.packages])),
        draw(st.sampled_from([c.months for c in catalog.cycles])),
        draw(st.integers(1, 1000)),
    )


def draw_running(draw: st.DrawFn, held: Terms) -> tuple[RunningPeriod, datetime]:
    """A paid period for `held` and a quote time spread anywhere inside it."""
    current = RunningPeriod.starting(held, draw(starts))
    # pick a thousandth of the period, then a moment within it
    slice_us = (current.end - current.start) // timedelta(microseconds=1) // 1000
    elapsed_us = draw(st.integers(0, 999)) * slice_us + draw(st.integers(0, slice_us - 1))
    return current, current.start + timedelta(microseconds=elapsed_us)


@st.composite
def scenarios(draw: st.DrawFn, catalog: Catalog = CATALOG) -> Scenario:
    balance = draw(balances)
    if draw(st.integers(0, 3)) == 3:
        return Scenario(catalog, None, draw_terms(draw, catalog), draw(times), balance)
    held = draw_terms(draw, catalog)
    current, at = draw_running(draw, held)
    # bias towards the same package, cycle and quantity so every kind is exercised
    package = draw(st.sampled_from([held.package, *(p.code for p in catalog.packages)]))
    cycle = draw(st.sampled_from([held.cycle_months, *(c.months for c in catalog.cycles)]))
    same = st.just(held.quantity)
    more = st.integers(min(held.quantity + 1, 1000), 1000)
    fewer = st.integers(1, max(held.quantity - 1, 1))
    quantity = draw(draw(st.sampled_from([same, more, fewer, st.integers(1, 1000)])))
    return Scenario(catalog, current, Terms(package, cycle, quantity), at, balance)


@st.composite
def additions(draw: st.DrawFn) -> Scenario:
    """A running period and a request for more accounts of the same package and cycle."""
    held = Terms(
        draw(st.sampled_from(CODES)), draw(st.sampled_from(MONTHS)), draw(st.integers(1, 999))
    )
    current, at = draw_running(draw, held)
    more = Terms(held.package, held.cycle_months, draw(st.integers(held.quantity + 1, 1000)))
    return Scenario(CATALOG, current, more, at, draw(balances))


@PROPERTY
@given(scenarios())
def test_totals_multiply_out(s: Scenario) -> None:
    q = s.priced()
    if q.kind is QuoteKind.NO_CHANGE:
        assert q.total == 0
    else:
        assert q.total == q.price_per_account * q.quantity
    if q.kind is QuoteKind.ADD_ACCOUNTS:
        assert s.current is not None
        assert q.quantity == s.requested.quantity - s.current.terms.quantity > 0
    else:
        assert q.quantity == s.requested.quantity


@PROPERTY
@given(scenarios())
def test_credit_never_exceeds_the_value_of_the_current_terms(s: Scenario) -> None:
    q = s.priced()
    assert q.credit >= 0
    if s.current is None or q.kind is not QuoteKind.CHANGE:
        assert q.credit == 0
        return
    held = s.current.terms
    value = exact_price(s.catalog, held.package, held.cycle_months) * held.quantity
    assert q.credit <= value


@PROPERTY
@given(scenarios())
def test_due_now_is_never_negative(s: Scenario) -> None:
    q = s.priced()
    assert q.due_now >= 0
    assert 0 <= q.balance_applied <= s.balance
    assert q.balance_after >= 0
    assert 0 <= q.proration <= q.total


@PROPERTY
@given(scenarios())
def test_money_is_conserved_between_due_now_credit_and_balance(s: Scenario) -> None:
    q = s.priced()
    owed = q.total - q.proration - q.credit
    assert q.balance_after == s.balance - q.balance_applied + max(0, -owed)
    if q.kind in ORDER_KINDS:
        assert q.due_now + q.balance_applied == max(0, owed)
        # the balance is only left over once the amount due is covered
        assert q.due_now == 0 or q.balance_applied == s.balance
    else:
        assert (q.due_now, q.balance_applied, q.balance_after) == (0, 0, s.balance)


@PROPERTY
@given(scenarios())
def test_rounding_happens_once_on_the_price_per_account(s: Scenario) -> None:
    q = s.priced()
    expected = exact_price(s.catalog, s.requested.package, s.requested.cycle_months)
    assert q.price_per_account == expected


@PROPERTY
@given(scenarios())
def test_rounding_happens_once_on_the_prorated_charge_and_the_credit(s: Scenario) -> None:
    q = s.priced()
    if s.current is None:
        return
    remaining_s = seconds_between(s.at, s.current.end)
    period_s = seconds_between(s.current.start, s.current.end)
    if q.kind is QuoteKind.ADD_ACCOUNTS:
        charge = half_up(Fraction(q.price_per_account * q.quantity * remaining_s, period_s))
        assert q.total - q.proration == charge
    if q.kind is QuoteKind.CHANGE:
        held = s.current.terms
        held_price = exact_price(s.catalog, held.package, held.cycle_months)
        assert q.credit == half_up(Fraction(held_price * held.quantity * remaining_s, period_s))


@PROPERTY
@given(additions())
def test_adding_accounts_charges_the_time_left_rounded_once(s: Scenario) -> None:
    assert s.current is not None
    q = s.priced()
    assert q.kind is QuoteKind.ADD_ACCOUNTS
    added = s.requested.quantity - s.current.terms.quantity
    remaining_s = seconds_between(s.at, s.current.end)
    period_s = seconds_between(s.current.start, s.current.end)
    charge = half_up(Fraction(q.price_per_account * added * remaining_s, period_s))
    assert (q.quantity, q.total) == (added, q.price_per_account * added)
    assert q.proration == q.total - charge
    assert q.due_now + q.balance_applied == charge
    assert (q.period_start, q.period_end) == (s.current.start, s.current.end)


def expected_kind(catalog: Catalog, current: RunningPeriod | None, requested: Terms) -> QuoteKind:
    """P4-P7 read straight from the rules."""
    if current is None:
        return QuoteKind.NEW
    held = current.terms
    held_rank = catalog.package(held.package).rank
    rank = catalog.package(requested.package).rank
    if rank > held_rank:
        return QuoteKind.CHANGE
    if rank < held_rank:
        return QuoteKind.DOWNGRADE
    if requested == held:
        return QuoteKind.NO_CHANGE
    if requested.cycle_months == held.cycle_months and requested.quantity > held.quantity:
        return QuoteKind.ADD_ACCOUNTS
    if requested.cycle_months != held.cycle_months and requested.quantity >= held.quantity:
        return QuoteKind.CHANGE
    return QuoteKind.DOWNGRADE


@PROPERTY
@given(scenarios())
def test_the_kind_follows_rules_p4_to_p7(s: Scenario) -> None:
    assert s.priced().kind is expected_kind(s.catalog, s.current, s.requested)


@PROPERTY
@given(scenarios())
def test_the_period_follows_the_kind(s: Scenario) -> None:
    q = s.priced()
    months = s.requested.cycle_months
    if q.kind in (QuoteKind.NEW, QuoteKind.CHANGE):
        assert (q.period_start, q.period_end) == (s.at, add_months(s.at, months))
        return
    assert s.current is not None
    if q.kind is QuoteKind.DOWNGRADE:
        assert q.period_start == s.current.end
        assert q.period_end == add_months(s.current.start, s.current.terms.cycle_months + months)
    else:
        assert (q.period_start, q.period_end) == (s.current.start, s.current.end)


# --- zero-decimal currencies ----------------------------------------------------------------


@dataclass(frozen=True)
class PricedCatalog:
    catalog: Catalog
    monthly: dict[str, int]
    discounts: dict[int, int]

    def whole_price(self, code: str, months: int) -> int:
        """P1 from the whole-unit figures written in the catalog, rounded once."""
        exact = Fraction(self.monthly[code] * months * (100 - self.discounts[months]), 100)
        return half_up(exact)


@st.composite
def zero_decimal_catalogs(draw: st.DrawFn) -> PricedCatalog:
    currency = draw(st.sampled_from(["VND", "JPY"]))
    months = draw(st.lists(st.sampled_from([1, 3, 6, 12, 24]), min_size=1, unique=True))
    discounts = {m: draw(st.integers(0, 99)) for m in months}
    monthly = {
        code: draw(st.integers(1, 10_000_000))
        for code in draw(
            st.lists(st.sampled_from(["basic", "pro", "max"]), min_size=1, unique=True)
        )
    }
    lines = [f'currency = "{currency}"']
    for m, d in discounts.items():
        lines += ["[[cycles]]", f"months = {m}", f"discount_percent = {d}"]
    for rank, (code, price) in enumerate(monthly.items(), start=1):
        # written as text in whole units, as a catalog author would
        lines += [f"[packages.{code}]", f'name = "{code}"', f"rank = {rank}"]
        lines += [f'monthly_price = "{price}"']
    return PricedCatalog(parse_catalog("\n".join(lines) + "\n", "generated"), monthly, discounts)


@PROPERTY
@given(zero_decimal_catalogs(), st.data())
def test_zero_decimal_currencies_price_in_whole_units(
    p: PricedCatalog, data: st.DataObject
) -> None:
    s = data.draw(scenarios(p.catalog))
    q = s.priced()
    assert q.currency in ("VND", "JPY")
    assert currency_exponent(q.currency) == 0
    assert q.price_per_account == p.whole_price(s.requested.package, s.requested.cycle_months)
    if s.current is not None and q.kind is QuoteKind.CHANGE:
        held = s.current.terms
        value = p.whole_price(held.package, held.cycle_months) * held.quantity
        remaining_s = seconds_between(s.at, s.current.end)
        period_s = seconds_between(s.current.start, s.current.end)
        assert q.credit == half_up(Fraction(value * remaining_s, period_s))
    amounts = (q.price_per_account, q.total, q.proration, q.credit)
    amounts += (q.balance_applied, q.due_now, q.balance_after)
    for amount in amounts:
        assert Money(amount, q.currency).as_decimal() == amount
        assert Money.parse(str(amount), q.currency).minor == amount
