"""Every kind of customer notice as Slack receives it through slack-bolt and slack-sdk: a
DM with its words in the workspace's language, dates in its zone, and its one-tap action
(a standing button or a Pay link button)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.access import Actor
from core.services.context import Context
from core.services.workspaces import create_workspace
from tests.notice_cases import (
    CASES,
    LOCAL_TIME,
    ZONE,
    Button,
    Case,
    PublicLinks,
    arrange,
    enqueue,
    label,
    words,
)
from tests.slack.conftest import Slack, buttons, text_of
from tests.slack.fake_api import FakeSlackApi

PERSON = "U0OWNER"


@pytest.fixture
def services(services: Context) -> Context:
    return replace(services, gateway=PublicLinks())


def posted_to(api: FakeSlackApi, channel: str, since: int) -> list[dict[str, Any]]:
    return [
        c.args
        for c in api.calls[since:]
        if c.method == "chat.postMessage" and c.args.get("channel") == channel
    ]


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_each_notice_reaches_a_slack_dm_in_its_language_with_its_action(
    slack: Slack, api: FakeSlackApi, services: Context, case: Case, language: str
) -> None:
    owner = Actor("slack", PERSON)
    workspace_id = await create_workspace(services, owner, "Acme", locale=language, timezone=ZONE)
    state = await arrange(services, owner, workspace_id, case.needs)
    assert slack.bot is not None
    await slack.bot.deliver_notices()  # what the arranging told (receipts, the renewal)
    since = len(api.calls)
    await enqueue(services, case, state, ("slack", f"D0DM:{PERSON}"))

    assert await slack.bot.deliver_notices() == 1
    messages = posted_to(api, PERSON, since)
    text = "\n".join(text_of(m) for m in messages)
    for expected in words(case, language):
        assert expected in text
    if case.dated:
        assert LOCAL_TIME in text
    shown = {k: v for m in messages for k, v in buttons(m).items()}
    if case.action is None:
        assert shown == {}
    elif isinstance(case.action, Button):
        (button,) = shown.values()
        assert button["text"]["text"] == label(case.action, language)
        assert button["value"].endswith(":" + case.action.value(state))
    else:
        (button,) = shown.values()
        assert button["text"]["text"] == label(case.action, language)
        assert button["url"] == case.action.url(state)
