"""Typed notice settings (DESIGN 14): quiet hours as "22:00-07:00" or off, IANA zone names
in any case, and which notices a workspace's switches let through."""

from __future__ import annotations

import pytest

from core.errors import InvalidRequest
from core.notice_kinds import NoticeKind
from core.notice_settings import (
    BAD_WINDOW,
    BAD_ZONE,
    SAME_ENDS,
    NoticeSettings,
    canonical_zone,
    parse_quiet_hours,
    parse_switch,
    quiet_of,
    window_text,
)
from core.quiet_hours import QuietHours


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("22:00-07:00", 22 * 60, 7 * 60),
        (" 23:00 - 06:30 ", 23 * 60, 6 * 60 + 30),
        ("9:15\u201317:45", 9 * 60 + 15, 17 * 60 + 45),
        ("22-7", 22 * 60, 7 * 60),
        ("00:00-23:59", 0, 23 * 60 + 59),
    ],
)
def test_quiet_hours_are_typed_as_two_times_of_day(typed: str, start: int, end: int) -> None:
    assert parse_quiet_hours(typed) == QuietHours(start, end)


@pytest.mark.parametrize("typed", ["off", "OFF", " none "])
def test_off_means_no_quiet_hours(typed: str) -> None:
    assert parse_quiet_hours(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "22:00",
        "24:00-07:00",
        "22:60-07:00",
        "tonight",
        "22:00-07:00-08:00",
        "1" * 10_000,
        "22:00\x00-07:00",
        "２２:００-０７:００",
    ],
)
def test_anything_else_is_refused_saying_what_may_be_typed(typed: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_quiet_hours(typed)
    assert refused.value.template == BAD_WINDOW


def test_a_window_that_starts_where_it_ends_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_quiet_hours("07:00-07:00")
    assert refused.value.template == SAME_ENDS


def test_the_stored_minutes_read_back_as_the_window_and_none_as_off() -> None:
    assert quiet_of(22 * 60, 7 * 60) == QuietHours(22 * 60, 7 * 60)
    assert quiet_of(None, None) is None
    assert window_text(QuietHours(23 * 60, 6 * 60 + 30)) == "23:00\u201306:30"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Asia/Ho_Chi_Minh", "Asia/Ho_Chi_Minh"),
        ("asia/ho_chi_minh", "Asia/Ho_Chi_Minh"),
        (" EUROPE/BERLIN ", "Europe/Berlin"),
        ("america/new york", "America/New_York"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_zone_names_are_matched_in_any_case_to_iana_spelling(typed: str, name: str) -> None:
    assert canonical_zone(typed) == name


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "Mars/Olympus_Mons",
        "Asia/Ho_Chi_Minh\x00",
        "Asia/\x1bHo_Chi_Minh",
        "x" * 10_240,
        "../../etc/passwd",
        "Asia/Hồ_Chí_Minh",
        "+07:00",
    ],
)
def test_junk_is_not_a_zone(typed: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        canonical_zone(typed)
    assert refused.value.template == BAD_ZONE


def test_switches_read_on_and_off_only() -> None:
    assert parse_switch("ON") is True and parse_switch(" off ") is False
    assert parse_switch("maybe") is None


def test_reminders_and_receipts_can_be_turned_off_but_dunning_and_staff_cannot() -> None:
    quiet = NoticeSettings(reminders_on=False, receipts_on=False, quiet=None, timezone="UTC")
    assert not quiet.wants(NoticeKind.RENEWAL_REMINDER)
    assert not quiet.wants(NoticeKind.TRIAL_REMINDER)
    assert not quiet.wants(NoticeKind.PAYMENT_SUCCEEDED)
    assert not quiet.wants(NoticeKind.RENEWAL_CHARGED)
    for kind in (
        NoticeKind.RENEWAL_DUE,
        NoticeKind.GRACE_REMINDER,
        NoticeKind.PAYMENT_FAILED,
        NoticeKind.SUBSCRIPTION_SUSPENDED,
        NoticeKind.STAFF_CHANGED,
        NoticeKind.TRIAL_ENDED,
    ):
        assert quiet.wants(kind), kind
    loud = NoticeSettings(reminders_on=True, receipts_on=True, quiet=None, timezone="UTC")
    assert loud.wants(NoticeKind.RENEWAL_REMINDER) and loud.wants(NoticeKind.PAYMENT_SUCCEEDED)
