"""Starting Slack: HTTP mode (/slack/events in the web app) or Socket Mode (SLACK_APP_TOKEN),
for the one workspace whose bot token is SLACK_BOT_TOKEN or for every workspace that
installs the app through OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import uvicorn
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from adapters.settings import Settings
from adapters.slack.bot import SlackBot, build_app
from adapters.slack.http import EVENTS_PATH, oauth_routes, slack_routes
from adapters.slack.oauth import oauth_settings
from adapters.web import create_app
from adapters.wiring import payment_routes
from core.services.context import Context

log = logging.getLogger("planbot.slack")
NOTICE_POLL_SECONDS = 1.0


class SlackSetupError(ValueError):
    """Slack is configured in a way that cannot work; the message says what to set."""


def slack_configured(settings: Settings) -> bool:
    return any(
        (
            settings.SLACK_BOT_TOKEN,
            settings.SLACK_APP_TOKEN,
            settings.SLACK_CLIENT_ID,
            settings.SLACK_CLIENT_SECRET,
        )
    )


def check_slack(settings: Settings, *, socket: bool) -> None:
    """A bot token (one workspace) or the client id and secret (OAuth install); the signing
    secret for HTTP mode, the app token for Socket Mode."""
    oauth = bool(settings.SLACK_CLIENT_ID or settings.SLACK_CLIENT_SECRET)
    if oauth and not (settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET):
        raise SlackSetupError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (OAuth)")
    if not settings.SLACK_BOT_TOKEN and not oauth:
        raise SlackSetupError(
            "SLACK_BOT_TOKEN (xoxb-..., one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (installation through OAuth) is required"
        )
    if socket and not settings.SLACK_APP_TOKEN:
        raise SlackSetupError("SLACK_APP_TOKEN (xapp-...) is required for Socket Mode")
    if not socket and not settings.SLACK_SIGNING_SECRET:
        raise SlackSetupError(
            "SLACK_SIGNING_SECRET is required to serve /slack/events (or set SLACK_APP_TOKEN "
            "for Socket Mode)"
        )


async def build_bot(ctx: Context, settings: Settings, *, socket: bool) -> SlackBot:
    """One workspace by its bot token, or every installing workspace when OAuth is set."""
    check_slack(settings, socket=socket)
    oauth, installations = None, None
    if not settings.SLACK_BOT_TOKEN:
        assert settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET
        oauth, installations = await oauth_settings(
            ctx.db.engine, settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET
        )
    app = build_app(
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        token=settings.SLACK_BOT_TOKEN,
        api_url=settings.SLACK_API_URL,
        request_verification=not socket,
        oauth=oauth,
    )
    return SlackBot(
        ctx,
        app,
        command=settings.SLACK_COMMAND,
        support_staff=settings.support_staff,
        installations=installations,
    )


async def _stop(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def http_mode(
    ctx: Context, settings: Settings, background: Sequence[asyncio.Task[Any]] = ()
) -> None:
    """The web app with /slack/events beside the payment endpoints, and notice delivery."""
    bot = await build_bot(ctx, settings, socket=False)
    assert settings.SLACK_SIGNING_SECRET is not None
    routes = [*slack_routes(bot, settings.SLACK_SIGNING_SECRET), *payment_routes(ctx, settings)]
    config = uvicorn.Config(
        create_app(ctx, routes=routes), host=settings.PLANBOT_HOST, port=settings.PLANBOT_PORT
    )
    await bot.open()
    notices = asyncio.create_task(bot.notices_forever(NOTICE_POLL_SECONDS))
    print(
        f"planbot on Slack (HTTP mode): request URL {settings.public_url}{EVENTS_PATH}, "
        f"command {bot.command}"
        + (f", install at {settings.public_url}/slack/install" if bot.installations else "")
        + ". Stop with Ctrl-C.",
        flush=True,
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await _stop([notices, *background])
        await bot.close()


async def socket_mode(
    ctx: Context, settings: Settings, background: Sequence[asyncio.Task[Any]] = ()
) -> None:
    """Slack over a WebSocket (no public URL needed), beside the web app for payment pages
    and, with OAuth, the install pages."""
    bot = await build_bot(ctx, settings, socket=True)
    assert settings.SLACK_APP_TOKEN is not None
    handler = AsyncSocketModeHandler(bot.app, settings.SLACK_APP_TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx, routes=[*oauth_routes(bot), *payment_routes(ctx, settings)]),
            host=settings.PLANBOT_HOST,
            port=settings.PLANBOT_PORT,
            log_level="warning",
        )
    )
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await bot.open()
    notices = asyncio.create_task(bot.notices_forever(NOTICE_POLL_SECONDS))
    print(
        f"planbot on Slack (Socket Mode), command {bot.command}. "
        f"Payment links open {settings.public_url}"
        + (f", install at {settings.public_url}/slack/install" if bot.installations else "")
        + ". Stop with Ctrl-C.",
        flush=True,
    )
    try:
        await server.serve()
    finally:
        await _stop([notices, *background])
        await handler.close_async()  # type: ignore[no-untyped-call]
        await bot.close()
