"""Renewal pricing (P8), an order's values from its priced terms, and settlement: the pure
rules the per-order path and the sweep's batch path both run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.catalog import Catalog, load_catalog
from core.order_lifecycle import UndeclaredTransition
from core.order_values import (
    APPLIED_TO_ORDER,
    CREDIT_BEYOND_TOTAL,
    Movement,
    OrderValues,
    SubscriptionStep,
    order_values,
    renewal_price,
    settle,
)
from core.periods import add_months
from core.pricing import RunningPeriod, Terms, quote
from core.states import OrderKind, OrderStatus

CATALOG = load_catalog()
PAID_AT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)


@dataclass(frozen=True)
class Base:
    id: int
    terms_version: int


def _renewal(balance: int) -> OrderValues:
    end = add_months(PAID_AT, 12)
    price = renewal_price(
        CATALOG,
        Terms("cc2", 12, 100),
        period_end=end,
        anchor_at=PAID_AT,
        anchor_months=12,
        balance=balance,
    )
    return order_values(
        OrderKind.RENEWAL,
        price,
        reference="ord_r",
        idempotency_key="renewal:1",
        workspace_id=7,
        base=Base(1, 3),
        placed_by="system",
        created_at=end,
        expires_at=end + timedelta(days=CATALOG.grace_days),
    )


def test_renewal_price_is_the_terms_in_force_times_quantity_from_the_old_end() -> None:
    end = add_months(PAID_AT, 12)
    price = renewal_price(
        CATALOG,
        Terms("cc2", 12, 100),
        period_end=end,
        anchor_at=PAID_AT,
        anchor_months=12,
        balance=0,
    )
    assert (price.price_per_account, price.total, price.due_now) == (25_500, 2_550_000, 2_550_000)
    assert (price.period_start, price.period_end) == (end, add_months(PAID_AT, 24))
    assert (price.proration, price.credit, price.balance_after) == (0, 0, 0)


def test_renewal_periods_count_from_the_anchor_so_a_clamped_month_does_not_drift() -> None:
    anchor = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    price = renewal_price(
        CATALOG,
        Terms("cc1", 1, 1),
        period_end=datetime(2026, 2, 28, 9, 0, tzinfo=UTC),
        anchor_at=anchor,
        anchor_months=1,
        balance=0,
    )
    assert price.period_end == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)


@PROPERTY
@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.sampled_from([p.code for p in CATALOG.packages]),
    st.sampled_from([c.months for c in CATALOG.cycles]),
    st.integers(min_value=1, max_value=1000),
)
def test_renewal_spends_the_balance_first_and_conserves_money(
    balance: int, package: str, months: int, quantity: int
) -> None:
    price = renewal_price(
        CATALOG,
        Terms(package, months, quantity),
        period_end=PAID_AT,
        anchor_at=PAID_AT,
        anchor_months=0,
        balance=balance,
    )
    assert price.total == price.price_per_account * quantity
    assert price.balance_applied == min(balance, price.total)
    assert price.due_now + price.balance_applied == price.total
    assert price.balance_after == balance - price.balance_applied >= 0


def test_order_values_copy_the_quote_amounts_and_the_base_version(catalog: Catalog) -> None:
    current = RunningPeriod.starting(Terms("cc2", 12, 100), PAID_AT)
    at = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
    q = quote(catalog, Terms("cc3", 12, 100), current, at, balance=1_000)
    values = order_values(
        OrderKind(q.kind),
        q,
        reference="ord_x",
        idempotency_key="k",
        workspace_id=7,
        base=Base(4, 2),
        placed_by="telegram:1",
        created_at=q.quoted_at,
        expires_at=q.valid_until,
        chat=("telegram", "42"),
        payment_method="card",
    )
    assert (values.kind, values.status) == (OrderKind.CHANGE, OrderStatus.PENDING)
    assert (values.subscription_id, values.base_version) == (4, 2)
    assert (values.total, values.credit, values.due_now) == (
        4_080_000,
        1_285_479,
        2_794_521 - 1_000,
    )
    assert (values.balance_applied, values.balance_after) == (1_000, 0)
    assert (values.chat_platform, values.chat_id, values.payment_method) == (
        "telegram",
        "42",
        "card",
    )
    assert values.columns()["expires_at"] == q.valid_until


def test_a_renewal_paid_from_the_balance_spends_it_and_renews() -> None:
    order = _renewal(balance=3_000_000)
    settlement = settle(order, order.created_at)
    assert (order.status, order.closed_at) == (OrderStatus.PAID, order.created_at)
    assert settlement.step is SubscriptionStep.RENEW
    assert settlement.terms == Terms("cc2", 12, 100)
    assert settlement.movements == (Movement(-2_550_000, APPLIED_TO_ORDER),)


def test_a_change_whose_credit_exceeds_its_total_credits_the_rest(catalog: Catalog) -> None:
    current = RunningPeriod.starting(Terms("cc3", 12, 100), PAID_AT)
    q = quote(catalog, Terms("cc3", 24, 100), current, PAID_AT + timedelta(days=1))
    order = order_values(
        OrderKind(q.kind),
        replace(q, credit=q.total + 500),
        reference="ord_c",
        idempotency_key="c",
        workspace_id=7,
        base=Base(4, 2),
        placed_by="t",
        created_at=q.quoted_at,
        expires_at=q.valid_until,
    )
    settlement = settle(order, q.quoted_at)
    assert settlement.step is SubscriptionStep.START_PERIOD
    assert settlement.movements == (Movement(500, CREDIT_BEYOND_TOTAL),)


def test_added_accounts_settle_as_an_add_with_nothing_moved_when_no_balance_was_used() -> None:
    order = replace(_renewal(balance=0), kind=OrderKind.ADD_ACCOUNTS)
    settlement = settle(order, order.created_at)
    assert (settlement.step, settlement.movements) == (SubscriptionStep.ADD_ACCOUNTS, ())


def test_settling_twice_is_refused_and_the_order_stays_paid_once() -> None:
    order = _renewal(balance=3_000_000)
    settle(order, order.created_at)
    with pytest.raises(UndeclaredTransition):
        settle(order, order.created_at + timedelta(minutes=1))
    assert (order.status, order.closed_at) == (OrderStatus.PAID, order.created_at)
