"""What Slack needs to start, and the refusals when it is incomplete."""

from __future__ import annotations

import pytest

from adapters.runner import NotAvailable, check_platforms
from adapters.settings import Settings
from adapters.slack.modes import build_bot
from core.services.context import Context


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "needed"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "1", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_SECRET": "2", "SLACK_APP_TOKEN": "x"}, "SLACK_CLIENT_ID"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
    ],
)
def test_incomplete_slack_settings_are_refused(values: dict[str, str], needed: str) -> None:
    with pytest.raises(NotAvailable, match=needed):
        check_platforms(settings(**values))


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"},
        {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s"},
        {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_APP_TOKEN": "xapp-1"},
    ],
)
def test_complete_slack_settings_start(values: dict[str, str]) -> None:
    check_platforms(settings(**values))


async def test_the_command_name_is_configurable(services: Context) -> None:
    bot = await build_bot(
        services,
        settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_COMMAND="billing"),
        socket=False,
    )
    assert bot.command == "/billing"
