"""Talking to the Bot API politely: retry after flood control, edits that may be no-ops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from adapters.telegram.render import Outbound

log = logging.getLogger("planbot.telegram")
T = TypeVar("T")
RETRIES = 3
MAX_WAIT_SECONDS = 60.0


def retry_seconds(error: RetryAfter) -> float:
    value: int | timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting as Telegram asks when flood control answers 429."""
    for attempt in range(RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == RETRIES:
                raise
            wait = min(retry_seconds(exc), MAX_WAIT_SECONDS)
            log.warning("flood control: retrying in %.1f s", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def is_not_modified(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()


async def send(bot: Bot, chat_id: int | str, message: Outbound) -> Message:
    return await with_retry(lambda: send_once(bot, chat_id, message))


async def send_once(bot: Bot, chat_id: int | str, message: Outbound) -> Message:
    """One sendMessage, no retry: for a caller that decides what a failure means."""
    return await bot.send_message(
        chat_id,
        message.html,
        parse_mode=ParseMode.HTML,
        reply_markup=message.markup,
        disable_web_page_preview=True,
    )


async def send_photo(bot: Bot, chat_id: int | str, message: Outbound) -> Message:
    """Upload a picture with its caption (a private chat or a group alike)."""
    photo = message.photo
    assert photo is not None
    return await with_retry(
        lambda: bot.send_photo(
            chat_id,
            photo.png,
            caption=message.html,
            parse_mode=ParseMode.HTML,
            filename=photo.filename,
        )
    )


async def edit(bot: Bot, chat_id: int | str, message_id: int, message: Outbound) -> bool:
    """Edit a menu in place (no keyboard given: the keyboard goes). False: send anew instead.

    Telegram's "message is not modified" means the menu already shows this: success.
    """

    async def call() -> object:
        return await bot.edit_message_text(
            message.html,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
            disable_web_page_preview=True,
        )

    try:
        await with_retry(call)
    except BadRequest as exc:
        if is_not_modified(exc):
            return True
        log.info("could not edit message %s in %s: %s", message_id, chat_id, exc.message)
        return False
    return True


async def remove_keyboard(bot: Bot, chat_id: int | str, message_id: int) -> None:
    async def call() -> object:
        return await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=InlineKeyboardMarkup([])
        )

    try:
        await with_retry(call)
    except BadRequest as exc:
        if not is_not_modified(exc):
            log.info("could not clear the keyboard of %s: %s", message_id, exc.message)
