"""Every kind of customer notice as Telegram receives it through python-telegram-bot: its
words in the workspace's language, dates in its zone, and its one-tap action (a standing
button or a Pay URL button)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.access import Actor
from core.services.context import Context
from core.services.subscriptions import unsubscribe
from core.services.workspaces import create_workspace
from tests.integration.helpers import subscription
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
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi, plain

OWNER = 1001


@pytest.fixture
def services(services: Context) -> Context:
    return replace(services, gateway=PublicLinks())


def sent_to(api: FakeBotApi, chat_id: int, since: int) -> list[dict[str, Any]]:
    return [
        c.params
        for c in api.calls[since:]
        if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id
    ]


def keyboard(message: dict[str, Any]) -> dict[str, dict[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b for row in rows for b in row}


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_each_notice_reaches_telegram_in_its_language_with_its_action(
    hook: Telegram, api: FakeBotApi, services: Context, case: Case, language: str
) -> None:
    owner = Actor("telegram", str(OWNER))
    workspace_id = await create_workspace(services, owner, "Acme", locale=language, timezone=ZONE)
    state = await arrange(services, owner, workspace_id, case.needs)
    assert hook.bot is not None
    await hook.bot.deliver_notices()  # what the arranging told (receipts, the renewal)
    since = len(api.calls)
    await enqueue(services, case, state, ("telegram", str(OWNER)))

    assert await hook.bot.deliver_notices() == 1
    messages = sent_to(api, OWNER, since)
    text = "\n".join(plain(m["text"]) for m in messages)
    for expected in words(case, language):
        assert expected in text
    if case.dated:
        assert LOCAL_TIME in text
    buttons = {k: v for m in messages for k, v in keyboard(m).items()}
    if case.action is None:
        assert buttons == {}
    elif isinstance(case.action, Button):
        (button,) = buttons.values()
        assert button["text"] == label(case.action, language)
        assert button["callback_data"].endswith(":" + case.action.value(state))
    else:
        (button,) = buttons.values()
        assert button == {"text": label(case.action, language), "url": case.action.url(state)}


async def test_unsubscribing_tells_the_chat_whose_resume_button_takes_it_back(
    hook: Telegram, api: FakeBotApi, services: Context
) -> None:
    owner = Actor("telegram", str(OWNER))
    workspace_id = await create_workspace(services, owner, "Acme", timezone=ZONE)
    state = await arrange(services, owner, workspace_id, "active")
    assert hook.bot is not None
    await hook.bot.deliver_notices()
    await unsubscribe(services, owner, workspace_id, state.sub.id)

    assert await hook.bot.deliver_notices() == 1
    assert "Contact Center 2 will end on" in api.texts(OWNER)[-1]
    text = await hook.tap(OWNER, "Resume")
    assert "Resume Contact Center 2? It will renew as usual." in text
    await hook.tap(OWNER, "Resume")
    assert not (await subscription(services, workspace_id, "cc2")).cancel_at_period_end
