"""The reminder schedule (DESIGN 14): local calendar days before the end, collapsed when late,
out of quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core import reminders
from core.notice_kinds import GraceReminder, NoticeKind, RenewalReminder, TrialReminder
from core.periods import add_months
from core.quiet_hours import QuietHours
from core.reminders import Bill
from core.states import SubscriptionState

UTC_ZONE = ZoneInfo("UTC")
SAIGON = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NO_QUIET = None


@dataclass
class Sub:
    state: SubscriptionState = SubscriptionState.ACTIVE
    package: str = "cc1"
    quantity: int = 3
    cycle_months: int = 1
    trial_ends_at: datetime | None = None
    period_end: datetime | None = None
    grace_until: datetime | None = None
    cancel_at_period_end: bool = False


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def trial(ends: str) -> Sub:
    return Sub(state=SubscriptionState.TRIAL, trial_ends_at=utc(ends))


def instants(sub: Sub, zone: ZoneInfo = UTC_ZONE) -> list[tuple[NoticeKind, datetime]]:
    return [(p.kind, p.due_at) for p in reminders.planned(sub, zone)]


def test_a_monthly_renewal_is_reminded_7_days_and_1_day_before_its_end() -> None:
    sub = Sub(period_end=utc("2026-05-15T09:30"))
    assert instants(sub) == [
        (NoticeKind.RENEWAL_REMINDER, utc("2026-05-08T09:30")),
        (NoticeKind.RENEWAL_REMINDER, utc("2026-05-14T09:30")),
    ]


def test_a_cycle_of_six_months_or_more_is_also_reminded_30_days_before() -> None:
    for months in (6, 12):
        sub = Sub(cycle_months=months, period_end=utc("2026-05-15T09:30"))
        assert next(at for _, at in instants(sub)) == utc("2026-04-15T09:30")
    assert len(instants(Sub(cycle_months=3, period_end=utc("2026-05-15T09:30")))) == 2


def test_a_period_from_january_31_ends_on_february_28_and_is_reminded_from_there() -> None:
    end = add_months(utc("2027-01-31T12:00"), 1)
    assert end == utc("2027-02-28T12:00")
    assert [at for _, at in instants(Sub(period_end=end))] == [
        utc("2027-02-21T12:00"),
        utc("2027-02-27T12:00"),
    ]


def test_a_period_ending_march_1_2028_is_reminded_on_the_leap_day() -> None:
    sub = Sub(period_end=utc("2028-03-01T08:00"))
    assert [at for _, at in instants(sub)][-1] == utc("2028-02-29T08:00")
    assert instants(trial("2028-03-01T08:00"))[0][1] == utc("2028-02-27T08:00")


def test_in_ho_chi_minh_a_day_before_is_a_local_day_across_the_utc_day_boundary() -> None:
    # 18:30 UTC on March 10 is 01:30 on March 11 in Saigon (UTC+7).
    sub = Sub(period_end=utc("2026-03-10T18:30"))
    due = [at.astimezone(SAIGON) for _, at in instants(sub, SAIGON)]
    assert [(d.date().isoformat(), d.hour, d.minute) for d in due] == [
        ("2026-03-04", 1, 30),
        ("2026-03-10", 1, 30),
    ]
    assert due[-1].astimezone(UTC) == utc("2026-03-09T18:30")


def test_across_a_dst_change_a_reminder_keeps_the_local_wall_time() -> None:
    # Berlin moves to summer time on 2026-03-29: 10:00 CEST on the 30th is 08:00 UTC,
    # 10:00 CET a week earlier is 09:00 UTC (not 08:00 as 7 × 24 h would give).
    sub = Sub(period_end=utc("2026-03-30T08:00"))
    due = [at for _, at in instants(sub, BERLIN)]
    assert due == [utc("2026-03-23T09:00"), utc("2026-03-29T08:00")]
    assert all(at.astimezone(BERLIN).hour == 10 for at in due)


def test_no_renewal_reminder_for_a_subscription_set_to_end_in_grace_or_inactive() -> None:
    end = utc("2026-05-15T09:30")
    assert instants(Sub(period_end=end, cancel_at_period_end=True)) == []
    assert instants(Sub(state=SubscriptionState.INACTIVE, period_end=end)) == []
    grace = Sub(period_end=end, grace_until=end + timedelta(days=7))
    assert instants(grace) == [
        (NoticeKind.GRACE_REMINDER, utc("2026-05-16T09:30")),
        (NoticeKind.GRACE_REMINDER, utc("2026-05-21T09:30")),
    ]


def test_a_grace_of_one_day_is_reminded_once_at_its_start() -> None:
    end = utc("2026-05-15T09:30")
    sub = Sub(period_end=end, grace_until=end + timedelta(days=1))
    assert instants(sub) == [(NoticeKind.GRACE_REMINDER, end)]


def test_a_trial_is_reminded_3_days_and_1_day_before_its_end() -> None:
    sub = trial("2026-06-20T15:00")
    assert instants(sub) == [
        (NoticeKind.TRIAL_REMINDER, utc("2026-06-17T15:00")),
        (NoticeKind.TRIAL_REMINDER, utc("2026-06-19T15:00")),
    ]


def test_a_trial_with_less_than_3_days_left_is_reminded_once_at_once() -> None:
    sub = trial("2026-06-20T15:00")
    now = utc("2026-06-18T10:00")
    reminder = reminders.due(sub, 7, UTC_ZONE, NO_QUIET, now)
    assert reminder is not None
    assert (reminder.due_at, reminder.send_after) == (utc("2026-06-17T15:00"), now)
    assert reminder.payload == TrialReminder(7, "cc1", utc("2026-06-20T15:00"), 3)
    assert reminders.remind_at(sub, UTC_ZONE, NO_QUIET, now) == utc("2026-06-19T15:00")


def test_with_less_than_a_day_left_the_passed_reminders_collapse_into_one() -> None:
    sub = trial("2026-06-20T15:00")
    now = utc("2026-06-20T01:00")
    reminder = reminders.due(sub, 7, UTC_ZONE, NO_QUIET, now)
    assert reminder is not None and reminder.due_at == utc("2026-06-19T15:00")
    assert reminders.remind_at(sub, UTC_ZONE, NO_QUIET, now) is None


def test_nothing_is_due_before_the_first_instant_or_after_the_end() -> None:
    sub = trial("2026-06-20T15:00")
    assert reminders.due(sub, 7, UTC_ZONE, NO_QUIET, utc("2026-06-17T14:59")) is None
    assert reminders.due(sub, 7, UTC_ZONE, NO_QUIET, utc("2026-06-20T15:00")) is None


def test_a_renewal_reminder_carries_what_its_words_need() -> None:
    sub = Sub(cycle_months=12, period_end=utc("2026-05-15T09:30"))
    at = utc("2026-04-15T09:30")
    reminder = reminders.due(sub, 4, UTC_ZONE, NO_QUIET, at, Bill(90_000, "USD"))
    assert reminder is not None
    assert reminder.payload == RenewalReminder(
        4, "cc1", utc("2026-05-15T09:30"), 3, 12, 90_000, "USD"
    )
    assert reminder.deadline == utc("2026-05-15T09:30")


def test_a_grace_reminder_names_the_overdue_order_and_its_amount() -> None:
    end = utc("2026-05-15T09:30")
    sub = Sub(period_end=end, grace_until=end + timedelta(days=7))
    bill = Bill(25_000, "USD", "PB-1")
    reminder = reminders.due(sub, 4, UTC_ZONE, NO_QUIET, utc("2026-05-16T10:00"), bill)
    assert reminder is not None
    assert reminder.payload == GraceReminder(
        4, "cc1", end + timedelta(days=7), "PB-1", 25_000, "USD", None, 3
    )


def test_a_reminder_due_in_quiet_hours_waits_for_their_end() -> None:
    # 23:30 in Saigon is 16:30 UTC; the window 22:00-07:00 ends at 00:00 UTC next day.
    sub = Sub(period_end=utc("2026-05-15T16:30"))
    reminder = reminders.due(sub, 1, SAIGON, QuietHours(), utc("2026-05-14T16:30"))
    assert reminder is not None
    assert reminder.due_at == utc("2026-05-14T16:30")
    assert reminder.send_after == utc("2026-05-15T00:00")


def test_a_reminder_stored_late_goes_at_once_out_of_quiet_hours() -> None:
    # A trial of 16 hours, started at 18:00: its reminders passed, one goes at once — and
    # when "at once" is 23:00, inside 22:00-07:00 with the trial ending at 06:00 (the window's
    # end too late, its start past), it still goes rather than being dropped.
    sub = trial("2026-06-20T06:00")
    quiet = QuietHours()
    evening = reminders.due(sub, 1, UTC_ZONE, quiet, utc("2026-06-19T18:00"))
    assert evening is not None and evening.send_after == utc("2026-06-19T18:00")
    night = reminders.due(sub, 1, UTC_ZONE, quiet, utc("2026-06-19T23:00"))
    assert night is not None and night.send_after == utc("2026-06-19T23:00")
    assert night.due_at == evening.due_at == utc("2026-06-19T06:00")


def test_a_grace_reminder_due_at_night_goes_when_quiet_hours_end_before_the_grace_does() -> None:
    end = utc("2026-05-10T06:00")
    sub = Sub(period_end=end - timedelta(days=7), grace_until=end)
    last = reminders.planned(sub, UTC_ZONE, QuietHours())[-1]
    assert (last.due_at, last.send_after) == (utc("2026-05-09T06:00"), utc("2026-05-09T07:00"))
    assert last.look_at == last.due_at


def test_a_long_quiet_window_still_lets_a_day_before_reminder_out_before_the_end() -> None:
    # A window of 23 hours (07:00-06:00 next day): a reminder a day before the end waits for
    # the window's end, which comes before the end it announces.
    quiet = QuietHours(7 * 60, 6 * 60)
    for ends, goes in (
        ("2026-06-20T05:00", "2026-06-19T06:00"),
        ("2026-06-20T12:00", "2026-06-20T06:00"),
    ):
        last = reminders.planned(trial(ends), UTC_ZONE, quiet)[-1]
        assert last.send_after == utc(goes) and last.send_after < last.deadline
        assert last.look_at == last.due_at


def test_first_look_comes_before_every_reminder_in_any_zone() -> None:
    zones = [UTC_ZONE, SAIGON, BERLIN, NEW_YORK, ZoneInfo("Pacific/Kiritimati")]
    sub = Sub(cycle_months=6, period_end=utc("2026-11-01T03:00"))
    first = reminders.first_look(sub)
    assert first is not None
    for zone in zones:
        assert all(first <= p.look_at for p in reminders.planned(sub, zone, QuietHours()))
    assert reminders.first_look(Sub(period_end=None)) is None


ZONES = st.sampled_from([UTC_ZONE, SAIGON, BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe")])
ENDS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda at: at.replace(tzinfo=UTC, microsecond=0)
)
QUIETS = st.one_of(
    st.none(),
    st.builds(QuietHours, st.integers(0, 1439), st.integers(0, 1439)),
)


@settings(max_examples=200, deadline=None)
@given(end=ENDS, zone=ZONES, days=st.sampled_from([1, 3, 7, 30]))
def test_a_day_before_is_that_many_local_calendar_days_at_the_same_wall_time(
    end: datetime, zone: ZoneInfo, days: int
) -> None:
    due = reminders.days_before(end, days, zone)
    local_end, local_due = end.astimezone(zone), due.astimezone(zone)
    assert local_due.date() == local_end.date() - timedelta(days=days)
    assert due < end
    # The wall time is kept, except when it does not exist that day (a DST gap).
    assert local_due.time() == local_end.time() or local_due.utcoffset() != local_end.utcoffset()


@settings(max_examples=150, deadline=None)
@given(
    end=ENDS,
    zone=ZONES,
    quiet=QUIETS,
    gaps=st.lists(st.integers(1, 3 * 24 * 60), min_size=1, max_size=12),
)
def test_sweeps_at_any_times_store_each_planned_reminder_at_most_once(
    end: datetime, zone: ZoneInfo, quiet: QuietHours | None, gaps: list[int]
) -> None:
    """Sweeps as remind_at lets them look: every key stored is planned and none twice; the
    last is stored whenever a sweep runs between its instant and the end."""
    sub = Sub(state=SubscriptionState.TRIAL, trial_ends_at=end)
    planned = reminders.planned(sub, zone, quiet)
    look = reminders.first_look(sub)
    stored: list[datetime] = []
    now = end - timedelta(days=5)
    swept_late = False
    for gap in gaps:
        now += timedelta(minutes=gap)
        if planned and planned[-1].look_at <= now < end:
            swept_late = True
        if look is None or look > now:
            continue
        reminder = reminders.due(sub, 1, zone, quiet, now)
        if reminder is not None:
            assert reminder.due_at not in stored
            assert reminder.due_at in {p.due_at for p in planned}
            assert now <= reminder.send_after < end or reminder.send_after == now
            stored.append(reminder.due_at)
        look = reminders.remind_at(sub, zone, quiet, now)
        assert look is None or look > now
    assert len(stored) <= len(planned)
    if swept_late:
        assert stored and stored[-1] == planned[-1].due_at
