"""Starting Telegram: the Application from settings, long polling (`planbot run`) or the
webhook (`planbot serve`)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from adapters.launch import Launch
from adapters.settings import Settings
from adapters.telegram.bot import TelegramBot
from adapters.telegram.webhook import WEBHOOK_PATH, webhook_route
from core.services.context import Context

log = logging.getLogger("planbot.telegram")
NOTICE_POLL_SECONDS = 1.0
CONCURRENT_UPDATES = 256
CONNECTIONS = 8
POOL_TIMEOUT_SECONDS = 30.0


class TelegramSetupError(ValueError):
    """Telegram is configured in a way that cannot work; the message says what to set."""


def build_application(
    token: str, api_base_url: str, *, polling: bool, paced: bool = True
) -> Application[Any, Any, Any, Any, Any, Any]:
    """PTB's Application on the Bot API at `api_base_url`; `paced` keeps it within
    Telegram's flood limits (about 30 messages/s overall, 20 a minute in each group)."""
    api = api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(CONCURRENT_UPDATES)
        # PTB's default pool holds one connection: every reply would queue behind the last.
        .connection_pool_size(CONNECTIONS)
        .pool_timeout(POOL_TIMEOUT_SECONDS)
    )
    if paced:
        # Throttling only: a RetryAfter is still retried by the adapter's own delivery.
        limiter: Any = AIORateLimiter(max_retries=0)  # the builder's generics predate it
        builder = builder.rate_limiter(limiter)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def build_bot(ctx: Context, settings: Settings, *, polling: bool) -> TelegramBot:
    if not settings.TELEGRAM_BOT_TOKEN:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    application = build_application(
        settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE_URL, polling=polling
    )
    return TelegramBot(ctx, application)


async def start_polling(bot: TelegramBot, *, poll_seconds: int = 10) -> None:
    """Initialize, drop any webhook (PTB does it), and fetch updates with getUpdates; after a
    failure (Telegram unreachable) it is called again and goes on from where it stopped."""
    await bot.initialize()
    if not bot.application.running:
        await bot.application.start()
    updater = bot.application.updater
    assert updater is not None
    if not updater.running:
        await updater.start_polling(
            timeout=poll_seconds, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )


async def shut_down(bot: TelegramBot) -> None:
    """Release the HTTP connections, also those of a start that never got through getMe
    (PTB's Application skips its shutdown when it was never initialized), and give up the
    notice sender's lease."""
    await bot.let_go_of_notices()
    await bot.application.shutdown()
    await bot.application.bot.shutdown()


async def stop_polling(bot: TelegramBot) -> None:
    updater = bot.application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if bot.application.running:
        await bot.application.stop()
    await shut_down(bot)


def polling_launch(ctx: Context, settings: Settings) -> Launch:
    """`planbot run` with a token: the bot by long polling beside the web app."""
    bot = build_bot(ctx, settings, polling=True)

    async def started() -> None:
        await start_polling(bot)
        launch.banner = f"planbot on Telegram as @{bot.username} (long polling)."

    launch = Launch(
        "Telegram",
        start=[started],
        stop=[lambda: stop_polling(bot)],
        jobs=[(bot.deliver_notices, NOTICE_POLL_SECONDS)],
        secrets=(settings.TELEGRAM_BOT_TOKEN or "",),
    )
    return launch


def webhook_launch(ctx: Context, settings: Settings) -> Launch:
    """`planbot serve` with a token: /telegram/webhook in the web app, registered with
    Telegram when PLANBOT_PUBLIC_URL is https."""
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if not secret:
        raise TelegramSetupError(
            "TELEGRAM_WEBHOOK_SECRET is required to serve the Telegram webhook"
        )
    bot = build_bot(ctx, settings, polling=False)
    url = settings.public_url + WEBHOOK_PATH

    async def started() -> None:
        """getMe, the command menus, then the webhook: each call is safe to make again."""
        await bot.initialize()
        if url.startswith("https://"):
            await bot.application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
            log.info("Telegram webhook set to %s", url)
        else:
            log.warning("PLANBOT_PUBLIC_URL is not https: set the Telegram webhook yourself")

    return Launch(
        "Telegram",
        routes=[webhook_route(bot, secret)],
        start=[started],
        stop=[lambda: shut_down(bot)],
        jobs=[(bot.deliver_notices, NOTICE_POLL_SECONDS)],
        banner=f"planbot on Telegram (webhook at {url}).",
        secrets=(settings.TELEGRAM_BOT_TOKEN or "",),
    )
