"""/plans notify and /plans timezone in Slack, through Bolt and the fake Web API: a Slack
admin changes the settings by buttons and arguments; a member is told who can."""

from __future__ import annotations

from sqlalchemy import select

from core.model import Workspace
from core.services.context import Context
from tests.slack.conftest import Slack
from tests.slack.fake_api import FakeSlackApi

ADMIN, MEMBER = "UADMIN", "UMEMBER"


async def workspace(services: Context) -> Workspace:
    async with services.db.read() as session:
        found = await session.scalar(select(Workspace))
    assert found is not None
    return found


async def test_a_slack_admin_changes_the_notice_settings(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    shown = await slack.command(ADMIN, "notify")
    assert "Receipts (payments received): on" in shown
    assert "Receipts are off." in await slack.tap(ADMIN, "Turn receipts off")
    shown = await slack.command(ADMIN, "notify quiet 23:00-06:30")
    assert "Quiet hours are now 23:00\u201306:30 (UTC)." in shown
    refused = await slack.command(ADMIN, "notify reminders later")
    assert "Type /plans notify reminders on or off" in refused
    stored = await workspace(services)
    assert (stored.reminders_on, stored.receipts_on) == (True, False)
    assert (stored.quiet_from, stored.quiet_until) == (23 * 60, 6 * 60 + 30)


async def test_a_slack_admin_sets_the_zone_and_a_member_is_refused(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    shown = await slack.command(ADMIN, "timezone Asia/Ho_Chi_Minh")
    assert "The time zone is now Asia/Ho_Chi_Minh" in shown
    refused = await slack.command(MEMBER, "timezone UTC")
    assert "Only the workspace's billing admins can change its notices and time zone." in refused
    assert (await workspace(services)).timezone == "Asia/Ho_Chi_Minh"
    assert "/plans notify - reminders, receipts and quiet hours" in await slack.command(
        ADMIN, "help"
    )
