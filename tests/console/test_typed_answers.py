"""Typed text never reaches an option's internal value (DESIGN 12): console numbers are
positions, labels (or their leading words) pick options, and junk arguments are no ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.vocabulary import Incoming, Tap
from core.model import Conversation
from core.services.context import Context
from tests.console.conftest import ChatFactory


async def conversation(services: Context) -> Conversation:
    async with services.db.read() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found


async def test_the_first_session_of_the_readme_works_as_typed(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    assert "Your trial of Contact Center 2 has started" in await chat.say("/trial", "2")
    text = await chat.say("/upgrade", "2", "12 months (-15%)", "100")
    assert "Review your order" in text and "$25,500.00" in text
    assert "Link: http://planbot.test/sandbox/checkout/ord_" in await chat.say("Next", "Card")


@pytest.mark.parametrize("typed", ["12 months", "12 MONTHS (-15%)", "4"])
async def test_a_label_its_leading_words_or_its_position_picks_the_cycle(
    open_console: ChatFactory, services: Context, typed: str
) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 2")
    assert "How many accounts" in await chat.say(typed)
    assert (await conversation(services)).data["cycle"] == 12


async def test_a_typed_number_is_the_position_in_the_menu_shown(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 2")
    assert "How many accounts" in await chat.say("3")
    assert (await conversation(services)).data["cycle"] == 6  # [3] is 6 months
    await chat.say("/back")
    assert "Choose a package." in await chat.say("6")  # [6] is Back in this menu


@pytest.mark.parametrize("typed", ["8", "0", "9" * 5000])
async def test_a_number_that_names_no_position_is_refused_and_nothing_moves(
    open_console: ChatFactory, services: Context, typed: str
) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 2")
    before = await conversation(services)
    text = await chat.say(typed)
    assert "Type a number from 1 to 7, or an option's label." in text
    assert "[4] 12 months (-15%): $255.00 per account" in text
    after = await conversation(services)
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)


async def test_a_label_that_fits_two_options_picks_neither(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/upgrade")
    text = await chat.say("Contact Center")
    assert "Choose one of the options: Contact Center 1, Contact Center 2, Contact Center 3" in text
    assert (await conversation(services)).step == "package"


async def test_a_forged_tap_whose_value_is_not_shown_is_refused(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/upgrade")
    engine, before = chat.console.engine, await conversation(services)
    for value in ("5", "package:cc9", "12"):
        tap = Tap(value, before.version)
        replies = await engine.handle(
            Incoming("console", "acme", chat.console.chat, "alice", tap=tap)
        )
        assert "Choose one of the options listed." in str(replies)
    after = await conversation(services)
    assert (after.step, after.data) == (before.step, before.data)


@pytest.mark.parametrize(
    "line",
    [
        "/upgrade ²",
        "/unsubscribe ①",
        "/resume ³",
        "/upgrade " + "9" * 5000,
        "/upgrade " + "x" * 10_000,
    ],
)
async def test_an_argument_that_is_not_an_id_is_ignored(
    open_console: ChatFactory, services: Context, line: str
) -> None:
    chat = await open_console()
    await chat.say("/trial", "Contact Center 2")
    text = await chat.say(line)
    assert text.strip() and "Traceback" not in text
    assert "/plans" in await chat.say("/help")  # the chat goes on


async def test_help_in_a_flow_answers_and_asks_the_same_question_again(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 2")
    text = await chat.say("/help")
    assert "/upgrade - upgrade, buy more accounts" in text
    assert text.rstrip().endswith("[7] Cancel") and "Choose a billing cycle" in text
    assert "How many accounts" in await chat.say("1")  # 1 month, not the main menu's Plans
    assert (await conversation(services)).data["cycle"] == 1
