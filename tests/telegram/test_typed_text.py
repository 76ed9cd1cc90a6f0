"""Typed text in Telegram names options by their labels only (DESIGN 12): never an id or a
cycle's internal value."""

from __future__ import annotations

from sqlalchemy import select

from core.model import Conversation
from core.services.context import Context
from tests.telegram.conftest import Telegram
from tests.telegram.test_journey import OWNER, create_workspace


async def conversation(services: Context) -> Conversation:
    async with services.db.read() as session:
        found = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
        assert found is not None
        return found


async def test_typed_labels_pick_options_and_typed_numbers_name_no_value(
    tg: Telegram, services: Context
) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    text = await tg.say(OWNER, "5")
    assert "Choose one of the options: Contact Center 1, Contact Center 2" in text
    assert (await conversation(services)).step == "package"
    assert "Choose a billing cycle" in await tg.say(OWNER, "contact center 2")
    assert "How many accounts" in await tg.say(OWNER, "12 months")
    assert (await conversation(services)).data["cycle"] == 12
    assert "Choose a billing cycle" in await tg.say(OWNER, "Back")
    await tg.say(OWNER, "6")  # the label "6 months (-10%): ..." begins with it
    assert (await conversation(services)).data["cycle"] == 6


async def test_help_in_a_flow_answers_and_asks_again_in_telegram(
    tg: Telegram, services: Context
) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    await tg.tap(OWNER, "Contact Center 2")
    text = await tg.say(OWNER, "/help")
    assert "/upgrade" in text and "Choose a billing cycle" in text
    assert "How many accounts" in await tg.tap(OWNER, "1 month: $25.00 per account")
