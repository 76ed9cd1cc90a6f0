"""The notice catalogue of DESIGN section 14: one kind, one typed payload; stored as JSON.

Pure: the rules, the sweep and the renderers share these names, and no ORM is imported.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from core.clock import parse_iso


class NoticeKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_NEEDS_SUPPORT = "payment.needs_support"
    ORDER_REPLACED = "order.replaced"
    ORDER_EXPIRED = "order.expired"
    RENEWAL_REMINDER = "renewal.reminder"
    RENEWAL_DUE = "renewal.due"
    RENEWAL_CHARGED = "renewal.charged"
    RENEWAL_CHARGE_FAILED = "renewal.charge_failed"
    GRACE_REMINDER = "grace.reminder"
    SUBSCRIPTION_SUSPENDED = "subscription.suspended"
    TRIAL_REMINDER = "trial.reminder"
    TRIAL_ENDED = "trial.ended"
    CANCELLATION_REQUESTED = "cancellation.requested"
    CANCELLATION_EFFECTIVE = "cancellation.effective"
    CHANGE_SCHEDULED = "change.scheduled"
    CHANGE_APPLIED = "change.applied"
    STAFF_CHANGED = "staff.changed"
    STAFF_DECIDED = "staff.decided"
    STAFF_FLAGGED = "staff.flagged"
    STAFF_APPROVAL = "staff.approval"


class NoticeGroup(StrEnum):
    """What `/notify` can turn off: reminders and receipts; dunning and staff never."""

    REMINDERS = "reminders"
    RECEIPTS = "receipts"
    DUNNING = "dunning"
    STAFF = "staff"
    ACCOUNT = "account"


GROUPS: dict[NoticeKind, NoticeGroup] = {
    NoticeKind.PAYMENT_SUCCEEDED: NoticeGroup.RECEIPTS,
    NoticeKind.RENEWAL_CHARGED: NoticeGroup.RECEIPTS,
    NoticeKind.RENEWAL_REMINDER: NoticeGroup.REMINDERS,
    NoticeKind.TRIAL_REMINDER: NoticeGroup.REMINDERS,
    NoticeKind.PAYMENT_FAILED: NoticeGroup.DUNNING,
    NoticeKind.RENEWAL_DUE: NoticeGroup.DUNNING,
    NoticeKind.RENEWAL_CHARGE_FAILED: NoticeGroup.DUNNING,
    NoticeKind.GRACE_REMINDER: NoticeGroup.DUNNING,
    NoticeKind.SUBSCRIPTION_SUSPENDED: NoticeGroup.DUNNING,
    NoticeKind.STAFF_CHANGED: NoticeGroup.STAFF,
    NoticeKind.STAFF_DECIDED: NoticeGroup.STAFF,
    NoticeKind.STAFF_FLAGGED: NoticeGroup.STAFF,
    NoticeKind.STAFF_APPROVAL: NoticeGroup.STAFF,
}
"""Kinds not named here (orders, trials ending, cancellations, changes) always go out."""

OPTIONAL_GROUPS = frozenset({NoticeGroup.REMINDERS, NoticeGroup.RECEIPTS})


def group_of(kind: str) -> NoticeGroup:
    known = notice_kind(kind)
    return NoticeGroup.ACCOUNT if known is None else GROUPS.get(known, NoticeGroup.ACCOUNT)


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    order: str
    package: str
    quantity: int = 0
    period_end: datetime | None = None
    subscription_id: int | None = None
    cycle_months: int = 0
    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    order: str
    package: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentNeedsSupport:
    order: str
    package: str
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OrderReplaced:
    """The older order's chat is told its link is void, and by which order."""

    order: str
    package: str
    replaced_by: str | None = None
    link: str | None = None
    """The replacing order's payment link, read from it at send time."""


@dataclass(frozen=True, slots=True)
class OrderExpired:
    order: str
    package: str


@dataclass(frozen=True, slots=True)
class RenewalReminder:
    subscription_id: int
    package: str
    period_end: datetime
    quantity: int = 0
    cycle_months: int = 0
    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class RenewalDue:
    """The link is read from the order at send time, so the notice waits for it."""

    subscription_id: int
    package: str
    order: str | None = None
    amount: int | None = None
    currency: str | None = None
    deadline: datetime | None = None
    link: str | None = None
    quantity: int = 0
    cycle_months: int = 0


@dataclass(frozen=True, slots=True)
class RenewalCharged:
    subscription_id: int
    package: str
    period_end: datetime | None = None
    order: str | None = None
    amount: int | None = None
    currency: str | None = None
    quantity: int = 0
    cycle_months: int = 0


@dataclass(frozen=True, slots=True)
class RenewalChargeFailed:
    subscription_id: int
    package: str
    order: str | None = None
    amount: int | None = None
    currency: str | None = None
    deadline: datetime | None = None
    link: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class GraceReminder:
    subscription_id: int
    package: str
    grace_until: datetime
    order: str | None = None
    amount: int | None = None
    currency: str | None = None
    link: str | None = None
    quantity: int = 0


@dataclass(frozen=True, slots=True)
class SubscriptionSuspended:
    subscription_id: int
    package: str
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrialReminder:
    subscription_id: int
    package: str
    trial_ends_at: datetime
    quantity: int = 0


@dataclass(frozen=True, slots=True)
class TrialEnded:
    subscription_id: int
    package: str
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CancellationRequested:
    subscription_id: int
    package: str
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CancellationEffective:
    subscription_id: int
    package: str
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChangeScheduled:
    subscription_id: int
    package: str
    new_package: str
    new_quantity: int
    new_cycle_months: int
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChangeApplied:
    subscription_id: int
    package: str
    quantity: int
    cycle_months: int
    period_end: datetime | None = None
    old_package: str | None = None
    old_quantity: int | None = None
    old_cycle_months: int | None = None


CustomerPayload = (
    PaymentSucceeded
    | PaymentFailed
    | PaymentNeedsSupport
    | OrderReplaced
    | OrderExpired
    | RenewalReminder
    | RenewalDue
    | RenewalCharged
    | RenewalChargeFailed
    | GraceReminder
    | SubscriptionSuspended
    | TrialReminder
    | TrialEnded
    | CancellationRequested
    | CancellationEffective
    | ChangeScheduled
    | ChangeApplied
)

PAYLOADS: dict[NoticeKind, type[Any]] = {
    NoticeKind.PAYMENT_SUCCEEDED: PaymentSucceeded,
    NoticeKind.PAYMENT_FAILED: PaymentFailed,
    NoticeKind.PAYMENT_NEEDS_SUPPORT: PaymentNeedsSupport,
    NoticeKind.ORDER_REPLACED: OrderReplaced,
    NoticeKind.ORDER_EXPIRED: OrderExpired,
    NoticeKind.RENEWAL_REMINDER: RenewalReminder,
    NoticeKind.RENEWAL_DUE: RenewalDue,
    NoticeKind.RENEWAL_CHARGED: RenewalCharged,
    NoticeKind.RENEWAL_CHARGE_FAILED: RenewalChargeFailed,
    NoticeKind.GRACE_REMINDER: GraceReminder,
    NoticeKind.SUBSCRIPTION_SUSPENDED: SubscriptionSuspended,
    NoticeKind.TRIAL_REMINDER: TrialReminder,
    NoticeKind.TRIAL_ENDED: TrialEnded,
    NoticeKind.CANCELLATION_REQUESTED: CancellationRequested,
    NoticeKind.CANCELLATION_EFFECTIVE: CancellationEffective,
    NoticeKind.CHANGE_SCHEDULED: ChangeScheduled,
    NoticeKind.CHANGE_APPLIED: ChangeApplied,
}
KINDS: dict[type[Any], NoticeKind] = {cls: kind for kind, cls in PAYLOADS.items()}
RENAMED: dict[str, NoticeKind] = {"subscription.ended": NoticeKind.CANCELLATION_EFFECTIVE}
"""Kinds stored under an older name, read as the kind they became."""


def notice_kind(kind: str) -> NoticeKind | None:
    """The kind a stored name stands for (an older name too); None for an unknown one."""
    if kind in RENAMED:
        return RENAMED[kind]
    try:
        return NoticeKind(kind)
    except ValueError:
        return None


P = TypeVar("P")


def kind_of(payload: object) -> NoticeKind:
    return KINDS[type(payload)]


def to_data(payload: object) -> dict[str, Any]:
    """The payload as JSON-ready values (datetimes as ISO text, None left out)."""
    assert dataclasses.is_dataclass(payload) and not isinstance(payload, type)
    data: dict[str, Any] = {}
    for f in fields(payload):
        value = getattr(payload, f.name)
        if value is None:
            continue
        data[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return data


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """A payload's field types, resolved once (its annotations are strings)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _base(hint: Any) -> Any:
    """`int | None` → int."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner
    return hint


def _value(hint: Any, raw: object) -> object:
    if raw is None:
        return None
    base = _base(hint)
    if base is datetime:
        return parse_iso(str(raw))
    if base is int:
        return int(str(raw))
    if base is str:
        return str(raw)
    return raw


def from_data(cls: type[P], data: dict[str, Any]) -> P:
    """The stored JSON back as its payload; unknown keys are ignored, missing ones default."""
    hints = _hints(cast(type[Any], cls))
    assert dataclasses.is_dataclass(cls)
    values = {f.name: _value(hints[f.name], data[f.name]) for f in fields(cls) if f.name in data}
    return cls(**values)


def payload_of(kind: str, data: dict[str, Any]) -> CustomerPayload | None:
    """The typed payload of a stored customer notice; None for staff kinds and unknown ones."""
    known = notice_kind(kind)
    cls = None if known is None else PAYLOADS.get(known)
    if cls is None:
        return None
    try:
        payload: CustomerPayload = from_data(cls, data)
    except (TypeError, ValueError, KeyError):
        return None
    return payload
