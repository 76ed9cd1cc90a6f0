"""Starting Telegram: the Application from settings, long polling (`planbot run`) or the
webhook (`planbot serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import uvicorn
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from adapters.settings import Settings
from adapters.telegram.bot import TelegramBot
from adapters.telegram.webhook import WEBHOOK_PATH, webhook_route
from adapters.web import create_app
from adapters.wiring import payment_routes
from core.services.context import Context

log = logging.getLogger("planbot.telegram")
NOTICE_POLL_SECONDS = 1.0
CONCURRENT_UPDATES = 256
CONNECTIONS = 8
POOL_TIMEOUT_SECONDS = 30.0


class TelegramSetupError(ValueError):
    """Telegram is configured in a way that cannot work; the message says what to set."""


def build_application(
    token: str, api_base_url: str, *, polling: bool
) -> Application[Any, Any, Any, Any, Any, Any]:
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
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def build_bot(ctx: Context, settings: Settings, *, polling: bool) -> TelegramBot:
    if not settings.TELEGRAM_BOT_TOKEN:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    application = build_application(
        settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE_URL, polling=polling
    )
    return TelegramBot(ctx, application, support_staff=settings.support_staff)


async def start_polling(bot: TelegramBot, *, poll_seconds: int = 10) -> None:
    """Initialize, drop any webhook (PTB does it), and fetch updates with getUpdates."""
    await bot.initialize()
    await bot.application.start()
    updater = bot.application.updater
    assert updater is not None
    await updater.start_polling(
        timeout=poll_seconds, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )


async def stop_polling(bot: TelegramBot) -> None:
    updater = bot.application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if bot.application.running:
        await bot.application.stop()
    await bot.application.shutdown()


async def polling_mode(
    ctx: Context, settings: Settings, background: list[asyncio.Task[Any]]
) -> None:
    """`planbot run` with a token: the bot by long polling, beside the web app and the sweep."""
    bot = build_bot(ctx, settings, polling=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx, routes=payment_routes(ctx, settings)),
            host=settings.PLANBOT_HOST,
            port=settings.PLANBOT_PORT,
            log_level="warning",
        )
    )
    await start_polling(bot)
    notices = asyncio.create_task(bot.notices_forever(NOTICE_POLL_SECONDS))
    print(
        f"planbot on Telegram as @{bot.username} (long polling). "
        f"Payment links open {settings.public_url}. Stop with Ctrl-C.",
        flush=True,
    )
    try:
        await server.serve()  # returns on Ctrl-C
    finally:
        for task in (notices, *background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stop_polling(bot)


async def webhook_mode(ctx: Context, settings: Settings) -> None:
    """`planbot serve` with a token: the web app with /telegram/webhook, registered if public."""
    if not settings.TELEGRAM_WEBHOOK_SECRET:
        raise TelegramSetupError(
            "TELEGRAM_WEBHOOK_SECRET is required to serve the Telegram webhook"
        )
    bot = build_bot(ctx, settings, polling=False)
    routes = [webhook_route(bot, settings.TELEGRAM_WEBHOOK_SECRET), *payment_routes(ctx, settings)]
    app = create_app(ctx, routes=routes)
    await bot.initialize()
    url = settings.public_url + WEBHOOK_PATH
    if url.startswith("https://"):
        await bot.application.bot.set_webhook(
            url, secret_token=settings.TELEGRAM_WEBHOOK_SECRET, allowed_updates=Update.ALL_TYPES
        )
        log.info("Telegram webhook set to %s", url)
    else:
        log.warning("PLANBOT_PUBLIC_URL is not https: set the Telegram webhook yourself")
    notices = asyncio.create_task(bot.notices_forever(NOTICE_POLL_SECONDS))
    config = uvicorn.Config(app, host=settings.PLANBOT_HOST, port=settings.PLANBOT_PORT)
    try:
        await uvicorn.Server(config).serve()
    finally:
        notices.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notices
        await bot.application.shutdown()
