"""Subscription lifecycle (DESIGN section 3): pure transitions on a subscription's fields.

The rules see a subscription only as `SubscriptionFields`, so they hold for the ORM's row
and the sweep's plain one alike, and import no ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from core import reminders
from core.clock import format_iso
from core.periods import add_months
from core.pricing import RunningPeriod, Terms
from core.states import InactiveReason, SubscriptionState


@dataclass(slots=True)
class SubscriptionRow:
    """A subscription's columns as a plain row, which the sweep steps without the ORM."""

    id: int
    workspace_id: int
    package: str
    quantity: int
    cycle_months: int
    state: SubscriptionState
    inactive_reason: InactiveReason | None
    trial_ends_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    anchor_at: datetime | None
    anchor_months: int
    cancel_at_period_end: bool
    scheduled_package: str | None
    scheduled_quantity: int | None
    scheduled_cycle_months: int | None
    grace_until: datetime | None
    due_at: datetime | None
    terms_version: int
    remind_at: datetime | None = None

    @property
    def terms(self) -> Terms:
        return Terms(self.package, self.cycle_months, self.quantity)

    @property
    def scheduled_terms(self) -> Terms | None:
        if self.scheduled_package is None:
            return None
        assert self.scheduled_quantity is not None and self.scheduled_cycle_months is not None
        return Terms(self.scheduled_package, self.scheduled_cycle_months, self.scheduled_quantity)


class SubscriptionFields(Protocol):
    """What the rules read and write, so they hold for the ORM's row and the sweep's alike."""

    package: str
    quantity: int
    cycle_months: int
    state: SubscriptionState
    inactive_reason: InactiveReason | None
    trial_ends_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    anchor_at: datetime | None
    anchor_months: int
    cancel_at_period_end: bool
    scheduled_package: str | None
    scheduled_quantity: int | None
    scheduled_cycle_months: int | None
    grace_until: datetime | None
    due_at: datetime | None
    terms_version: int
    remind_at: datetime | None

    @property
    def terms(self) -> Terms: ...

    @property
    def scheduled_terms(self) -> Terms | None: ...


class Status(StrEnum):
    """The only three statuses the product shows."""

    ACTIVE = "Active"
    TRY = "Try"
    INACTIVE = "Inactive"


class NoteKind(StrEnum):
    ENDS_ON = "ends_on"
    CHANGES_ON = "changes_on"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Note:
    """A sub-case of Active shown under the status; adapters translate it."""

    kind: NoteKind
    at: datetime
    terms: Terms | None = None


def status(sub: SubscriptionFields) -> Status:
    return {
        SubscriptionState.TRIAL: Status.TRY,
        SubscriptionState.ACTIVE: Status.ACTIVE,
    }.get(sub.state, Status.INACTIVE)


def notes(sub: SubscriptionFields) -> list[Note]:
    if sub.state != SubscriptionState.ACTIVE or sub.period_end is None:
        return []
    found: list[Note] = []
    if sub.grace_until is not None:
        found.append(Note(NoteKind.OVERDUE, sub.grace_until))
    if sub.cancel_at_period_end:
        found.append(Note(NoteKind.ENDS_ON, sub.period_end))
    elif sub.scheduled_terms is not None:
        found.append(Note(NoteKind.CHANGES_ON, sub.period_end, sub.scheduled_terms))
    return found


def next_payment_at(sub: SubscriptionFields) -> datetime | None:
    """Trial end for Try, period end for Active (none once it is set to end), else none."""
    if sub.state == SubscriptionState.TRIAL:
        return sub.trial_ends_at
    if sub.state == SubscriptionState.ACTIVE and not sub.cancel_at_period_end:
        return sub.period_end
    return None


def running_period(sub: SubscriptionFields, at: datetime) -> RunningPeriod | None:
    """The paid period in progress at `at`, or None (Try, Inactive, or overdue in grace)."""
    if sub.state != SubscriptionState.ACTIVE:
        return None
    if sub.period_start is None or sub.period_end is None or sub.anchor_at is None:
        return None
    if not sub.period_start <= at < sub.period_end:
        return None
    return RunningPeriod(
        sub.terms, sub.period_start, sub.period_end, sub.anchor_at, sub.anchor_months
    )


def snapshot(sub: SubscriptionFields) -> dict[str, Any]:
    """A JSON-able picture of a subscription for the audit log's before/after."""

    def iso(at: datetime | None) -> str | None:
        return None if at is None else format_iso(at)

    scheduled = sub.scheduled_terms
    return {
        "package": sub.package,
        "quantity": sub.quantity,
        "cycle_months": sub.cycle_months,
        "state": sub.state,
        "inactive_reason": sub.inactive_reason,
        "trial_ends_at": iso(sub.trial_ends_at),
        "period_start": iso(sub.period_start),
        "period_end": iso(sub.period_end),
        "cancel_at_period_end": bool(sub.cancel_at_period_end),
        "scheduled": None
        if scheduled is None
        else {
            "package": scheduled.package,
            "quantity": scheduled.quantity,
            "cycle_months": scheduled.cycle_months,
        },
        "grace_until": iso(sub.grace_until),
    }


def refresh_due_at(sub: SubscriptionFields) -> None:
    """When the sweep must next look at this subscription, for a transition or a reminder."""
    if sub.state == SubscriptionState.TRIAL:
        sub.due_at = sub.trial_ends_at
    elif sub.state == SubscriptionState.ACTIVE:
        sub.due_at = sub.grace_until or sub.period_end
    else:
        sub.due_at = None
    refresh_remind_at(sub)


def refresh_remind_at(sub: SubscriptionFields) -> None:
    """A schedule that moved (a new period or trial end, a cancellation set or withdrawn,
    grace begun) is looked at again a little before its first reminder could fall due."""
    sub.remind_at = reminders.first_look(sub)


def _clear_pending_changes(sub: SubscriptionFields) -> None:
    sub.cancel_at_period_end = False
    sub.scheduled_package = None
    sub.scheduled_quantity = None
    sub.scheduled_cycle_months = None
    sub.grace_until = None


def start_trial(sub: SubscriptionFields, quantity: int, at: datetime, days: int) -> None:
    sub.state = SubscriptionState.TRIAL
    sub.inactive_reason = None
    sub.quantity = quantity
    sub.trial_ends_at = at + timedelta(days=days)
    _clear_pending_changes(sub)
    refresh_due_at(sub)


def start_paid_period(sub: SubscriptionFields, terms: Terms, paid_at: datetime) -> None:
    """P3/P5/P7: new terms, a new period from the payment, anchored there."""
    sub.package = terms.package
    sub.cycle_months = terms.cycle_months
    sub.quantity = terms.quantity
    sub.state = SubscriptionState.ACTIVE
    sub.inactive_reason = None
    sub.trial_ends_at = None
    sub.period_start = paid_at
    sub.anchor_at = paid_at
    sub.anchor_months = terms.cycle_months
    sub.period_end = add_months(paid_at, terms.cycle_months)
    _clear_pending_changes(sub)
    sub.terms_version += 1
    refresh_due_at(sub)


def add_accounts(sub: SubscriptionFields, new_quantity: int) -> None:
    """P4: more accounts on the same period."""
    sub.quantity = new_quantity
    sub.terms_version += 1


def renew(sub: SubscriptionFields, terms: Terms) -> None:
    """P8: the next period continues from the old end, counted from the original anchor."""
    assert sub.period_end is not None and sub.anchor_at is not None
    sub.package = terms.package
    sub.cycle_months = terms.cycle_months
    sub.quantity = terms.quantity
    sub.period_start = sub.period_end
    sub.anchor_months += terms.cycle_months
    sub.period_end = add_months(sub.anchor_at, sub.anchor_months)
    _clear_pending_changes(sub)
    sub.terms_version += 1
    refresh_due_at(sub)


def renewal_terms(sub: SubscriptionFields) -> Terms:
    """The terms in force at the next renewal: a scheduled downgrade applies there."""
    return sub.scheduled_terms or sub.terms


def mark_overdue(sub: SubscriptionFields, grace_days: int) -> None:
    assert sub.period_end is not None
    sub.grace_until = sub.period_end + timedelta(days=grace_days)
    refresh_due_at(sub)


def deactivate(sub: SubscriptionFields, reason: InactiveReason) -> None:
    sub.state = SubscriptionState.INACTIVE
    sub.inactive_reason = reason
    _clear_pending_changes(sub)
    sub.terms_version += 1
    refresh_due_at(sub)
