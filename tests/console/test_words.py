"""The chat's words: menus offer each person only what they may do, refusals to members name
the billing admins, added accounts say how many in all, and reviews and confirmations say
what they do to a change already scheduled."""

from __future__ import annotations

from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment, parse_order_reference
from bot.vocabulary import Incoming
from core.clock import FixedClock
from core.model import Order
from core.services.context import Context
from tests.conftest import at
from tests.console.conftest import Chat, ChatFactory

BUYING = ("Upgrade or buy", "Start a trial", "Unsubscribe")


async def pay_last_order(services: Context) -> None:
    async with services.db.read() as session:
        reference = await session.scalar(select(Order.reference).order_by(Order.id.desc()))
    assert reference is not None
    await complete_sandbox_payment(services, reference, fail=False)


async def bought(chat: Chat, services: Context) -> None:
    """cc2, 12 months, 100 accounts, paid."""
    await chat.say(
        "/upgrade", "Contact Center 2", "12 months (-15%): $255.00 per account", "100", "Next"
    )
    await chat.say("Card")
    await pay_last_order(services)


async def reduced(chat: Chat) -> str:
    """Fewer accounts (50) from the renewal, scheduled."""
    return await chat.say("/upgrade", "1", "Fewer accounts from the renewal", "50", "Schedule")


async def test_a_member_is_offered_only_looking(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    member = await open_console(user="bob", role="member")
    menu = await member.say("/cancel")
    assert "[1] Plans" in menu and "[2] My subscription" in menu
    plans = await member.say("/plans")
    assert "[1] My subscription" in plans
    details = await member.say("/subscription")
    assert "Contact Center 1 (cc1) - Try" in details
    for said in (menu, plans, details):
        assert not any(label in said for label in BUYING), said
        assert "Upgrade cc1" not in said and "Unsubscribe cc1" not in said


async def test_a_billing_admin_is_offered_every_action(open_console: ChatFactory) -> None:
    admin = await open_console()
    menu = await admin.say("/cancel")
    assert all(label in menu for label in ("Plans", "My subscription", *BUYING))
    assert "[1] Upgrade or buy" in await admin.say("/plans")
    await admin.say("/trial", "Contact Center 1")
    details = await admin.say("/subscription")
    assert "Upgrade cc1" in details and "Unsubscribe cc1" in details


async def test_refusals_to_a_member_name_the_billing_admins(open_console: ChatFactory) -> None:
    await open_console(user="alice")
    await open_console(user="carol")
    member = await open_console(user="bob", role="member")
    for command in ("/upgrade", "/trial", "/unsubscribe"):
        text = await member.say(command)
        assert "Only the workspace's billing admins" in text
        assert "Ask one of them: alice, carol." in text, text


async def test_a_refusal_to_an_outsider_names_nobody(open_console: ChatFactory) -> None:
    admin = await open_console(user="alice")
    engine = admin.console.engine
    replies = await engine.handle(Incoming("console", "acme", "x", "mallory", command="upgrade"))
    said = " ".join(getattr(reply, "text", "") for reply in replies)
    assert "Only" in said and "alice" not in said and "Ask one of them" not in said


async def test_added_accounts_are_said_as_more_and_in_all_in_vietnamese_too(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console(language="vi")
    await chat.say(
        "/upgrade", "Contact Center 2", "12 tháng (-15%): 255,00\xa0US$ mỗi tài khoản", "100"
    )
    await chat.say("Tiếp theo", "Thẻ")
    await pay_last_order(services)
    clock.set(at("2026-07-15T10:00:00Z"))
    text = await chat.say("/upgrade", "1", "1", "120")  # the subscription, more accounts
    assert "Số lượng: thêm 20 tài khoản, tổng cộng 120" in text
    assert "Khấu trừ theo thời gian: phần kỳ đã trôi qua: -2.529,04\xa0US$" in text
    text = await chat.say("Tiếp theo", "Thẻ")
    assert "Liên kết: http://planbot.test/sandbox/checkout/ord_" in text
    link = next(line for line in text.splitlines() if line.startswith("Liên kết: "))
    assert parse_order_reference(link).startswith("ord_")


async def test_adding_accounts_with_a_reduction_scheduled_warns_the_renewal_drops(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console()
    await bought(chat, services)
    assert "Scheduled: Contact Center 2, 50 accounts, 12 months" in await reduced(chat)
    clock.set(at("2026-07-15T10:00:00Z"))
    text = await chat.say("/upgrade", "1", "More accounts of Contact Center 2", "120")
    assert "Quantity: 20 more accounts, 120 in all" in text
    assert (
        "A change to Contact Center 2, 50 accounts, 12 months is scheduled for the renewal on "
        "Jan 15, 2027 10:00 UTC: the renewal drops to 50 accounts, so the accounts added now "
        "last only until then. Withdraw the change from /subscription to keep them."
    ) in text


async def test_a_change_of_plan_says_it_withdraws_the_scheduled_downgrade(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await bought(chat, services)
    await reduced(chat)
    text = await chat.say("/upgrade", "1", "Upgrade to Contact Center 3", "4", "100")
    assert (
        "Paying this withdraws the change to Contact Center 2, 50 accounts, 12 months "
        "scheduled for Jan 15, 2027 10:00 UTC."
    ) in text
    text = await chat.say("Back", "Back", "Back", "Fewer accounts from the renewal", "40")
    assert "This replaces the change to Contact Center 2, 50 accounts, 12 months" in text


async def test_unsubscribing_with_a_downgrade_scheduled_says_the_end_comes_instead(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await bought(chat, services)
    await reduced(chat)
    text = await chat.say("/unsubscribe")
    assert "Unsubscribe from Contact Center 2?" in text
    assert (
        "A change to Contact Center 2, 50 accounts, 12 months is scheduled for Jan 15, 2027 "
        "10:00 UTC: unsubscribing ends Contact Center 2 then instead. If you resume, the "
        "change is scheduled again."
    ) in text
    text = await chat.say("Unsubscribe")
    assert "Contact Center 2 will end on Jan 15, 2027 10:00 UTC" in text


async def test_a_review_says_nothing_of_changes_when_none_is_scheduled(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await bought(chat, services)
    text = await chat.say("/upgrade", "1", "More accounts of Contact Center 2", "120")
    assert "Total = Price per account × Quantity = $255.00 × 20 = $5,100.00" in text
    assert "scheduled" not in text and "set to end" not in text


async def test_a_bank_transfer_is_told_where_to_find_how_to_pay(open_console: ChatFactory) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 1", "1 month: $15.00 per account", "3", "Next")
    text = await chat.say("Bank transfer")
    assert "The payment page says how to pay by bank transfer." in text
    assert "Link: http://planbot.test/sandbox/checkout/ord_" in text
