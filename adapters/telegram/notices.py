"""Notices on Telegram: each rendered in its chat's language and sent once, PTB's answers and
errors mapped to outcomes (DESIGN 14): blocked or gone is failed, flood control and a request
that never left are retried, a request that left with no answer is unknown, never resent."""

from __future__ import annotations

from datetime import timedelta

import httpx
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from adapters.telegram.delivery import retry_seconds, send_once
from adapters.telegram.render import compose
from bot.notices import notice_replies, notice_translator
from core.services.context import Context
from core.services.notice_checks import Ready
from core.services.notice_sender import BeforeRequest
from core.services.outbox import Failed, Outcome, RetryLater, Sent, Unknown

NO_OWNER = 0
"""The owner of buttons anyone in the chat may tap."""
NOT_SENT_WAIT = timedelta(seconds=5)
"""How long a notice whose request never left waits before it is tried again."""
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""httpx errors raised before a byte of the request was sent (PTB wraps them in
NetworkError / TimedOut and keeps them as the cause)."""


class TelegramNotices:
    """The Transport of the bot's notice sender."""

    def __init__(self, ctx: Context, bot: Bot) -> None:
        self.ctx = ctx
        self.bot = bot

    async def send(self, ready: Ready, before_request: BeforeRequest) -> Outcome:
        notice = ready.notice
        if notice.chat_id is None:
            return Failed("no recipient")
        t = notice_translator(self.ctx.staff, notice, ready.locale, ready.timezone)
        messages = compose(notice_replies(t, self.ctx.catalog, notice), NO_OWNER)
        for n, message in enumerate(messages):
            await before_request()
            try:
                await send_once(self.bot, notice.chat_id, message)
            except TelegramError as exc:
                outcome = outcome_of(exc)
                if n and isinstance(outcome, RetryLater):
                    return Unknown(f"sent in part ({n} of {len(messages)}): {outcome.error}")
                return outcome
        return Sent()


def outcome_of(error: TelegramError) -> Outcome:
    """What a failed sendMessage means for the notice."""
    text = f"{type(error).__name__}: {error.message}"
    if isinstance(error, RetryAfter):
        return RetryLater(timedelta(seconds=retry_seconds(error)), text)
    if isinstance(error, Forbidden | BadRequest | ChatMigrated):
        return Failed(text)  # blocked, kicked, chat not found, or refused as it stands
    if isinstance(error, NetworkError):  # TimedOut is one too
        if isinstance(error.__cause__, _NEVER_LEFT):
            return RetryLater(NOT_SENT_WAIT, f"{text} (before the request left)")
        return Unknown(text)  # timed out or cut off after the request left
    return Failed(text)
