"""`planbot run`: migrate, then start what is configured (with no credentials: the console
chat, the local web server for the sandbox checkout, and the sweep)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TextIO

import uvicorn

from adapters.console import open_chat
from adapters.launch import Launch, run_launches
from adapters.repeat import repeat
from adapters.settings import Settings, load_settings
from adapters.slack.modes import slack_configured
from adapters.web import create_app
from adapters.wiring import build_context, payment_routes
from core.clock import format_iso
from core.migrate import upgrade
from core.services.context import Context
from core.services.database import printable_url
from core.services.sweep import sweep

log = logging.getLogger("planbot")
SWEEP_EVERY_SECONDS = 60
DEMO_WORKSPACE, DEMO_USER = "demo", "you"


class NotAvailable(Exception):
    """A configured adapter that this build cannot start."""


def announce(settings: Settings) -> None:
    """Say what is running (without secrets), and say loudly when the clock is frozen."""
    if settings.PLANBOT_CLOCK is not None:
        print(
            f"PLANBOT_CLOCK is set: planbot's clock is frozen at "
            f"{format_iso(settings.PLANBOT_CLOCK)}",
            file=sys.stderr,
        )
    safe = printable_url(settings.DATABASE_URL)
    print(f"planbot: database {safe}", file=sys.stderr)


async def sweep_once(ctx: Context) -> None:
    report = await sweep(ctx)
    if report.counts:
        log.info("sweep: %s", dict(report.counts))


async def sweep_forever(ctx: Context) -> None:
    await repeat(lambda: sweep_once(ctx), SWEEP_EVERY_SECONDS, "the sweep")


async def console_mode(settings: Settings, source: TextIO) -> None:
    """The whole product in this terminal, with the sandbox checkout page beside it."""
    ctx = build_context(settings)
    config = uvicorn.Config(
        create_app(ctx, routes=payment_routes(ctx, settings)),
        host=settings.PLANBOT_HOST,
        port=settings.PLANBOT_PORT,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    web = asyncio.create_task(server.serve())
    sweeper = asyncio.create_task(sweep_forever(ctx))
    chat = await open_chat(
        ctx,
        workspace=DEMO_WORKSPACE,
        user=DEMO_USER,
        role="admin",
        language="en",
        support_staff=settings.support_staff,
    )
    links = (
        "Payment links are Stripe Checkout pages.\n"
        if settings.STRIPE_SECRET_KEY
        else f"Payment links open the sandbox checkout at {settings.public_url}.\n"
    )
    print(
        f"planbot console: workspace '{DEMO_WORKSPACE}', you are its billing admin.\n"
        f"{links}"
        "Type /help for the commands; end with Ctrl-D.",
        flush=True,
    )
    try:
        await chat.run(source)
    finally:
        server.should_exit = True
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await web
        await ctx.db.dispose()


def check_platforms(settings: Settings) -> None:
    """Slack runs when it is configured completely; what cannot start is refused up front."""
    from adapters.slack.modes import SlackSetupError, check_slack

    if not slack_configured(settings):
        return
    try:
        check_slack(settings, socket=bool(settings.SLACK_APP_TOKEN))
    except SlackSetupError as exc:
        raise NotAvailable(str(exc)) from exc


def run() -> int:
    settings = load_settings()
    check_platforms(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    upgrade(settings.DATABASE_URL)
    announce(settings)
    with contextlib.suppress(KeyboardInterrupt):
        if slack_configured(settings) or settings.TELEGRAM_BOT_TOKEN:
            asyncio.run(platforms_mode(settings))
        else:
            asyncio.run(console_mode(settings, sys.stdin))
    return 0


async def platform_launches(ctx: Context, settings: Settings, *, serving: bool) -> list[Launch]:
    """Every configured platform: for `planbot serve` in HTTP (Slack events, the Telegram
    webhook); for `planbot run` by Socket Mode or polling where set, with the sweep."""
    launches: list[Launch] = []
    if slack_configured(settings):
        from adapters.slack.modes import slack_launch

        socket = not serving and bool(settings.SLACK_APP_TOKEN)
        launches.append(await slack_launch(ctx, settings, socket=socket))
    if settings.TELEGRAM_BOT_TOKEN:
        from adapters.telegram.modes import polling_launch, webhook_launch

        launches.append(webhook_launch(ctx, settings) if serving else polling_launch(ctx, settings))
    if not serving:
        launches.append(Launch("the sweep", jobs=[(lambda: sweep_once(ctx), SWEEP_EVERY_SECONDS)]))
    return launches


async def platforms_mode(settings: Settings) -> None:
    """`planbot run` with Slack or Telegram (or both) configured: one process for all."""
    ctx = build_context(settings)
    try:
        await run_launches(ctx, settings, await platform_launches(ctx, settings, serving=False))
    finally:
        await ctx.db.dispose()
