"""Billing admins in Slack: Slack's owners and admins are billing admins; a billing admin
can make anyone else one with `/plans admins add @name` and take that back, while a role
that comes from Slack can only change in Slack."""

from __future__ import annotations

from sqlalchemy import select

from core.model import AuditEntry, Member
from core.services.context import Context
from tests.slack.conftest import Slack, buttons
from tests.slack.fake_api import FakeSlackApi

ADMIN, MEMBER, OTHER_ADMIN = "UADMIN", "UMEMBER", "UADMIN2"


async def roles(services: Context) -> dict[str, tuple[str, str | None]]:
    async with services.db.unit_of_work() as session:
        return {m.user_id: (m.role, m.granted_by) for m in await session.scalars(select(Member))}


async def test_an_admin_makes_a_member_a_billing_admin_and_takes_it_back(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    assert "billing admin" in (await slack.command(MEMBER, "upgrade")).lower()
    text = await slack.command(ADMIN, f"admins add <@{MEMBER}|mia>")
    assert "mia is now a billing admin." in text
    assert (await roles(services))[MEMBER] == ("admin", f"slack:{ADMIN}")
    assert "Choose a package." in await slack.command(MEMBER, "upgrade")

    assert slack.bot is not None
    slack.bot.people.forget()  # users.info asked again: still not a Slack admin
    await slack.command(MEMBER, "details")
    assert (await roles(services))[MEMBER][0] == "admin"  # a granted role stays

    text = await slack.command(ADMIN, "admins")
    assert "Billing admins:" in text and "/plans admins add @name" in text
    text = await slack.tap(ADMIN, "Take back: mia")
    assert "mia is no longer a billing admin." in text
    assert (await roles(services))[MEMBER] == ("member", None)
    assert "billing admin" in (await slack.command(MEMBER, "upgrade")).lower()
    async with services.db.unit_of_work() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert {"member.grant_admin", "member.revoke_admin"} <= set(actions)


async def test_a_member_cannot_grant_and_a_slack_admin_is_changed_only_in_slack(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.update({ADMIN, OTHER_ADMIN})
    await slack.command(OTHER_ADMIN, "details")
    text = await slack.command(MEMBER, f"admins add <@{OTHER_ADMIN}>")
    assert "Only the workspace's billing admins can grant" in text
    text = await slack.command(ADMIN, f"admins remove <@{OTHER_ADMIN}>")
    assert "change it there" in text
    await slack.command(ADMIN, f"admins add <@{MEMBER}|mia>")
    text = await slack.command(ADMIN, f"admins remove <@{MEMBER}|mia>")
    assert "mia is no longer a billing admin." in text
    assert (await roles(services))[OTHER_ADMIN] == ("admin", None)


async def test_help_names_the_slash_command_and_its_subcommands(slack: Slack) -> None:
    text = await slack.command(MEMBER, "help")
    assert "/plans details - details of each subscription" in text
    assert "/plans admins" in text and "/subscription" not in text


async def test_a_member_gets_no_buying_buttons_and_is_told_who_the_billing_admins_are(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "details")  # Slack's admin is known as a billing admin
    assert "Upgrade or buy" in buttons(slack.latest(ADMIN))
    await slack.command(MEMBER)
    assert list(buttons(slack.latest(MEMBER))) == ["My subscription"]
    text = await slack.command(MEMBER, "upgrade")
    assert "Only the workspace's billing admins (owners and admins) can buy" in text
    assert f"Ask one of them: {ADMIN}." in text
