"""`/staff stats` on Slack through Bolt and slack-sdk's files_upload_v2 against the fake Web
API: the chart is uploaded in three steps (an upload URL for its name and length, exactly
that many bytes posted there, the upload completed into the channel) with the summary as
its comment, into the channel the command came from or the app's DM."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image as PILImage

from adapters.sandbox import SandboxGateway
from core.access import StaffTier
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.staff import StaffDirectory
from tests.integration.stats_story import tell
from tests.slack.conftest import PUBLIC_URL, Slack, buttons, text_of
from tests.slack.fake_api import FakeSlackApi

STAFF, CUSTOMER = "USTAFF", "UCUSTOMER"
STAFF_CHANNEL, STAFF_DM = "C0STAFF", "D0STAFF"


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
        staff=StaffDirectory({f"slack:{STAFF}": StaffTier.VIEWER}),
    )


async def staff_command(slack: Slack, user: str, text: str, channel: str) -> None:
    """`/staff <text>` from `user` in `channel`, waited for."""
    assert slack.bot is not None
    form = {**slack.command_form(user, text, channel), "command": "/staff"}
    before = slack.bot.done
    response = await slack.post_form(form)
    assert response.status_code == 200, response.text
    await slack.settle(before)


def assert_a_chart(png: bytes) -> None:
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 200_000
    with PILImage.open(io.BytesIO(png)) as picture:
        picture.load()
        assert picture.format == "PNG"


async def test_the_chart_is_uploaded_into_the_channel_with_the_summary(
    slack: Slack, api: FakeSlackApi, services: Context, clock: FixedClock
) -> None:
    await tell(services, clock)
    await staff_command(slack, STAFF, "stats", STAFF_CHANNEL)
    [asked] = api.made("files.getUploadURLExternal")
    [shared] = api.files
    assert (shared.filename, asked["filename"]) == ("stats-2026-06-20.png", "stats-2026-06-20.png")
    assert int(asked["length"]) == len(shared.data)
    assert_a_chart(shared.data)
    assert shared.channel == STAFF_CHANNEL
    assert shared.title == "Stats for the last 6 months (calendar months in UTC)"
    assert shared.initial_comment is not None
    assert "MRR: $2,701.00 (Active subscriptions" in shared.initial_comment
    assert "Jan 2026: new $2,305.00, expansion $0.00" in shared.initial_comment
    assert api.messages(STAFF_CHANNEL, STAFF) == []


async def test_in_the_apps_direct_messages_the_chart_goes_to_the_dm(
    slack: Slack, api: FakeSlackApi
) -> None:
    await staff_command(slack, STAFF, "stats 2", STAFF_DM)
    [shared] = api.files
    assert shared.channel == STAFF_DM
    assert shared.initial_comment is not None
    assert "Stats for the last 2 months" in shared.initial_comment


async def test_from_the_staff_menu_the_menu_keeps_its_title_and_the_chart_follows(
    slack: Slack, api: FakeSlackApi
) -> None:
    await staff_command(slack, STAFF, "", STAFF_CHANNEL)
    assert "Stats" in buttons(slack.latest(STAFF, STAFF_CHANNEL))
    shown = await slack.tap(STAFF, "Stats", STAFF_CHANNEL)
    assert shown == "Stats for the last 6 months (calendar months in UTC)"
    replaced: list[dict[str, Any]] = api.made("response_url")
    assert replaced[-1]["replace_original"] is True and not buttons(replaced[-1])
    [shared] = api.files
    assert shared.channel == STAFF_CHANNEL


async def test_outside_the_channel_the_summary_comes_with_a_note(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.outside.add(STAFF_CHANNEL)
    await staff_command(slack, STAFF, "stats", STAFF_CHANNEL)
    assert api.files == []
    [refused] = api.refused
    assert (refused.method, refused.args["failed"]) == (
        "files.completeUploadExternal",
        "not_in_channel",
    )
    [answer] = api.messages(STAFF_CHANNEL, STAFF)
    text = text_of(answer)
    assert "MRR: $0.00" in text
    assert "The chart could not be posted in this channel: add the app to it" in text


async def test_a_customer_is_refused_and_nothing_is_uploaded(
    slack: Slack, api: FakeSlackApi
) -> None:
    await staff_command(slack, CUSTOMER, "stats", STAFF_CHANNEL)
    assert "Only support staff can do that." in text_of(api.messages(STAFF_CHANNEL, CUSTOMER)[-1])
    assert api.made("files.getUploadURLExternal") == [] and api.files == []


async def test_bad_months_are_refused_and_nothing_is_uploaded(
    slack: Slack, api: FakeSlackApi
) -> None:
    await staff_command(slack, STAFF, "stats 0", STAFF_CHANNEL)
    text = text_of(api.messages(STAFF_CHANNEL, STAFF)[-1])
    assert "Stats cover 1 to 24 months" in text
    assert api.files == []
