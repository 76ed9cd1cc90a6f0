"""Pricing rules P1-P7 and P10 through core.pricing.quote: worked examples, kinds, credit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.catalog import Catalog, builtin_catalog_path, load_catalog, parse_catalog
from core.errors import InvalidRequest
from core.money import Money
from core.periods import add_months, whole_seconds
from core.pricing import (
    PricingError,
    QuoteKind,
    RunningPeriod,
    Terms,
    check_terms,
    classify,
    price_per_account,
    quote,
)
from tests.conftest import at

PAID = at("2026-01-15T10:00:00Z")
MID_YEAR = at("2026-07-15T10:00:00Z")


@pytest.fixture
def vnd_catalog() -> Catalog:
    return load_catalog(builtin_catalog_path("vnd.toml"))


@pytest.fixture
def cc2_year() -> RunningPeriod:
    """Worked example 1 once paid: cc2, 12 months, 100 accounts from 2026-01-15T10:00Z."""
    return RunningPeriod.starting(Terms("cc2", 12, 100), PAID)


# --- worked examples ------------------------------------------------------------------------


def test_example_1_new_purchase_prices_cc2_for_a_year(catalog: Catalog) -> None:
    q = quote(catalog, Terms("cc2", 12, 100), None, PAID)
    assert q.kind is QuoteKind.NEW
    assert q.currency == "USD"
    assert (q.price_per_account, q.quantity, q.total) == (25_500, 100, 2_550_000)
    assert (q.proration, q.credit, q.balance_applied) == (0, 0, 0)
    assert (q.due_now, q.balance_after) == (2_550_000, 0)
    assert (q.period_start, q.period_end) == (PAID, at("2027-01-15T10:00:00Z"))
    assert q.is_order


def test_example_2_adding_accounts_charges_only_the_time_left(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    assert whole_seconds(MID_YEAR, cc2_year.end) == 15_897_600
    assert whole_seconds(cc2_year.start, cc2_year.end) == 31_536_000
    q = quote(catalog, Terms("cc2", 12, 120), cc2_year, MID_YEAR)
    assert q.kind is QuoteKind.ADD_ACCOUNTS
    assert (q.price_per_account, q.quantity, q.total) == (25_500, 20, 510_000)
    assert q.due_now == 257_096
    assert q.proration == 510_000 - 257_096
    assert q.credit == 0
    assert (q.period_start, q.period_end) == (cc2_year.start, cc2_year.end)
    assert q.is_order


def test_example_3_change_to_cc3_credits_the_current_terms(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc3", 12, 100), cc2_year, MID_YEAR)
    assert q.kind is QuoteKind.CHANGE
    assert (q.price_per_account, q.quantity, q.total) == (40_800, 100, 4_080_000)
    assert q.credit == 1_285_479
    assert q.due_now == 2_794_521
    assert (q.proration, q.balance_applied, q.balance_after) == (0, 0, 0)
    assert (q.period_start, q.period_end) == (MID_YEAR, at("2027-07-15T10:00:00Z"))


def test_example_4_a_month_from_the_31st_clamps_without_drifting(catalog: Catalog) -> None:
    start = at("2026-01-31T09:00:00Z")
    q = quote(catalog, Terms("cc1", 1, 1), None, start)
    assert q.period_end == at("2026-02-28T09:00:00Z")
    running = RunningPeriod.starting(q.terms, start)
    assert running.end == at("2026-02-28T09:00:00Z")
    assert running.next_end(1) == at("2026-03-31T09:00:00Z")


def test_example_4_in_a_leap_year_clamps_to_february_29() -> None:
    anchor = at("2028-01-31T09:00:00Z")
    assert add_months(anchor, 1) == at("2028-02-29T09:00:00Z")
    assert add_months(anchor, 2) == at("2028-03-31T09:00:00Z")


def test_example_4_a_downgrade_after_a_clamped_month_renews_on_the_anchor_day(
    catalog: Catalog,
) -> None:
    running = RunningPeriod.starting(Terms("cc2", 1, 10), at("2026-01-31T09:00:00Z"))
    q = quote(catalog, Terms("cc1", 1, 10), running, at("2026-02-10T00:00:00Z"))
    assert q.kind is QuoteKind.DOWNGRADE
    assert (q.period_start, q.period_end) == (
        at("2026-02-28T09:00:00Z"),
        at("2026-03-31T09:00:00Z"),
    )


def test_example_5_vnd_prices_are_whole_dong(vnd_catalog: Catalog) -> None:
    q = quote(vnd_catalog, Terms("cc2", 3, 7), None, PAID)
    assert q.currency == "VND"
    assert (q.price_per_account, q.total, q.due_now) == (712_500, 4_987_500, 4_987_500)
    assert Money(q.total, q.currency).as_decimal() == 4_987_500


@pytest.mark.parametrize(
    ("package", "months", "minor"),
    [
        ("cc1", 1, 1_500),
        ("cc1", 3, 4_275),
        ("cc1", 6, 8_100),
        ("cc1", 12, 15_300),
        ("cc1", 24, 28_800),
        ("cc2", 3, 7_125),
        ("cc2", 12, 25_500),
        ("cc3", 12, 40_800),
        ("cc3", 24, 76_800),
    ],
)
def test_price_per_account_is_monthly_times_months_less_the_discount(
    catalog: Catalog, package: str, months: int, minor: int
) -> None:
    assert price_per_account(catalog, package, months) == Money(minor, "USD")


def test_price_per_account_rounds_half_up_once() -> None:
    text = """\
currency = "USD"
[[cycles]]
months = 3
discount_percent = 5
[packages.p]
name = "P"
rank = 1
monthly_price = "0.10"
"""
    # 10 cents x 3 x 95 / 100 = 28.5 cents -> 29
    assert price_per_account(parse_catalog(text, "test"), "p", 3) == Money(29, "USD")


def test_quote_is_binding_for_the_catalog_validity(catalog: Catalog) -> None:
    q = quote(catalog, Terms("cc1", 1, 1), None, PAID)
    assert q.quoted_at == PAID
    assert q.valid_until == PAID + timedelta(minutes=30)


# --- which kind of change (P4-P7) -----------------------------------------------------------

CLASSIFICATION: list[tuple[str, Terms, QuoteKind]] = [
    ("higher package, same terms", Terms("cc3", 12, 100), QuoteKind.CHANGE),
    ("higher package, fewer accounts, shorter cycle", Terms("cc3", 1, 1), QuoteKind.CHANGE),
    ("higher package, more accounts, longer cycle", Terms("cc3", 24, 500), QuoteKind.CHANGE),
    ("lower package, same terms", Terms("cc1", 12, 100), QuoteKind.DOWNGRADE),
    ("lower package, more accounts, longer cycle", Terms("cc1", 24, 500), QuoteKind.DOWNGRADE),
    ("same package and cycle, more accounts", Terms("cc2", 12, 120), QuoteKind.ADD_ACCOUNTS),
    ("same package and cycle, same accounts", Terms("cc2", 12, 100), QuoteKind.NO_CHANGE),
    ("same package and cycle, fewer accounts", Terms("cc2", 12, 80), QuoteKind.DOWNGRADE),
    ("same package, longer cycle, same accounts", Terms("cc2", 24, 100), QuoteKind.CHANGE),
    ("same package, shorter cycle, more accounts", Terms("cc2", 1, 150), QuoteKind.CHANGE),
    ("same package, longer cycle, fewer accounts", Terms("cc2", 24, 99), QuoteKind.DOWNGRADE),
    ("same package, shorter cycle, fewer accounts", Terms("cc2", 1, 10), QuoteKind.DOWNGRADE),
]


@pytest.mark.parametrize(
    ("requested", "kind"),
    [pytest.param(terms, kind, id=name) for name, terms, kind in CLASSIFICATION],
)
def test_a_request_against_cc2_12_months_100_accounts_is_classified(
    catalog: Catalog, cc2_year: RunningPeriod, requested: Terms, kind: QuoteKind
) -> None:
    assert classify(catalog, cc2_year, requested) is kind
    assert quote(catalog, requested, cc2_year, MID_YEAR).kind is kind


@pytest.mark.parametrize("requested", [Terms("cc1", 1, 1), Terms("cc3", 24, 1000)])
def test_without_a_running_period_every_request_is_new(catalog: Catalog, requested: Terms) -> None:
    assert classify(catalog, None, requested) is QuoteKind.NEW
    assert quote(catalog, requested, None, PAID).kind is QuoteKind.NEW


def test_only_new_add_and_change_are_orders(catalog: Catalog, cc2_year: RunningPeriod) -> None:
    orders = {
        kind: quote(catalog, terms, cc2_year, MID_YEAR).is_order
        for _, terms, kind in CLASSIFICATION
    }
    assert orders == {
        QuoteKind.CHANGE: True,
        QuoteKind.ADD_ACCOUNTS: True,
        QuoteKind.DOWNGRADE: False,
        QuoteKind.NO_CHANGE: False,
    }


# --- downgrade and no change ----------------------------------------------------------------


def test_a_downgrade_starts_when_the_current_period_ends(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc1", 12, 100), cc2_year, MID_YEAR, balance=5_000)
    assert q.kind is QuoteKind.DOWNGRADE
    assert q.period_start == cc2_year.end == at("2027-01-15T10:00:00Z")
    assert q.period_end == at("2028-01-15T10:00:00Z")
    # total is what the next renewal will cost; nothing is due or taken from the balance now
    assert (q.price_per_account, q.quantity, q.total) == (15_300, 100, 1_530_000)
    assert (q.proration, q.credit, q.due_now, q.balance_applied) == (0, 0, 0, 0)
    assert q.balance_after == 5_000


def test_a_downgrade_to_another_cycle_runs_that_cycle_from_the_current_end(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc2", 1, 50), cc2_year, MID_YEAR)
    assert q.kind is QuoteKind.DOWNGRADE
    assert (q.period_start, q.period_end) == (
        at("2027-01-15T10:00:00Z"),
        at("2027-02-15T10:00:00Z"),
    )
    assert q.total == 2_500 * 50


def test_no_change_costs_nothing_and_keeps_the_period(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc2", 12, 100), cc2_year, MID_YEAR, balance=7_000)
    assert q.kind is QuoteKind.NO_CHANGE
    assert (q.total, q.proration, q.credit, q.due_now, q.balance_applied) == (0, 0, 0, 0, 0)
    assert q.balance_after == 7_000
    assert (q.period_start, q.period_end) == (cc2_year.start, cc2_year.end)


# --- refusals -------------------------------------------------------------------------------


def test_an_unknown_package_is_refused_naming_the_packages_on_sale(catalog: Catalog) -> None:
    with pytest.raises(PricingError) as info:
        check_terms(catalog, Terms("cc9", 12, 1))
    assert str(info.value) == "unknown package 'cc9'; choose one of cc1, cc2, cc3"


def test_an_unknown_cycle_is_refused_naming_the_cycles_on_sale(catalog: Catalog) -> None:
    with pytest.raises(PricingError) as info:
        check_terms(catalog, Terms("cc1", 5, 1))
    assert str(info.value) == "unknown cycle 5 months; choose one of 1, 3, 6, 12, 24"


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_a_quantity_out_of_range_is_refused_naming_the_range(
    catalog: Catalog, quantity: int
) -> None:
    with pytest.raises(PricingError) as info:
        check_terms(catalog, Terms("cc1", 1, quantity))
    assert str(info.value) == "enter a number of accounts from 1 to 1000"


@pytest.mark.parametrize("quantity", [1, 1000])
def test_quantities_at_the_limits_are_accepted(catalog: Catalog, quantity: int) -> None:
    assert check_terms(catalog, Terms("cc1", 1, quantity)) == catalog.package("cc1")


def test_the_quantity_range_comes_from_the_catalog() -> None:
    text = """\
currency = "USD"
[[cycles]]
months = 1
discount_percent = 0
[packages.team]
name = "Team"
rank = 1
monthly_price = "10.00"
min_quantity = 5
max_quantity = 50
"""
    catalog = parse_catalog(text, "test")
    with pytest.raises(PricingError, match="from 5 to 50"):
        check_terms(catalog, Terms("team", 1, 4))
    assert check_terms(catalog, Terms("team", 1, 5)).code == "team"


def test_quote_refuses_terms_the_catalog_does_not_sell(catalog: Catalog) -> None:
    with pytest.raises(PricingError, match="choose one of cc1, cc2, cc3"):
        quote(catalog, Terms("gold", 12, 1), None, PAID)


def test_pricing_refusals_are_invalid_requests(catalog: Catalog) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_terms(catalog, Terms("cc1", 1, 0))
    assert info.value.code == "invalid"


@pytest.mark.parametrize(
    "when",
    [at("2026-01-15T09:59:59Z"), at("2027-01-15T10:00:00Z"), at("2027-06-01T00:00:00Z")],
)
def test_quote_refuses_a_current_period_that_is_not_running(
    catalog: Catalog, cc2_year: RunningPeriod, when: datetime
) -> None:
    with pytest.raises(PricingError, match="not running at the quote time"):
        quote(catalog, Terms("cc2", 12, 120), cc2_year, when)


def test_quote_refuses_a_negative_balance(catalog: Catalog) -> None:
    with pytest.raises(PricingError, match="cannot be negative"):
        quote(catalog, Terms("cc1", 1, 1), None, PAID, balance=-1)


# --- credit balance (P10) and credit beyond the total (P5) ----------------------------------


def test_a_balance_smaller_than_the_amount_due_is_used_up(catalog: Catalog) -> None:
    q = quote(catalog, Terms("cc2", 12, 100), None, PAID, balance=500_000)
    assert (q.total, q.balance_applied, q.due_now, q.balance_after) == (
        2_550_000,
        500_000,
        2_050_000,
        0,
    )


def test_a_balance_larger_than_the_amount_due_covers_it_and_keeps_the_rest(
    catalog: Catalog,
) -> None:
    q = quote(catalog, Terms("cc1", 1, 2), None, PAID, balance=10_000)
    assert (q.total, q.balance_applied, q.due_now, q.balance_after) == (3_000, 3_000, 0, 7_000)


def test_a_balance_pays_the_prorated_charge_not_the_total(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc2", 12, 120), cc2_year, MID_YEAR, balance=100_000)
    assert (q.total, q.proration) == (510_000, 252_904)
    assert (q.balance_applied, q.due_now, q.balance_after) == (100_000, 157_096, 0)


def test_a_balance_pays_what_is_left_after_the_credit(
    catalog: Catalog, cc2_year: RunningPeriod
) -> None:
    q = quote(catalog, Terms("cc3", 12, 100), cc2_year, MID_YEAR, balance=5_000_000)
    assert q.credit == 1_285_479
    assert (q.balance_applied, q.due_now) == (2_794_521, 0)
    assert q.balance_after == 5_000_000 - 2_794_521


def test_credit_beyond_the_total_goes_to_the_balance(catalog: Catalog) -> None:
    # cc2 for 24 months x 100 accounts = 4,800,000 cents; one day of 730 used.
    running = RunningPeriod.starting(Terms("cc2", 24, 100), PAID)
    q = quote(catalog, Terms("cc3", 1, 100), running, PAID + timedelta(days=1), balance=12_345)
    assert q.kind is QuoteKind.CHANGE
    assert q.total == 400_000
    assert q.credit == 4_793_425  # round(4,800,000 x 729 / 730)
    assert (q.due_now, q.balance_applied) == (0, 0)
    assert q.balance_after == 12_345 + 4_793_425 - 400_000


def test_credit_values_the_current_terms_at_the_current_price(catalog: Catalog) -> None:
    running = RunningPeriod.starting(Terms("cc1", 1, 10), PAID)
    q = quote(catalog, Terms("cc3", 1, 10), running, PAID)
    # at the very start the whole of the current terms is credited
    assert q.credit == 1_500 * 10
    assert q.due_now == 4_000 * 10 - 1_500 * 10
