"""No exception escapes a chat step: the person is told to try again in their language, the
conversation stays where it was, the error is logged once, and the chat goes on."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.flows import upgrade
from core.model import Conversation
from core.services.context import Context
from tests.console.conftest import ChatFactory


async def conversation(services: Context) -> Conversation:
    async with services.db.read() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_a_step_that_fails_apologises_keeps_the_question_and_the_chat_goes_on(
    open_console: ChatFactory,
    services: Context,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    language: str,
) -> None:
    chat = await open_console(language=language)
    await chat.say("/upgrade", "2", "1")
    before = await conversation(services)

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(upgrade, "review_quote", broken)
    with caplog.at_level(logging.ERROR):
        text = await chat.say("100")
    apology = {
        "en": "Sorry, something went wrong on my side. Please try again.",
        "vi": "Xin lỗi",
    }[language]
    assert apology in text
    assert "(/back /cancel)" in text  # the quantity is asked again
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and "flow upgrade step quantity" in failures[0].getMessage()
    after = await conversation(services)
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)
    monkeypatch.undo()
    review = {"en": "Review your order", "vi": "Xem lại đơn hàng"}[language]
    assert review in await chat.say("100")
