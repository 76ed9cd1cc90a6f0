"""Every prompt refuses what it does not offer, says what is allowed, and nothing moves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment
from core.model import Conversation, Order, Subscription
from core.services.context import Context
from tests.console.conftest import Chat, ChatFactory

CC2_MONTHLY = "1 month: $25.00 per account"


async def state(services: Context) -> tuple[str | None, int, dict[str, object]]:
    async with services.db.unit_of_work() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found.step, found.version, dict(found.data)


async def buy_cc2(chat: Chat, services: Context, quantity: str = "10") -> None:
    await chat.say("/upgrade", "Contact Center 2", CC2_MONTHLY, quantity, "Next", "Card")
    async with services.db.unit_of_work() as session:
        order = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert order is not None
    await complete_sandbox_payment(services, order.reference, fail=False)


PROMPTS = {
    "package": (("/upgrade",), "Choose one of the options: Contact Center 1, "),
    "cycle": (("/upgrade", "Contact Center 2"), "Choose one of the options: 1 month: $25.00"),
    "review": (
        ("/upgrade", "Contact Center 2", CC2_MONTHLY, "5"),
        "Choose one of the options: Next, Back, Cancel.",
    ),
    "method": (
        ("/upgrade", "Contact Center 2", CC2_MONTHLY, "5", "Next"),
        "Choose one of the options: Card, Bank transfer, Back, Cancel.",
    ),
    "trial package": (("/trial",), "Choose one of the options: Contact Center 1, "),
}


@pytest.mark.parametrize("prompt", sorted(PROMPTS))
@pytest.mark.parametrize("answer", ["zzz", "0", "-1", "99", "ñandú ✓"])
async def test_a_prompt_refuses_an_answer_it_does_not_offer(
    open_console: ChatFactory, services: Context, prompt: str, answer: str
) -> None:
    chat = await open_console()
    lines, message = PROMPTS[prompt]
    await chat.say(*lines)
    before = await state(services)
    text = await chat.say(answer)
    if answer.isdigit():  # a number at a numbered menu is a position, and this names none
        message = "Type a number from 1 to"
    assert message in text
    assert await state(services) == before


async def test_the_subscription_prompt_refuses_an_unknown_one(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await buy_cc2(chat, services)
    await chat.say("/upgrade")
    before = await state(services)
    text = await chat.say("Contact Center 7")
    assert "Choose one of the options: Contact Center 2, 10 accounts (Active), A new" in text
    assert await state(services) == before


async def test_a_support_reason_that_is_too_long_is_refused(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    staff = await open_console(user="sam", role="staff")
    await staff.say("/unsubscribe")
    before = await state(services)
    assert "That answer is too long." in await staff.say("r" * 501)
    assert await state(services) == before


async def test_a_downgrade_is_scheduled_shown_and_withdrawn_in_the_chat(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await buy_cc2(chat, services, "10")
    text = await chat.say("/upgrade", "1", "Switch to Contact Center 1 from the renewal")
    text = await chat.say("1 month: $15.00 per account", "4")
    assert "from the next renewal. Nothing is charged now." in text
    assert "Due now: $0.00" in text
    text = await chat.say("Schedule")
    assert "Scheduled: Contact Center 1, 4 accounts, 1 month from Feb 15, 2026 10:00 UTC" in text
    text = await chat.say("/subscription")
    assert "Note: changes to Contact Center 1, 4 accounts, 1 month on Feb 15, 2026" in text
    text = await chat.say("Withdraw the change of cc2")
    assert "The scheduled change of Contact Center 2 was withdrawn." in text
    async with services.db.unit_of_work() as session:
        sub = await session.scalar(select(Subscription))
        assert sub is not None and sub.scheduled_package is None


async def test_fewer_accounts_are_scheduled_and_more_than_held_refused(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await buy_cc2(chat, services, "10")
    text = await chat.say("/upgrade", "1", "Fewer accounts from the renewal", "10")
    assert "Enter a number of accounts from 1 to 9." in text
    text = await chat.say("6", "Schedule")
    assert "Scheduled: Contact Center 2, 6 accounts, 1 month" in text
