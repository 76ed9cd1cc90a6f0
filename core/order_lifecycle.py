"""Orders' declared lifecycle (DESIGN 12): pending -> paid | failed | expired | cancelled, and
nothing else; closed states are final, and one `payable` rule says whether money may land."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.errors import Conflict
from core.states import OrderStatus

INITIAL = OrderStatus.PENDING
"""Every order is placed pending."""

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAID: frozenset(),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
"""Every status an order may move to from each status; absent pairs are refused."""


class OrderState(Protocol):
    """What a transition writes: an ORM order, or the sweep's plain order values."""

    status: OrderStatus
    closed_at: datetime | None
    close_reason: str | None


class PayableOrder(Protocol):
    """What the payable rule reads."""

    @property
    def status(self) -> OrderStatus: ...

    @property
    def expires_at(self) -> datetime: ...


class UndeclaredTransition(Conflict):
    """A status change the lifecycle does not declare (a closed order never reopens)."""


QUOTE_LAPSED = "quote validity ended"
"""Why an order whose quote lapsed unpaid was closed (P9)."""


class NotPayable(StrEnum):
    """Why money can no longer be applied to an order."""

    NOT_PENDING = "not_pending"
    EXPIRED = "expired"


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


def reached_from(target: OrderStatus) -> tuple[OrderStatus, ...]:
    """The statuses `target` may be reached from: a bulk UPDATE's WHERE status IN (...)."""
    return tuple(source for source, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True, slots=True)
class Closing:
    """The column values a move to a closed status writes, for one order or a bulk UPDATE."""

    status: OrderStatus
    closed_at: datetime
    close_reason: str | None

    def columns(self) -> dict[str, object]:
        return {
            "status": self.status,
            "closed_at": self.closed_at,
            "close_reason": self.close_reason,
        }


def closing(target: OrderStatus, at: datetime, reason: str | None = None) -> Closing:
    """The values of a move to `target` at `at`; refuses a status no transition reaches."""
    if not reached_from(target):
        raise UndeclaredTransition("No order can move to {target}.", target=target)
    return Closing(target, at, reason)


def move(order: OrderState, target: OrderStatus, at: datetime, reason: str | None = None) -> None:
    """Move `order` to `target`, refusing a transition the lifecycle does not declare."""
    if not can_move(order.status, target):
        raise UndeclaredTransition(
            "An order that is {current} cannot become {target}.",
            current=order.status,
            target=target,
        )
    values = closing(target, at, reason)
    order.status, order.closed_at, order.close_reason = (
        values.status,
        values.closed_at,
        values.close_reason,
    )


def payable(order: PayableOrder, at: datetime) -> NotPayable | None:
    """None when a payment at `at` may still be applied to `order`, else why it may not."""
    if order.status != OrderStatus.PENDING:
        return NotPayable.NOT_PENDING
    if at >= order.expires_at:
        return NotPayable.EXPIRED
    return None
