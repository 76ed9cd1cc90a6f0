"""The orders' declared lifecycle: only pending moves, only to the four closed states, and one
payable rule (pending and not yet expired)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import Conflict
from core.order_lifecycle import (
    TRANSITIONS,
    NotPayable,
    UndeclaredTransition,
    can_move,
    closing,
    move,
    payable,
    reached_from,
)
from core.states import OrderStatus

AT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
CLOSED = (OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED)
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


@dataclass
class FakeOrder:
    status: OrderStatus
    expires_at: datetime = AT + timedelta(minutes=30)
    closed_at: datetime | None = None
    close_reason: str | None = None


def test_the_declared_transitions_are_pending_to_each_closed_state_and_nothing_else() -> None:
    declared = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert declared == {(OrderStatus.PENDING, closed) for closed in CLOSED}
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(OrderStatus, OrderStatus)))
def test_every_status_pair_moves_exactly_when_declared(
    current: OrderStatus, target: OrderStatus
) -> None:
    order = FakeOrder(current)
    declared = current is OrderStatus.PENDING and target in CLOSED
    assert can_move(current, target) is declared
    if declared:
        move(order, target, AT, "why")
        assert (order.status, order.closed_at, order.close_reason) == (target, AT, "why")
    else:
        with pytest.raises(UndeclaredTransition):
            move(order, target, AT, "why")
        assert (order.status, order.closed_at, order.close_reason) == (current, None, None)


@PROPERTY
@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=8))
def test_any_sequence_of_moves_closes_an_order_at_most_once(targets: list[OrderStatus]) -> None:
    order = FakeOrder(OrderStatus.PENDING)
    closed_by: list[OrderStatus] = []
    for step, target in enumerate(targets):
        at = AT + timedelta(minutes=step)
        try:
            move(order, target, at)
        except UndeclaredTransition:
            continue
        closed_by.append(target)
        assert order.closed_at == at
    assert len(closed_by) <= 1
    expected = closed_by[0] if closed_by else OrderStatus.PENDING
    assert order.status is expected


def test_a_refused_transition_is_a_conflict_naming_both_statuses() -> None:
    with pytest.raises(Conflict, match="paid cannot become cancelled"):
        move(FakeOrder(OrderStatus.PAID), OrderStatus.CANCELLED, AT)


def test_reached_from_gives_the_statuses_a_bulk_update_may_close() -> None:
    for target in CLOSED:
        assert reached_from(target) == (OrderStatus.PENDING,)
    assert reached_from(OrderStatus.PENDING) == ()


def test_closing_gives_the_column_values_of_a_move() -> None:
    values = closing(OrderStatus.EXPIRED, AT, "grace period ended").columns()
    assert values == {
        "status": OrderStatus.EXPIRED,
        "closed_at": AT,
        "close_reason": "grace period ended",
    }


def test_closing_refuses_a_status_no_transition_reaches() -> None:
    with pytest.raises(UndeclaredTransition):
        closing(OrderStatus.PENDING, AT)


def test_a_pending_order_is_payable_until_its_expiry() -> None:
    order = FakeOrder(OrderStatus.PENDING)
    assert payable(order, order.expires_at - timedelta(microseconds=1)) is None
    assert payable(order, order.expires_at) is NotPayable.EXPIRED
    assert payable(order, order.expires_at + timedelta(days=1)) is NotPayable.EXPIRED


@pytest.mark.parametrize("status", CLOSED)
def test_a_closed_order_is_never_payable_even_before_its_expiry(status: OrderStatus) -> None:
    assert payable(FakeOrder(status), AT) is NotPayable.NOT_PENDING


@PROPERTY
@given(
    st.sampled_from(list(OrderStatus)),
    st.integers(min_value=-10_000, max_value=10_000),
)
def test_payable_means_pending_and_before_the_expiry(status: OrderStatus, offset_s: int) -> None:
    order = FakeOrder(status)
    at = order.expires_at + timedelta(seconds=offset_s)
    refused = payable(order, at)
    assert (refused is None) == (status is OrderStatus.PENDING and at < order.expires_at)
    assert (refused is NotPayable.NOT_PENDING) == (status is not OrderStatus.PENDING)
