"""Telegram's rules: stale buttons, double taps, blocked users, no-op edits, flood control,
callback data within 64 bytes."""

from __future__ import annotations

import asyncio

import pytest

from adapters.telegram.render import CALLBACK_LIMIT, CallbackTooLong, decode_tap, encode_tap
from bot.vocabulary import Tap
from core.model import Conversation
from core.services.context import Context
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_journey import OWNER, create_workspace


def test_callback_data_carries_the_version_and_the_owner_within_64_bytes() -> None:
    data = encode_tap(12, "package:cc2", 7_000_000_001)
    assert len(data.encode()) <= CALLBACK_LIMIT
    assert decode_tap(data) == (Tap("package:cc2", 12), 7_000_000_001)
    for junk in (None, "", "x", "1", "a.b:c", ":x", "1.%%:x"):
        assert decode_tap(junk)[1] is None
    with pytest.raises(CallbackTooLong):
        encode_tap(1, "x" * 61, 1)


async def test_a_stale_button_gets_a_fresh_menu_and_changes_nothing(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    old_id, old = api.menu(OWNER)
    await tg.tap(OWNER, "Contact Center 2")
    text = await tg.deliver_tap(OWNER, old["Contact Center 3"], old_id)
    assert "This menu is out of date; here is the current one." in text
    text = await tg.tap(OWNER, "1 month: $25.00 per account")
    assert "How many accounts" in text


async def test_two_updates_from_the_same_user_at_once_advance_once(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    message_id, buttons = api.menu(OWNER)
    first = tg.callback(OWNER, buttons["Contact Center 2"], message_id)
    second = tg.callback(OWNER, buttons["Contact Center 3"], message_id)
    await asyncio.gather(tg.deliver(first), tg.deliver(second))
    async with services.db.unit_of_work() as session:
        conversation = await session.get(Conversation, 1)
        assert conversation is not None
    assert conversation.step == "cycle"
    # One of them won; the other was told, and nothing moved twice.
    assert conversation.data.get("package") in ("cc2", "cc3")
    assert len(api.made("answerCallbackQuery")) >= 3


async def test_a_blocked_user_is_skipped_without_failing(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg)
    api.blocked.add(OWNER)
    assert await tg.say(OWNER, "/plans") == ""
    api.blocked.clear()
    assert "Service packages" in await tg.say(OWNER, "/plans")


async def test_an_identical_edit_counts_as_success(tg: Telegram, api: FakeBotApi) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/language")
    message_id, buttons = api.menu(OWNER)
    sent = len(api.made("sendMessage"))
    await tg.deliver(tg.callback(OWNER, buttons["English"], message_id))
    # The same answer again: Telegram says "message is not modified"; nothing is resent.
    await tg.deliver(tg.callback(OWNER, buttons["English"], message_id))
    assert api.made("sendMessage")[sent:] == [] or all(
        "out of date" in p["text"] for p in api.made("sendMessage")[sent:]
    )


async def test_an_edit_refused_sends_a_new_message(tg: Telegram, api: FakeBotApi) -> None:
    await create_workspace(tg)
    await tg.say(OWNER, "/upgrade")
    api.fail_edits = 1
    sent = len(api.made("sendMessage"))
    text = await tg.tap(OWNER, "Contact Center 2")
    assert "1 month: $25.00 per account" in str(api.menu(OWNER)[1])
    assert len(api.made("sendMessage")) == sent + 1
    assert text


async def test_flood_control_is_waited_out(tg: Telegram, api: FakeBotApi) -> None:
    await create_workspace(tg)
    api.flood["sendMessage"] = 1
    text = await tg.say(OWNER, "/plans")
    assert "Service packages" in text
    statuses = [c.params.get("_ok", False) for c in api.calls if c.method == "sendMessage"]
    assert statuses[-2:] == [False, True]


async def test_every_menu_button_fits_in_64_bytes(tg: Telegram, api: FakeBotApi) -> None:
    await create_workspace(tg)
    for command in ("/plans", "/upgrade", "/trial", "/language", "/invite", "/subscription"):
        await tg.say(OWNER, command)
    for message in api.messages.values():
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                assert len(button.get("callback_data", "").encode()) <= CALLBACK_LIMIT
