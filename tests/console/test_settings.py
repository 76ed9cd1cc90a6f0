"""/notify and /timezone through the console: billing admins see and change the notice
settings and the zone by buttons, by typing at the prompt or by arguments; members are told
who can; bad input says what may be typed and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.access import Actor, StaffTier
from core.model import Workspace
from core.notice_settings import NoticeSettings
from core.quiet_hours import QuietHours
from core.services.context import Context
from core.services.notice_settings import notice_settings
from core.staff import StaffDirectory
from tests.console.conftest import Chat, ChatFactory

DEFAULTS = NoticeSettings(
    reminders_on=True, receipts_on=True, quiet=QuietHours(22 * 60, 7 * 60), timezone="UTC"
)


async def settings(services: Context, chat: Chat) -> NoticeSettings:
    async with services.db.read() as session:
        workspace_id = await session.scalar(
            select(Workspace.id).where(Workspace.external_id == chat.console.workspace)
        )
    assert workspace_id is not None
    return await notice_settings(services, Actor.system(), workspace_id)


async def test_notify_shows_the_settings_and_what_is_always_sent(
    open_console: ChatFactory,
) -> None:
    admin = await open_console()
    shown = await admin.say("/notify")
    assert "Reminders (renewals and trials ending): on" in shown
    assert "Receipts (payments received): on" in shown
    assert "Quiet hours: 22:00\u201307:00 (UTC)" in shown
    assert "Payment problems and changes made by support staff are always sent." in shown
    for button in ("Turn reminders off", "Turn receipts off", "Set quiet hours", "Back", "Cancel"):
        assert button in shown


async def test_the_buttons_toggle_reminders_and_receipts(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/notify")
    shown = await admin.say("Turn reminders off")
    assert "Reminders are off." in shown and "Turn reminders on" in shown
    shown = await admin.say("Turn receipts off")
    assert "Receipts are off." in shown and "Receipts (payments received): off" in shown
    assert await settings(services, admin) == NoticeSettings(False, False, DEFAULTS.quiet, "UTC")
    await admin.say("Turn reminders on")
    assert (await settings(services, admin)).reminders_on


async def test_quiet_hours_are_typed_at_the_prompt_and_bad_ones_are_asked_again(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/notify")
    prompt = await admin.say("Set quiet hours")
    assert "Type the quiet hours in UTC as 22:00-07:00, or off for none." in prompt
    refused = await admin.say("after dinner")
    assert "Type quiet hours as two times of day, such as 22:00-07:00, or off for none." in refused
    assert "Type the quiet hours in UTC" in refused  # the question again
    assert await settings(services, admin) == DEFAULTS
    done = await admin.say("23:00-06:30")
    assert "Quiet hours are now 23:00\u201306:30 (UTC)." in done
    assert "Quiet hours: 23:00\u201306:30 (UTC)" in done
    assert (await settings(services, admin)).quiet == QuietHours(23 * 60, 6 * 60 + 30)


async def test_back_and_cancel_leave_the_quiet_hours_as_they_were(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/notify", "Set quiet hours")
    assert "Turn reminders off" in await admin.say("Back")
    await admin.say("Set quiet hours")
    assert "Cancelled." in await admin.say("Cancel")
    assert await settings(services, admin) == DEFAULTS


async def test_arguments_change_the_settings_too(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    assert "Reminders are off." in await admin.say("/notify reminders off")
    assert "Receipts are off." in await admin.say("/notify receipts OFF")
    shown = await admin.say("/notify quiet 23:00-06:30")
    assert "Quiet hours are now 23:00\u201306:30 (UTC)." in shown
    assert await settings(services, admin) == NoticeSettings(
        False, False, QuietHours(23 * 60, 6 * 60 + 30), "UTC"
    )
    shown = await admin.say("/notify quiet off")
    assert "Quiet hours are off: notices go out at any hour." in shown
    assert "Quiet hours: off" in shown
    assert (await settings(services, admin)).quiet is None


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("/notify reminders maybe", "Type /notify reminders on or off, /notify receipts on or"),
        ("/notify lunch off", "Type /notify reminders on or off"),
        ("/notify quiet 25:00-07:00", "Type quiet hours as two times of day"),
        ("/notify quiet 07:00-07:00", "Quiet hours need a start and an end that differ"),
        ("/notify quiet " + "9" * 10_000, "Type quiet hours as two times of day"),
    ],
)
async def test_bad_arguments_say_what_may_be_typed_and_change_nothing(
    open_console: ChatFactory, services: Context, command: str, said: str
) -> None:
    admin = await open_console()
    shown = await admin.say(command)
    assert said in shown and "Reminders (renewals and trials ending): on" in shown
    assert await settings(services, admin) == DEFAULTS


async def test_timezone_shows_the_zone_and_sets_one_typed_at_the_prompt(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    prompt = await admin.say("/timezone")
    assert "The time zone is UTC. Type another by its IANA name" in prompt
    done = await admin.say("asia/ho_chi_minh")
    assert "The time zone is now Asia/Ho_Chi_Minh" in done
    assert "it is Jan 15, 2026 17:00 +07 there" in done
    assert (await settings(services, admin)).timezone == "Asia/Ho_Chi_Minh"
    assert "Quiet hours: 22:00\u201307:00 (Asia/Ho_Chi_Minh)" in await admin.say("/notify")


async def test_timezone_by_argument_and_then_dates_are_shown_in_it(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    assert "Jan 29, 2026 10:00 UTC" in await admin.say("/subscription")
    assert "Europe/Berlin" in await admin.say("/timezone Europe/Berlin")
    assert "Trial ends: Jan 29, 2026 11:00 CET" in await admin.say("/subscription")


@pytest.mark.parametrize(
    "typed", ["Mars/Olympus_Mons", "x" * 10_240, "Asia/Ho_Chi_Minh\x1b[2J", "+07:00"]
)
async def test_a_zone_that_is_not_one_is_refused_and_nothing_changes(
    open_console: ChatFactory, services: Context, typed: str
) -> None:
    admin = await open_console()
    shown = await admin.say(f"/timezone {typed}")
    assert "That is not a time zone I know. Type its IANA name" in shown
    assert typed not in shown
    await admin.say("/timezone")
    shown = await admin.say(typed[:500])
    assert "That is not a time zone I know." in shown
    assert (await settings(services, admin)).timezone == "UTC"


@pytest.mark.parametrize(
    "command", ["/notify", "/notify reminders off", "/timezone", "/timezone UTC"]
)
async def test_a_member_is_refused_with_the_billing_admins_named(
    open_console: ChatFactory, services: Context, command: str
) -> None:
    await open_console(user="alice")
    member = await open_console(user="bob", role="member")
    shown = await member.say(command)
    assert "Only the workspace's billing admins can change its notices and time zone." in shown
    assert "Ask one of them: alice." in shown
    assert "Turn reminders" not in shown and "Type another" not in shown
    assert await settings(services, member) == DEFAULTS


async def test_a_button_tapped_after_losing_the_role_is_refused(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console(user="alice")
    await open_console(user="carol")
    await admin.say("/notify", "Set quiet hours")
    demoted = await open_console(user="alice", role="member")
    shown = await demoted.say("off")
    assert "Only the workspace's billing admins can change its notices" in shown
    assert await settings(services, admin) == DEFAULTS


async def test_help_lists_both_commands(open_console: ChatFactory) -> None:
    shown = await (await open_console()).say("/help")
    assert "/notify - reminders, receipts and quiet hours (billing admins)" in shown
    assert "/timezone - the time zone dates are shown in (billing admins)" in shown


async def test_the_settings_in_vietnamese(open_console: ChatFactory, services: Context) -> None:
    admin = await open_console(language="vi")
    shown = await admin.say("/notify")
    assert "Lời nhắc (gia hạn và dùng thử sắp kết thúc): bật" in shown
    assert "Giờ yên lặng: 22:00\u201307:00 (UTC)" in shown
    assert "luôn được gửi" in shown
    assert "Đã tắt lời nhắc." in await admin.say("Tắt lời nhắc")
    refused = await admin.say("/notify quiet 99")
    assert "Hãy gõ giờ yên lặng bằng hai mốc giờ trong ngày" in refused
    assert "Múi giờ hiện là Asia/Ho_Chi_Minh" in await admin.say("/timezone Asia/Ho_Chi_Minh")
    assert "Tôi không biết múi giờ đó." in await admin.say("/timezone Hà Nội")
    assert await settings(services, admin) == NoticeSettings(
        False, True, DEFAULTS.quiet, "Asia/Ho_Chi_Minh"
    )


async def test_support_staff_are_refused_the_customers_settings(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console(user="alice")
    services.staff = StaffDirectory({"console:sam": StaffTier.MANAGER})
    sam = await open_console(user="sam", role="member")
    for command in ("/notify receipts off", "/timezone Europe/Berlin"):
        shown = await sam.say(command)
        assert "Only the workspace's billing admins can change its notices and time zone." in shown
    assert await settings(services, admin) == DEFAULTS
