"""Invites, roles and groups: one conversation per person, billing for billing admins only,
payment links in private, the payment announced where the order began."""

from __future__ import annotations

import re

from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment
from core.model import Member, Order
from core.services.context import Context
from tests.telegram.conftest import GROUP, Telegram
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_journey import OWNER, create_workspace

MEMBER, ADMIN, LATE = 2002, 3003, 4004


async def invite(tg: Telegram, role_label: str) -> str:
    await tg.say(OWNER, "/invite")
    text = await tg.tap(OWNER, role_label)
    found = re.search(r"https://t\.me/planbot_test_bot\?start=([\w-]+)", text)
    assert found, text
    return found.group(1)


async def roles(services: Context) -> dict[str, str]:
    async with services.db.unit_of_work() as session:
        return {m.user_id: m.role for m in await session.scalars(select(Member))}


async def test_an_invite_link_works_once(tg: Telegram, services: Context) -> None:
    await create_workspace(tg)
    code = await invite(tg, "A member (can look)")
    text = await tg.say(MEMBER, f"/start {code}")
    assert "Welcome to Acme: you joined as member" in text
    text = await tg.say(LATE, f"/start {code}")
    assert "That invite link was already used" in text
    assert await roles(services) == {str(OWNER): "owner", str(MEMBER): "member"}
    text = await tg.say(LATE, "/start not-a-code")
    assert "That invite link is not valid" in text


async def test_only_the_owner_invites(tg: Telegram, services: Context) -> None:
    await create_workspace(tg)
    code = await invite(tg, "An admin (can buy and change)")
    await tg.say(ADMIN, f"/start {code}")
    text = await tg.say(ADMIN, "/invite")
    assert "Only the workspace owner can invite people" in text
    assert await roles(services) == {str(OWNER): "owner", str(ADMIN): "admin"}


async def test_in_a_group_a_member_cannot_buy_and_an_admin_gets_the_link_privately(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg)
    await tg.say(MEMBER, f"/start {await invite(tg, 'A member (can look)')}")
    await tg.say(ADMIN, f"/start {await invite(tg, 'An admin (can buy and change)')}")

    text = await tg.say(MEMBER, "/upgrade@planbot_test_bot", chat=GROUP)
    assert "Only the workspace's billing admins (owners and admins) can buy" in text
    text = await tg.say(MEMBER, "/upgrade@another_bot", chat=GROUP)
    assert text == ""

    await tg.say(ADMIN, "/upgrade", chat=GROUP)
    # The member taps the admin's menu: it is not theirs, so nothing of the admin's moves.
    text = await tg.tap(MEMBER, "Contact Center 1", chat=GROUP)
    assert text == ""
    assert api.made("answerCallbackQuery")[-1]["text"].startswith("This menu is someone else")
    await tg.tap(ADMIN, "Contact Center 1", chat=GROUP)
    await tg.tap(ADMIN, "1 month: $15.00 per account", chat=GROUP)
    message_id, _ = api.menu(GROUP)
    text = await tg.say(ADMIN, "3", chat=GROUP, reply_to=message_id)
    assert "Total: $45.00" in text
    await tg.tap(ADMIN, "Next", chat=GROUP)
    text = await tg.tap(ADMIN, "Card", chat=GROUP)
    assert "I sent you the link in a private chat" in text
    assert "/sandbox/checkout/" not in text
    assert "/sandbox/checkout/" in api.texts(ADMIN)[-1]

    async with services.db.unit_of_work() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.chat_id == str(GROUP)
    await complete_sandbox_payment(services, order.reference, fail=False)
    assert tg.bot is not None and await tg.bot.deliver_notices() == 1
    assert f"Payment received for order {order.reference}" in api.texts(GROUP)[-1]


async def test_a_user_who_never_started_the_bot_is_told_how_to_open_a_private_chat(
    tg: Telegram, api: FakeBotApi
) -> None:
    await create_workspace(tg)
    api.never_started.add(OWNER)
    await tg.say(OWNER, "/upgrade", chat=GROUP)
    await tg.tap(OWNER, "Contact Center 1", chat=GROUP)
    await tg.tap(OWNER, "1 month: $15.00 per account", chat=GROUP)
    message_id, _ = api.menu(GROUP)
    await tg.say(OWNER, "2", chat=GROUP, reply_to=message_id)
    await tg.tap(OWNER, "Next", chat=GROUP)
    text = await tg.tap(OWNER, "Card", chat=GROUP)
    assert "I cannot write to you privately yet. Open https://t.me/planbot_test_bot" in text
    assert "/sandbox/checkout/" not in text


async def test_group_chatter_not_addressed_to_the_bot_is_ignored(
    tg: Telegram, api: FakeBotApi
) -> None:
    await create_workspace(tg)
    sent = len(api.made("sendMessage"))
    assert await tg.say(OWNER, "lunch at noon?", chat=GROUP) == ""
    assert len(api.made("sendMessage")) == sent


async def test_a_member_gets_no_buying_buttons_and_is_told_who_the_billing_admins_are(
    tg: Telegram, api: FakeBotApi
) -> None:
    await create_workspace(tg)
    await tg.say(MEMBER, f"/start {await invite(tg, 'A member (can look)')}")
    await tg.say(MEMBER, "/plans")
    _, buttons = api.menu(MEMBER)
    assert list(buttons) == ["My subscription"]
    await tg.say(MEMBER, "/cancel")
    _, buttons = api.menu(MEMBER)
    assert "Upgrade or buy" not in buttons and "Start a trial" not in buttons
    assert "Plans" in buttons and "My subscription" in buttons
    text = await tg.say(MEMBER, "/upgrade")
    assert "Only the workspace's billing admins (owners and admins) can buy" in text
    assert f"Ask one of them: {OWNER}." in text
    await tg.say(OWNER, "/plans")
    assert "Upgrade or buy" in api.menu(OWNER)[1]
