"""Reminders derived from a subscription's state (DESIGN 14): renewal 30/7/1 days before the
period end, trial 3/1 days before its end, grace a day in and the day before suspension.

Pure: the sweep and the use cases that move a schedule share these rules, and no ORM is
imported. Due instants are local calendar days before the end at the same local wall time, so
a DST change or a zone far from UTC moves them as a person there would expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.notice_kinds import GraceReminder, NoticeKind, RenewalReminder, TrialReminder
from core.quiet_hours import QuietHours, send_time
from core.states import SubscriptionState

RENEWAL_DAYS = (7, 1)
LONG_CYCLE_DAYS = 30
LONG_CYCLE_MONTHS = 6
"""Cycles of this many months or more are also reminded 30 days before they renew."""
TRIAL_DAYS = (3, 1)
GRACE_DAYS_IN = 1
GRACE_DAYS_BEFORE = 1
SLACK = timedelta(days=2)
"""How much earlier than the UTC reckoning a local one can fall: a DST change is hours, quiet
hours pull a reminder before their window, less than a day."""
REMINDER_KINDS = frozenset(
    {NoticeKind.RENEWAL_REMINDER, NoticeKind.TRIAL_REMINDER, NoticeKind.GRACE_REMINDER}
)

ReminderPayload = RenewalReminder | TrialReminder | GraceReminder


class ScheduleFields(Protocol):
    """What a subscription's reminder schedule depends on."""

    @property
    def state(self) -> SubscriptionState: ...
    @property
    def package(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def cycle_months(self) -> int: ...
    @property
    def trial_ends_at(self) -> datetime | None: ...
    @property
    def period_end(self) -> datetime | None: ...
    @property
    def grace_until(self) -> datetime | None: ...
    @property
    def cancel_at_period_end(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder of a schedule: due at `due_at` (its dedup instant), free to go from
    `send_after` (quiet hours), useless from `deadline` (the end it announces)."""

    kind: NoticeKind
    due_at: datetime
    send_after: datetime
    deadline: datetime

    @property
    def look_at(self) -> datetime:
        """When the sweep must store it: its due instant, or earlier when quiet hours pull
        it before their window."""
        return min(self.due_at, self.send_after)


@dataclass(frozen=True, slots=True)
class Bill:
    """What the renewal or the overdue order will cost, for the reminder's words."""

    amount: int
    currency: str
    order: str | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to store now: its key instant, when quiet hours let it go, its payload."""

    kind: NoticeKind
    due_at: datetime
    send_after: datetime
    deadline: datetime
    payload: ReminderPayload


def days_before(end: datetime, days: int, zone: ZoneInfo) -> datetime:
    """`days` local calendar days before `end`, at the same local wall time, in UTC."""
    return _shifted(end, -days, zone)


def days_after(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    return _shifted(start, days, zone)


def _shifted(at: datetime, days: int, zone: ZoneInfo) -> datetime:
    local = at.astimezone(zone)
    moved = datetime.combine(local.date() + timedelta(days=days), local.time(), zone)
    return moved.astimezone(UTC)


def _renewal_days(cycle_months: int) -> tuple[int, ...]:
    if cycle_months >= LONG_CYCLE_MONTHS:
        return (LONG_CYCLE_DAYS, *RENEWAL_DAYS)
    return RENEWAL_DAYS


def planned(sub: ScheduleFields, zone: ZoneInfo, quiet: QuietHours | None = None) -> list[Planned]:
    """The subscription's whole reminder schedule as it stands, earliest first."""
    kind: NoticeKind
    if sub.state == SubscriptionState.TRIAL and sub.trial_ends_at is not None:
        kind, end = NoticeKind.TRIAL_REMINDER, sub.trial_ends_at
        instants = [days_before(end, d, zone) for d in TRIAL_DAYS]
    elif sub.state != SubscriptionState.ACTIVE or sub.period_end is None:
        return []
    elif sub.grace_until is not None:
        kind, end = NoticeKind.GRACE_REMINDER, sub.grace_until
        instants = [
            days_after(sub.period_end, GRACE_DAYS_IN, zone),
            days_before(end, GRACE_DAYS_BEFORE, zone),
        ]
    elif sub.cancel_at_period_end:
        return []
    else:
        kind, end = NoticeKind.RENEWAL_REMINDER, sub.period_end
        instants = [days_before(end, d, zone) for d in _renewal_days(sub.cycle_months)]
    return [
        Planned(kind, at, send_time(at, quiet, zone, end), end)
        for at in sorted(set(instants))
        if at < end
    ]


def due(
    sub: ScheduleFields,
    subscription_id: int,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    now: datetime,
    bill: Bill | None = None,
) -> Reminder | None:
    """The reminder to store at `now`: of those whose instant has passed and whose end has
    not, only the latest, sent at once (never several); keyed by its own instant, so any
    number of sweeps store it once."""
    return look(sub, subscription_id, zone, quiet, now, bill)[0]


def remind_at(
    sub: ScheduleFields, zone: ZoneInfo, quiet: QuietHours | None, now: datetime
) -> datetime | None:
    """The next instant the sweep must store a reminder after `now` (None: none left)."""
    return _next(planned(sub, zone, quiet), now)


def look(
    sub: ScheduleFields,
    subscription_id: int,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    now: datetime,
    bill: Bill | None = None,
) -> tuple[Reminder | None, datetime | None]:
    """`due` and `remind_at` from one computation of the schedule (the sweep asks both)."""
    schedule = planned(sub, zone, quiet)
    passed = [p for p in schedule if p.look_at <= now < p.deadline]
    if not passed:
        return None, _next(schedule, now)
    latest = passed[-1]
    at = max(latest.due_at, now)
    reminder = Reminder(
        latest.kind,
        latest.due_at,
        send_time(at, quiet, zone, latest.deadline, earliest=now),
        latest.deadline,
        payload(sub, subscription_id, latest, bill),
    )
    return reminder, _next(schedule, now)


def _next(schedule: list[Planned], now: datetime) -> datetime | None:
    return min((p.look_at for p in schedule if p.look_at > now), default=None)


def first_look(sub: ScheduleFields) -> datetime | None:
    """When the sweep should first look at a new schedule, with no zone at hand: a little
    before its earliest reminder in any zone (the sweep then computes it exactly)."""
    schedule = planned(sub, ZoneInfo("UTC"))
    return schedule[0].due_at - SLACK if schedule else None


def payload(
    sub: ScheduleFields, subscription_id: int, reminder: Planned, bill: Bill | None
) -> ReminderPayload:
    """Everything the reminder's words need: the package, the dates, what it will cost."""
    amount = None if bill is None else bill.amount
    currency = None if bill is None else bill.currency
    if reminder.kind == NoticeKind.TRIAL_REMINDER:
        return TrialReminder(subscription_id, sub.package, reminder.deadline, sub.quantity)
    if reminder.kind == NoticeKind.GRACE_REMINDER:
        return GraceReminder(
            subscription_id,
            sub.package,
            reminder.deadline,
            None if bill is None else bill.order,
            amount,
            currency,
            None,
            sub.quantity,
        )
    return RenewalReminder(
        subscription_id,
        sub.package,
        reminder.deadline,
        sub.quantity,
        sub.cycle_months,
        amount,
        currency,
    )
