"""Staff chats on Slack: flagged payments and approvals posted to the staff channel with
their buttons, the answer to a tap only the tapper sees, and with several installations
the vendor team's own bot token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.runner import NotAvailable, check_platforms
from adapters.settings import Settings
from adapters.slack.bot import build_app
from adapters.slack.delivery import Delivery
from adapters.slack.http import slack_routes
from adapters.slack.oauth import oauth_settings
from adapters.web import create_app
from core.access import Actor
from core.model import Workspace
from core.services.context import Context
from core.staff import StaffDirectory, parse_staff, parse_staff_chats
from core.staff_notices import ApprovalVerb, PendingApproval, to_staff_chats
from tests.slack.conftest import PUBLIC_URL, SECRET, ProbedBot, Slack, buttons, install, text_of
from tests.slack.fake_api import TEAM, FakeSlackApi
from tests.staff_chats import ShowProbe, flag_a_sandbox_payment, install_show_probe

ADMIN, STAFF, OUTSIDER = "UADMIN", "U0STAFF", "UOUTSIDER"
STAFF_CHANNEL = "C0STAFF"
VENDOR, VENDOR_TOKEN = "T0VENDOR", "xoxb-vendor-token"


def staff_directory(chats: str) -> StaffDirectory:
    return StaffDirectory(parse_staff(f"slack:{STAFF}=manager"), parse_staff_chats(chats))


@pytest.fixture
def services(services: Context) -> Context:
    return replace(services, staff=staff_directory(f"slack:{STAFF_CHANNEL}"))


@pytest.fixture
def show_probe(monkeypatch: pytest.MonkeyPatch) -> ShowProbe:
    return install_show_probe(monkeypatch)


async def customer_workspace(slack: Slack, api: FakeSlackApi, services: Context) -> int:
    """The Slack team's workspace, made on its admin's first command."""
    api.admins.add(ADMIN)
    await slack.command(ADMIN)
    async with services.db.read() as session:
        found = await session.scalar(select(Workspace.id).where(Workspace.external_id == TEAM))
    assert found is not None
    return found


def posted_to(api: FakeSlackApi, channel: str) -> list[dict[str, Any]]:
    return [m for m in api.made("chat.postMessage") if m["channel"] == channel]


async def test_a_flagged_payment_is_posted_to_the_staff_channel_and_show_is_for_staff(
    slack: Slack, api: FakeSlackApi, services: Context, show_probe: ShowProbe
) -> None:
    workspace_id = await customer_workspace(slack, api, services)
    flagged = await flag_a_sandbox_payment(services, Actor("slack", ADMIN), workspace_id)
    # The admin is told of the payment, support's grant and the payment that could not be
    # applied (their orders began in no chat); the staff channel of the flagged payment.
    assert slack.bot is not None and await slack.bot.deliver_notices() == 4
    [notice] = posted_to(api, STAFF_CHANNEL)
    assert f"Flagged payment in acme (#{workspace_id})." in text_of(notice)
    assert f"for order {flagged.order} could not be applied as quoted" in text_of(notice)
    found = buttons(notice)
    assert {label: b["value"] for label, b in found.items()} == {
        "Refund": f"0:run:staff:refund {flagged.order}",
        "Credit": f"0:run:staff:credit {workspace_id} payment:{flagged.payment}",
        "Show": f"0:run:staff:show {workspace_id}",
    }

    text = await slack.press(STAFF, found["Show"], STAFF_CHANNEL, ephemeral=False)
    assert f"Showing workspace {workspace_id}." in text
    text = await slack.press(OUTSIDER, found["Show"], STAFF_CHANNEL, ephemeral=False)
    assert "Only support staff can do that." in text
    assert show_probe.calls == [(STAFF, str(workspace_id))]
    # Answers went to the tapper alone: the notice is the channel's only post.
    assert posted_to(api, STAFF_CHANNEL) == [notice]
    assert not [m for m in api.made("chat.update") if m["channel"] == STAFF_CHANNEL]


async def test_a_pending_approval_is_posted_with_approve_and_reject(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    workspace_id = await customer_workspace(slack, api, services)
    pending = PendingApproval(
        action=8,
        verb=ApprovalVerb.REFUND,
        workspace_id=workspace_id,
        workspace="acme",
        amount=180000,
        currency="USD",
        requester="slack:U0OTHER (manager)",
        reason_code="duplicate",
        comment="charged twice",
        order="ord_0123456789abcdef",
    )
    for notice in to_staff_chats(services.staff, pending):
        await services.notifier.notify(notice)
    assert slack.bot is not None and await slack.bot.deliver_notices() == 1
    [posted] = posted_to(api, STAFF_CHANNEL)
    assert "asks to refund $1,800.00 of order ord_0123456789abcdef in acme" in text_of(posted)
    assert "Comment: charged twice" in text_of(posted)
    assert {label: b["value"] for label, b in buttons(posted).items()} == {
        "Approve": "0:run:staff:approve 8",
        "Reject": "0:run:staff:reject 8",
    }


@pytest.fixture
async def two_teams(
    api: FakeSlackApi, services: Context, slack_tables: None
) -> AsyncIterator[Slack]:
    """The app installed by the customer's team and by the vendor's, whose channel is the
    staff chat."""
    api.installs["v3nd0r"] = (VENDOR, VENDOR_TOKEN)
    ctx = replace(services, staff=staff_directory(f"slack:{VENDOR}:{STAFF_CHANNEL}"))
    settings, installations = await oauth_settings(ctx.db.engine, "111.222", "shh")
    app = build_app(signing_secret=SECRET, token=None, api_url=api.api_url, oauth=settings)
    bot = ProbedBot(ctx, app, installations=installations)
    await bot.open()
    harness = Slack(api, ctx, bot=bot)
    harness.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(ctx, routes=slack_routes(bot, SECRET))),
        base_url=PUBLIC_URL.replace("http:", "https:"),
    )
    assert (await install(harness)).status_code == 200
    assert (await install(harness, "v3nd0r")).status_code == 200
    yield harness
    await harness.http.aclose()
    await bot.close()


async def test_with_several_installations_the_staff_channel_gets_the_vendor_teams_token(
    two_teams: Slack, api: FakeSlackApi, show_probe: ShowProbe
) -> None:
    workspace_id = await customer_workspace(two_teams, api, two_teams.ctx)
    await flag_a_sandbox_payment(two_teams.ctx, Actor("slack", ADMIN), workspace_id)
    assert two_teams.bot is not None and await two_teams.bot.deliver_notices() == 4
    [post] = [
        c
        for c in api.calls
        if c.method == "chat.postMessage" and c.args["channel"] == STAFF_CHANNEL
    ]
    assert (post.args["channel"], post.token) == (STAFF_CHANNEL, VENDOR_TOKEN)

    show = buttons(post.args)["Show"]
    text = await two_teams.press(STAFF, show, STAFF_CHANNEL, team=VENDOR, ephemeral=False)
    assert f"Showing workspace {workspace_id}." in text
    assert show_probe.calls == [(STAFF, str(workspace_id))]


def test_with_several_installations_a_staff_channel_must_name_its_team() -> None:
    oauth = {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s"}
    untagged = Settings(_env_file=None, PLANBOT_STAFF_CHATS="slack:C0STAFF", **oauth)  # type: ignore[call-arg]
    with pytest.raises(NotAvailable, match="slack:TEAM_ID:C0STAFF"):
        check_platforms(untagged)
    tagged = Settings(_env_file=None, PLANBOT_STAFF_CHATS="slack:T0V:C0STAFF", **oauth)  # type: ignore[call-arg]
    check_platforms(tagged)
    one_token = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    check_platforms(Settings(_env_file=None, PLANBOT_STAFF_CHATS="slack:C0STAFF", **one_token))  # type: ignore[call-arg]


async def test_a_staff_channel_of_a_team_that_never_installed_gets_nothing_and_a_warning(
    two_teams: Slack, api: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    assert two_teams.bot is not None
    ctx = replace(two_teams.ctx, staff=staff_directory(f"slack:T0NOPE:{STAFF_CHANNEL}"))
    delivery = Delivery(ctx, two_teams.bot.app.client, two_teams.bot.installations)
    workspace_id = await customer_workspace(two_teams, api, ctx)
    await flag_a_sandbox_payment(ctx, Actor("slack", ADMIN), workspace_id)
    with caplog.at_level(logging.WARNING, logger="planbot.slack"):
        assert await delivery.deliver_notices() == 4  # the admin's three, the flag
    assert posted_to(api, STAFF_CHANNEL) == []
    assert "team T0NOPE has not installed the app" in caplog.text
