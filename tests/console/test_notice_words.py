"""Every kind of customer notice as the console prints it: its words in the chat's
language, its Pay link written out, and its one-tap action numbered to be typed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select, update

from core.access import Actor
from core.model import Workspace
from core.services.context import Context
from tests.console.conftest import Chat, ChatFactory
from tests.console.test_staff_chats import notices
from tests.notice_cases import CASES, Button, Case, PublicLinks, arrange, enqueue, label, words

ALICE = Actor("console", "alice")


@pytest.fixture
def services(services: Context) -> Context:
    return replace(services, gateway=PublicLinks())


async def speaking(services: Context, open_console: ChatFactory, language: str) -> tuple[Chat, int]:
    """Alice's console in `language`, in a workspace that reads it too."""
    chat = await open_console(language=language)
    async with services.db.unit_of_work() as session:
        workspace_id = await session.scalar(select(Workspace.id).where(Workspace.name == "acme"))
        assert workspace_id is not None
        await session.execute(
            update(Workspace).where(Workspace.id == workspace_id).values(locale=language)
        )
    return chat, workspace_id


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_each_notice_is_printed_in_the_chats_language_with_its_action(
    open_console: ChatFactory, services: Context, case: Case, language: str
) -> None:
    chat, workspace_id = await speaking(services, open_console, language)
    state = await arrange(services, ALICE, workspace_id, case.needs)
    await notices(chat)  # what the arranging told (receipts, the renewal)
    await enqueue(services, case, state, ("console", chat.console.chat))

    printed = await notices(chat)
    for expected in words(case, language):
        assert expected in printed
    if isinstance(case.action, Button):
        assert f"[1] {label(case.action, language)}" in printed
        assert chat.console.options[0].value == case.action.value(state)
    elif case.action is not None:
        assert label(case.action, language) in printed
        assert case.action.url(state) in printed
    else:
        assert "[1]" not in printed and "https://" not in printed
