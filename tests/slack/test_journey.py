"""The whole product in Slack through Bolt's HTTP mode and the fake Web API."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment
from core.model import Member, Order, Subscription
from core.services.context import Context
from tests.slack.conftest import CHANNEL, Slack, buttons, text_of
from tests.slack.fake_api import TEAM, FakeSlackApi

ADMIN, MEMBER = "UADMIN", "UMEMBER"


async def last_order(services: Context) -> Order:
    async with services.db.unit_of_work() as session:
        found = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert found is not None
        return found


async def test_an_admin_tries_buys_through_the_modal_and_is_told_of_the_payment(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    text = await slack.command(ADMIN)
    assert "Contact Center 2 (cc2): $25.00 per account per month" in text
    async with services.db.unit_of_work() as session:
        member = await session.scalar(select(Member))
    assert member is not None and (member.user_id, member.role) == (ADMIN, "admin")

    text = await slack.command(ADMIN, "trial")
    assert "Which package would you like to try?" in text
    text = await slack.tap(ADMIN, "Contact Center 2")
    assert "Your trial of Contact Center 2 has started" in text

    await slack.command(ADMIN, "upgrade")
    await slack.tap(ADMIN, "Contact Center 2")
    text = await slack.tap(ADMIN, "12 months (-15%): $255.00 per account")
    menu = slack.latest(ADMIN)
    assert any(b["action_id"] == "planbot_number" for b in buttons(menu).values())

    view = await slack.open_number(ADMIN)
    assert view["type"] == "modal"
    element = view["blocks"][0]["element"]
    assert element["type"] == "number_input" and element["is_decimal_allowed"] is False
    response, text = await slack.submit(ADMIN, view, "100")
    assert response.status_code == 200 and not response.content
    assert "$25,500.00" in text
    await slack.tap(ADMIN, "Next")
    text = await slack.tap(ADMIN, "Card")
    order = await last_order(services)
    assert f"/sandbox/checkout/{order.reference}" in text
    assert order.chat_platform == "slack" and order.chat_id == f"{CHANNEL}:{ADMIN}"

    await complete_sandbox_payment(services, order.reference, fail=False)
    assert slack.bot is not None
    assert await slack.bot.deliver_notices() == 1
    notice = api.made("chat.postMessage")[-1]
    assert notice["channel"] == ADMIN
    async with services.db.unit_of_work() as session:
        subscription = await session.scalar(select(Subscription))
    assert subscription is not None and subscription.quantity == 100

    text = await slack.command(ADMIN, "details")
    assert "Contact Center 2" in text
    # Every reply to a channel command was ephemeral: nothing was posted to the channel.
    assert not [m for m in api.made("chat.postMessage") if m["channel"] == CHANNEL]


async def test_a_member_may_look_but_not_buy(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    text = await slack.command(MEMBER)
    assert "Contact Center 1" in text
    async with services.db.unit_of_work() as session:
        member = await session.scalar(select(Member))
    assert member is not None and (member.user_id, member.role) == (MEMBER, "member")
    text = await slack.command(MEMBER, "upgrade")
    assert "admin" in text.lower()
    assert not buttons(api.messages(CHANNEL, MEMBER)[-1]) or "Card" not in text
    async with services.db.unit_of_work() as session:
        assert await session.scalar(select(Order)) is None


async def test_help_and_unknown_subcommands_answer(slack: Slack) -> None:
    assert "/plans upgrade - upgrade" in await slack.command(MEMBER, "help")
    assert await slack.command(MEMBER, "unsubscribe")
    text = await slack.command(MEMBER, "frobnicate")
    assert "Unknown command /plans frobnicate. Send /plans help for the list." in text


async def test_a_tap_on_an_old_menu_is_out_of_date(slack: Slack, api: FakeSlackApi) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "trial")
    old = buttons(slack.latest(ADMIN))["Contact Center 2"]
    await slack.command(ADMIN, "upgrade")
    text = await slack.press(ADMIN, old)
    assert "This menu is out of date" in text


async def test_a_static_select_carries_many_choices(slack: Slack, api: FakeSlackApi) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "upgrade")
    menu = slack.latest(ADMIN)
    kinds = {e["type"] for b in menu["blocks"] for e in b.get("elements") or []}
    assert kinds & {"button", "static_select"}


async def test_app_home_shows_the_details_with_buttons(slack: Slack, api: FakeSlackApi) -> None:
    api.admins.add(ADMIN)
    assert slack.bot is not None
    before = slack.bot.done
    response = await slack.post_event(
        {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "APLANBOT",
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": 1768471200,
            "event": {"type": "app_home_opened", "user": ADMIN, "channel": "DHOME", "tab": "home"},
        }
    )
    assert response.status_code == 200
    await slack.settle(before)
    home = api.home(ADMIN)
    assert home["type"] == "home"
    assert "packages" in text_of(home).lower()
    assert buttons(home)
    label = next(iter(buttons(home)))
    text = await slack.tap(ADMIN, label, channel="home")
    assert text


async def test_in_the_apps_direct_messages_menus_are_updated_in_place(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.admins.add(ADMIN)
    assert slack.bot is not None
    text = await slack.command(ADMIN, "trial", channel="DPLANBOT")
    assert "Which package would you like to try?" in text
    posted = api.made("chat.postMessage")
    assert posted and posted[-1]["channel"] == "DPLANBOT"
    assert api.made("chat.postEphemeral") == []
    menu = posted[-1]
    payload = slack.action_payload(ADMIN, buttons(menu)["Contact Center 2"], "DPLANBOT")
    payload["container"]["is_ephemeral"] = False
    before = slack.bot.done
    assert (await slack.post_payload(payload)).status_code == 200
    await slack.settle(before)
    updated = api.made("chat.update")
    assert updated and updated[-1]["channel"] == "DPLANBOT"
    assert "Your trial of Contact Center 2 has started" in text_of(updated[-1])


async def test_a_text_answer_in_direct_messages_reaches_the_flow(
    slack: Slack, api: FakeSlackApi
) -> None:
    assert slack.bot is not None
    before = slack.bot.done
    event = {
        "type": "message",
        "channel": "DPLANBOT",
        "channel_type": "im",
        "user": MEMBER,
        "text": "hello",
        "ts": "1768471200.000100",
    }
    response = await slack.post_event(
        {"team_id": TEAM, "type": "event_callback", "event_id": "Ev2", "event": event}
    )
    assert response.status_code == 200
    await slack.settle(before)
    assert "I can only respond to commands and buttons." in text_of(
        api.made("chat.postMessage")[-1]
    )
    # The bot's own messages are not answered.
    before = slack.bot.done
    bot_event = {**event, "bot_id": "BPLANBOT", "text": "echo"}
    await slack.post_event(
        {"team_id": TEAM, "type": "event_callback", "event_id": "Ev3", "event": bot_event}
    )
    await asyncio.sleep(0.2)
    assert slack.bot.done == before


async def test_an_admin_unsubscribes_and_takes_it_back_from_the_details(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "upgrade")
    await slack.tap(ADMIN, "Contact Center 1")
    await slack.tap(ADMIN, "1 month: $15.00 per account")
    await slack.submit(ADMIN, await slack.open_number(ADMIN), "3")
    await slack.tap(ADMIN, "Next")
    await slack.tap(ADMIN, "Card")
    await complete_sandbox_payment(services, (await last_order(services)).reference, fail=False)

    text = await slack.command(ADMIN, "unsubscribe")
    assert "Unsubscribe from Contact Center 1?" in text and "Stays active until" in text
    text = await slack.tap(ADMIN, "Unsubscribe")
    assert "Contact Center 1 will end on" in text
    await slack.command(ADMIN, "details")
    resume = next(label for label in buttons(slack.latest(ADMIN)) if label.startswith("Resume"))
    await slack.tap(ADMIN, resume)
    text = await slack.tap(ADMIN, "Resume")
    assert "Contact Center 1 will renew as usual." in text
    async with services.db.unit_of_work() as session:
        subscription = await session.scalar(select(Subscription))
    assert subscription is not None and not subscription.cancel_at_period_end
