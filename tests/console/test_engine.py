"""The engine's promises: Back/Cancel/Help everywhere, stale menus, restarts, expiry, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.console import open_chat
from adapters.sandbox import complete_sandbox_payment
from bot.vocabulary import Incoming, Tap
from core.clock import FixedClock
from core.model import Conversation, Member, Order, Subscription, Workspace
from core.services.context import Context
from tests.console.conftest import ChatFactory

UPGRADE_TO_QUANTITY = ("/upgrade", "Contact Center 2", "1 month: $25.00 per account")


async def conversation(services: Context) -> Conversation:
    async with services.db.unit_of_work() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found


async def count(services: Context, model: type[Order] | type[Subscription]) -> int:
    async with services.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_back_returns_to_the_previous_question_and_cancel_ends_the_flow(
    open_console: ChatFactory,
) -> None:
    chat = await open_console()
    text = await chat.say(*UPGRADE_TO_QUANTITY)
    assert "How many accounts in all? Enter a number from 1 to 1000." in text
    assert "Choose a billing cycle" in await chat.say("/back")
    assert "Choose a package." in await chat.say("Back")
    text = await chat.say("Cancel")
    assert "Cancelled." in text
    assert (await conversation(chat.console.engine.services)).flow is None


async def test_help_answers_at_any_step_and_keeps_the_question(open_console: ChatFactory) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY)
    text = await chat.say("/help")
    assert "/upgrade - upgrade, buy more accounts" in text
    assert "How many accounts" in await chat.say("/back", "1 month: $25.00 per account")


@pytest.mark.parametrize(
    "answer",
    ["abc", "0", "-5", "1001", "12.5", "٣", "１２", "x" * 10_000, "/unknowncommand"],
)
async def test_a_bad_quantity_is_refused_saying_what_is_allowed_and_nothing_moves(
    open_console: ChatFactory, services: Context, answer: str
) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY)
    before = await conversation(services)
    text = await chat.say(answer)
    after = await conversation(services)
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)
    if answer.startswith("/"):
        assert "Unknown command /unknowncommand. Send /help for the list." in text
    elif len(answer) > 500:
        assert "That answer is too long." in text
    else:
        assert "Enter a number of accounts from 1 to 1000." in text
    assert await count(services, Order) == 0


async def test_adding_fewer_accounts_than_held_is_refused(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY, "100", "Next", "Card")
    async with services.db.unit_of_work() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    await complete_sandbox_payment(services, order.reference, fail=False)
    text = await chat.say("/upgrade", "1", "More accounts of Contact Center 2", "50")
    assert "Enter a number of accounts from 101 to 1000." in text


async def test_a_choice_that_is_not_offered_is_refused(open_console: ChatFactory) -> None:
    chat = await open_console()
    await chat.say("/upgrade")
    text = await chat.say("Contact Center 9")
    assert "Choose one of the options: Contact Center 1, Contact Center 2" in text
    assert "Choose a package." in text


async def test_a_tap_on_an_old_menu_gets_the_current_one_and_does_nothing(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/upgrade")
    old_version = chat.console.version
    await chat.say("Contact Center 2")
    engine = chat.console.engine
    stale = Incoming(
        "console", "acme", chat.console.chat, "alice", tap=Tap("package:cc3", old_version)
    )
    replies = await engine.handle(stale)
    assert "out of date" in replies[0].text  # type: ignore[union-attr]
    state = await conversation(services)
    assert (state.step, state.data["package"]) == ("cycle", "cc2")


async def test_a_double_tap_advances_once(open_console: ChatFactory, services: Context) -> None:
    chat = await open_console()
    await chat.say("/upgrade")
    version = chat.console.version
    tap = Incoming("console", "acme", chat.console.chat, "alice", tap=Tap("package:cc2", version))
    first = await chat.console.engine.handle(tap)
    second = await chat.console.engine.handle(tap)
    assert "Choose a billing cycle" in first[0].text  # type: ignore[union-attr]
    assert "out of date" in second[0].text  # type: ignore[union-attr]
    assert (await conversation(services)).history == ["package"]


async def test_a_double_submitted_payment_method_places_one_order(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY, "10", "Next")
    version = chat.console.version
    tap = Incoming("console", "acme", chat.console.chat, "alice", tap=Tap("card", version))
    await chat.console.engine.handle(tap)
    await chat.console.engine.handle(tap)
    assert await count(services, Order) == 1


async def test_a_restart_in_the_middle_of_a_flow_resumes_it(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY)
    restarted = await open_console()
    text = await restarted.say("12")
    assert "Review your order" in text
    assert "Total: $300.00" in text


async def test_an_idle_conversation_expires_after_thirty_minutes(
    open_console: ChatFactory, clock: FixedClock, services: Context
) -> None:
    chat = await open_console()
    await chat.say(*UPGRADE_TO_QUANTITY)
    clock.advance(timedelta(minutes=29))
    assert "Review your order" in await chat.say("12")
    await chat.say("Back")
    clock.advance(timedelta(minutes=31))
    text = await chat.say("12")
    assert "expired" in text
    assert (await conversation(services)).flow is None


async def test_a_member_is_refused_buying_and_told_who_can(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console(user="bob", role="member")
    text = await chat.say("/upgrade")
    assert "Only the workspace's billing admins (owners and admins) can buy" in text
    text = await chat.say("/trial")
    assert "Only the workspace's billing admins can start a trial." in text
    text = await chat.say("/unsubscribe")
    assert "billing admins and support staff can unsubscribe" in text
    assert "Contact Center 1" in await chat.say("/plans")


async def test_support_staff_cannot_buy_but_unsubscribe_with_a_reason(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    staff = await open_console(user="sam", role="staff")
    assert "Only the workspace's billing admins" in await staff.say("/upgrade")
    text = await staff.say("/unsubscribe")
    assert "Type the reason for the audit log" in text
    text = await staff.say("customer asked by phone", "Unsubscribe")
    assert "Contact Center 1 has ended." in text


async def test_an_outsider_sees_the_catalog_but_no_details(open_console: ChatFactory) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    engine = admin.console.engine

    async def say(command: str) -> str:
        replies = await engine.handle(Incoming("console", "acme", "x", "mallory", command=command))
        return "\n".join(getattr(r, "text", "") for r in replies)

    assert "Only members of this workspace and support staff" in await say("subscription")
    plans = await say("plans")
    assert "Contact Center 1 (cc1)" in plans and "current" not in plans


async def test_free_text_outside_a_flow_offers_the_menu(open_console: ChatFactory) -> None:
    chat = await open_console()
    text = await chat.say("hello there")
    assert "I can only respond to commands and buttons." in text
    assert "[1] Plans" in text


async def test_typing_a_number_picks_the_numbered_option(open_console: ChatFactory) -> None:
    chat = await open_console()
    text = await chat.say("/upgrade", "2")
    assert "Choose a billing cycle" in text
    assert (await conversation(chat.console.engine.services)).data["package"] == "cc2"


async def test_a_console_workspace_and_member_are_made_once(services: Context) -> None:
    for _ in range(2):
        await open_chat(services, workspace="acme", user="alice", role="admin", language="en")
    async with services.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Workspace)) == 1
        assert await session.scalar(select(func.count()).select_from(Member)) == 1
