"""PLANBOT_STAFF_CHATS: where flagged payments and approvals are posted, a Slack channel
with the vendor's team where the app is installed in several."""

from __future__ import annotations

import logging

import pytest

from adapters.runner import announce
from adapters.settings import Settings
from core.staff import (
    StaffChat,
    StaffDirectory,
    StaffSettingError,
    parse_staff_chats,
)


def test_staff_chats_on_every_platform_and_a_slack_channel_of_a_named_team() -> None:
    chats = parse_staff_chats(
        "telegram:-100123, slack:C0STAFF, slack:T0VENDOR:C0OPS, console:staff"
    )
    assert chats == (
        StaffChat("telegram", "-100123"),
        StaffChat("slack", "C0STAFF"),
        StaffChat("slack", "C0OPS", "T0VENDOR"),
        StaffChat("console", "staff"),
    )
    staff = StaffDirectory(chats=chats)
    assert staff.chat("slack", "C0OPS") == StaffChat("slack", "C0OPS", "T0VENDOR")
    assert staff.is_staff_chat("slack", "C0OPS") and not staff.is_staff_chat("slack", "T0VENDOR")
    assert staff.chats_on("slack") == chats[1:3]


def test_a_chat_named_twice_counts_once() -> None:
    assert parse_staff_chats("slack:T0:C1,slack:C1,telegram:-1,telegram:-1") == (
        StaffChat("slack", "C1", "T0"),
        StaffChat("telegram", "-1"),
    )


@pytest.mark.parametrize(
    "entry", ["telegram:T0:-100", "slack::C0STAFF", "slack:T0:", "slack:T0:T1:C0", "irc:#staff"]
)
def test_a_staff_chat_that_is_not_platform_and_id_is_refused(entry: str) -> None:
    with pytest.raises(StaffSettingError, match="PLANBOT_STAFF_CHATS"):
        parse_staff_chats(entry)


def test_staff_user_ids_per_platform() -> None:
    staff = StaffDirectory(
        {"telegram:5005": "agent", "slack:U1": "viewer", "telegram:6": "manager"}
    )  # type: ignore[dict-item]
    assert staff.user_ids("telegram") == ("5005", "6")


def test_staff_without_a_staff_chat_is_one_warning_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="planbot"):
        announce(Settings(PLANBOT_SUPPORT_STAFF="telegram:5", PLANBOT_STAFF_CHATS=""))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "PLANBOT_STAFF_CHATS is empty: flagged payments and approvals reach no staff chat "
        "(support finds them with /staff flagged)"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="planbot"):
        announce(Settings(PLANBOT_SUPPORT_STAFF="telegram:5", PLANBOT_STAFF_CHATS="console:staff"))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="planbot"):
        announce(Settings(PLANBOT_SUPPORT_STAFF="", PLANBOT_STAFF_CHATS=""))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
