"""Where answers go: only the caller sees them in channels, through the request's
response_url (no channel membership needed), replacing the ephemeral menu that was tapped."""

from __future__ import annotations

from tests.slack.conftest import CHANNEL, Slack
from tests.slack.fake_api import FakeSlackApi

ADMIN = "UADMIN"


def answers(api: FakeSlackApi) -> list[dict[str, object]]:
    return api.made("response_url")


async def test_a_command_in_a_channel_answers_through_its_response_url(
    slack: Slack, api: FakeSlackApi
) -> None:
    text = await slack.command(ADMIN)
    assert "Contact Center 1" in text
    answer = answers(api)[-1]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert api.made("chat.postEphemeral") == [] and api.made("chat.postMessage") == []


async def test_a_tap_on_an_ephemeral_menu_replaces_it(slack: Slack, api: FakeSlackApi) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "upgrade")
    text = await slack.tap(ADMIN, "Contact Center 1")
    assert "Choose a billing cycle" in text
    answer = answers(api)[-1]
    assert answer["replace_original"] is True and answer["to"] == (CHANNEL, ADMIN)
    assert api.made("chat.postEphemeral") == []


async def test_the_modal_answer_replaces_the_menu_that_opened_it(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "upgrade")
    await slack.tap(ADMIN, "Contact Center 1")
    await slack.tap(ADMIN, "1 month: $15.00 per account")
    view = await slack.open_number(ADMIN)
    opened_by = str(api.hooks and max(api.hooks, key=int))
    _, text = await slack.submit(ADMIN, view, "4")
    assert "$60.00" in text
    answer = answers(api)[-1]
    assert answer["hook"] == opened_by and answer["replace_original"] is True


async def test_a_spent_response_url_falls_back_to_an_ephemeral_post(
    slack: Slack, api: FakeSlackApi
) -> None:
    form = slack.command_form(ADMIN, "")
    api.expired.add(form["response_url"].rpartition("/")[2])
    assert slack.bot is not None
    before = slack.bot.done
    assert (await slack.post_form(form)).status_code == 200
    await slack.settle(before)
    assert answers(api) == []
    shown = api.made("chat.postEphemeral")
    assert len(shown) == 1 and shown[0]["user"] == ADMIN and "Contact Center 1" in shown[0]["text"]


async def test_a_command_in_someone_elses_direct_messages_answers_only_the_caller(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.fail("chat.postMessage", "channel_not_found")
    text = await slack.command(ADMIN, channel="D0SOMEONE")
    assert "Contact Center 1" in text
    assert answers(api)[-1]["to"] == ("D0SOMEONE", ADMIN)
    assert api.made("chat.postMessage") == []
