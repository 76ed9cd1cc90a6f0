"""Quiet hours (DESIGN 14): deferred to the window's end, pulled before the window when that
is too late, never dropped; the window may wrap midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.quiet_hours import QuietHours, send_time

UTC_ZONE = ZoneInfo("UTC")
SAIGON = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours()  # 22:00-07:00


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_notice_due_inside_a_daytime_window_waits_for_its_end() -> None:
    lunch = QuietHours(12 * 60, 13 * 60 + 30)
    assert send_time(utc("2026-04-02T12:10"), lunch, UTC_ZONE) == utc("2026-04-02T13:30")


def test_a_window_wrapping_midnight_ends_the_next_morning_from_either_side() -> None:
    assert send_time(utc("2026-04-02T23:30"), NIGHT, UTC_ZONE) == utc("2026-04-03T07:00")
    assert send_time(utc("2026-04-03T03:00"), NIGHT, UTC_ZONE) == utc("2026-04-03T07:00")
    assert send_time(utc("2026-04-02T22:00"), NIGHT, UTC_ZONE) == utc("2026-04-03T07:00")


def test_outside_the_window_a_notice_goes_when_due() -> None:
    for due in ("2026-04-02T07:00", "2026-04-02T12:00", "2026-04-02T21:59"):
        assert send_time(utc(due), NIGHT, UTC_ZONE) == utc(due)


def test_an_empty_window_or_none_defers_nothing() -> None:
    assert QuietHours(600, 600).empty
    assert send_time(utc("2026-04-02T10:00"), QuietHours(600, 600), UTC_ZONE) == utc(
        "2026-04-02T10:00"
    )
    assert send_time(utc("2026-04-02T23:00"), None, UTC_ZONE) == utc("2026-04-02T23:00")


def test_when_the_window_ends_too_late_the_notice_goes_just_before_it_starts() -> None:
    due, deadline = utc("2026-04-02T23:00"), utc("2026-04-03T05:00")
    assert send_time(due, NIGHT, UTC_ZONE, deadline) == utc("2026-04-02T21:59")
    # Exactly at the window's end is too late as well.
    assert send_time(due, NIGHT, UTC_ZONE, utc("2026-04-03T07:00")) == utc("2026-04-02T21:59")
    assert send_time(due, NIGHT, UTC_ZONE, utc("2026-04-03T07:01")) == utc("2026-04-03T07:00")


def test_too_late_and_already_inside_the_window_it_goes_at_once_not_never() -> None:
    due, deadline = utc("2026-04-02T23:00"), utc("2026-04-03T05:00")
    assert send_time(due, NIGHT, UTC_ZONE, deadline, earliest=due) == due


def test_the_window_is_in_the_workspaces_zone() -> None:
    # 16:30 UTC is 23:30 in Saigon: quiet there until 07:00 local, 00:00 UTC.
    assert send_time(utc("2026-04-02T16:30"), NIGHT, SAIGON) == utc("2026-04-03T00:00")
    # 23:30 UTC is 06:30 the next day in Saigon: quiet for half an hour more.
    assert send_time(utc("2026-04-02T23:30"), NIGHT, SAIGON) == utc("2026-04-03T00:00")
    assert send_time(utc("2026-04-03T01:00"), NIGHT, SAIGON) == utc("2026-04-03T01:00")


def test_a_window_across_a_dst_change_ends_at_the_local_wall_time() -> None:
    # New York falls back at 02:00 on 2026-11-01: the night lasts an hour longer in UTC.
    due = datetime(2026, 10, 31, 23, 0, tzinfo=NEW_YORK).astimezone(UTC)
    goes = send_time(due, NIGHT, NEW_YORK)
    assert goes.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 11, 1, 7, 0)
    assert goes - due == timedelta(hours=9)


def test_quiet_hours_are_minutes_within_a_day() -> None:
    for start, end in ((-1, 10), (0, 1440), (1440, 0)):
        with pytest.raises(ValueError, match="minutes within a day"):
            QuietHours(start, end)


MINUTES = st.integers(0, 1439)
ZONES = st.sampled_from([UTC_ZONE, SAIGON, NEW_YORK, ZoneInfo("Europe/Berlin")])
DUES = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda at: at.replace(tzinfo=UTC, second=0, microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(start=MINUTES, end=MINUTES, zone=ZONES, due=DUES)
def test_a_deferred_notice_goes_at_the_window_end_outside_quiet_hours_within_a_day(
    start: int, end: int, zone: ZoneInfo, due: datetime
) -> None:
    quiet = QuietHours(start, end)
    goes = send_time(due, quiet, zone)
    assert due <= goes <= due + timedelta(hours=25)
    assert goes == due or quiet.window(goes, zone) is None


@settings(max_examples=300, deadline=None)
@given(start=MINUTES, end=MINUTES, zone=ZONES, due=DUES, hours=st.integers(1, 30))
def test_a_notice_with_a_deadline_is_never_dropped_and_goes_before_it_when_it_can(
    start: int, end: int, zone: ZoneInfo, due: datetime, hours: int
) -> None:
    quiet = QuietHours(start, end)
    deadline = due + timedelta(hours=hours)
    goes = send_time(due, quiet, zone, deadline, earliest=due)
    assert goes >= due
    assert goes < deadline
