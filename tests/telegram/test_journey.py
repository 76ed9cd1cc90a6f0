"""The whole product in Telegram through PTB and the fake Bot API, by polling and by webhook."""

from __future__ import annotations

from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment
from core.model import Member, Order, Subscription
from core.services.context import Context
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi

OWNER = 1001


async def last_order(services: Context) -> Order:
    async with services.db.unit_of_work() as session:
        found = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert found is not None
        return found


async def create_workspace(tg: Telegram, user: int = OWNER, name: str = "Acme") -> None:
    text = await tg.say(user, "/start")
    assert "You are not in a workspace yet" in text
    text = await tg.tap(user, "Create a workspace")
    assert "Send me the name of the new workspace" in text
    text = await tg.say(user, name)
    assert "is ready, and you are its owner and billing admin" in text


async def test_a_new_user_creates_a_workspace_buys_and_is_told_of_the_payment(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg, name="Acme <b>&</b> Co")
    assert "Your workspace Acme <b>&</b> Co is ready" in api.texts(OWNER)[-1]
    async with services.db.unit_of_work() as session:
        member = await session.scalar(select(Member))
    assert member is not None and (member.user_id, member.role) == (str(OWNER), "owner")

    text = await tg.say(OWNER, "/trial")
    assert "Which package would you like to try?" in text
    text = await tg.tap(OWNER, "Contact Center 2")
    assert "Your trial of Contact Center 2 has started" in text

    await tg.say(OWNER, "/upgrade")
    text = await tg.tap(OWNER, "Contact Center 2")
    await tg.tap(OWNER, "12 months (-15%): $255.00 per account")
    text = await tg.say(OWNER, "100")
    assert "Total: $25,500.00" in text
    await tg.tap(OWNER, "Next")
    text = await tg.tap(OWNER, "Card")
    order = await last_order(services)
    assert f"/sandbox/checkout/{order.reference}" in text
    assert order.chat_platform == "telegram" and order.chat_id == str(OWNER)

    await complete_sandbox_payment(services, order.reference, fail=False)
    assert tg.bot is not None
    assert await tg.bot.deliver_notices() == 1
    assert f"Payment received for order {order.reference}" in api.texts(OWNER)[-1]
    assert await tg.bot.deliver_notices() == 0
    async with services.db.unit_of_work() as session:
        sub = await session.scalar(select(Subscription))
    assert sub is not None and (sub.state, sub.quantity) == ("active", 100)

    # Every menu was edited in place, every tap answered, every button within 64 bytes.
    assert api.made("editMessageText")
    assert len(api.made("answerCallbackQuery")) == sum(
        1 for u in api.updates if "callback_query" in u
    )
    commands = api.made("setMyCommands")
    assert {c.get("language_code") for c in commands} == {None, "en", "vi"}
    assert any(c["command"] == "upgrade" for c in commands[0]["commands"])


async def test_commands_in_vietnamese(tg: Telegram, api: FakeBotApi) -> None:
    text = await tg.say(OWNER, "/start", language="vi")
    assert "Bạn chưa thuộc không gian làm việc nào" in text
    vi = next(c for c in api.made("setMyCommands") if c.get("language_code") == "vi")
    assert any("gói" in c["description"] for c in vi["commands"])


async def test_a_restart_in_the_middle_of_a_flow_continues_where_it_was(
    tg: Telegram, api: FakeBotApi
) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    await tg.tap(OWNER, "Contact Center 2")
    await tg.restart()
    text = await tg.tap(OWNER, "1 month: $25.00 per account")
    assert "How many accounts" in text
    text = await tg.say(OWNER, "5")
    assert "Total: $125.00" in text
