"""`planbot run`: migrate, then start what is configured (with no credentials: the console
chat, the local web server for the sandbox checkout, and the sweep)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sys
from pathlib import Path
from typing import TextIO

import uvicorn
from asyncpg import InterfaceError, PostgresError  # type: ignore[import-untyped]

from adapters.console import open_chat
from adapters.launch import Launch, run_launches
from adapters.repeat import repeat
from adapters.settings import Settings, load_settings
from adapters.slack.modes import slack_configured
from adapters.stopping import Server, run_until_stopped
from adapters.web import create_app
from adapters.wiring import build_context, payment_routes, warn_if_no_staff_chat
from core.clock import format_iso
from core.migrate import upgrade
from core.services.context import Context
from core.services.database import StorageError, printable_url
from core.services.sweep import sweep

log = logging.getLogger("planbot")
SWEEP_EVERY_SECONDS = 60
DEMO_WORKSPACE, DEMO_USER = "demo", "you"
GRACE_SECONDS = 5
"""How long a stopping web server waits for the requests in flight."""


class NotAvailable(Exception):
    """What is configured cannot start (an adapter, the port, the database): one line, exit 2."""


def listen(settings: Settings) -> socket.socket:
    """The web server's socket, bound before anything starts, so a port in use is one line."""
    host, port = settings.PLANBOT_HOST, settings.PLANBOT_PORT
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise NotAvailable(f"PLANBOT_HOST {host!r} is not an address: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise NotAvailable(_cannot_listen(host, port, exc)) from exc
    return sock


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use: stop what is using it, "
            f"or set PLANBOT_PORT to a free port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: not an address of this machine (set PLANBOT_HOST)"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port} (set PLANBOT_PORT to 1024 or above)"
    return f"cannot listen on {host}:{port} (PLANBOT_HOST, PLANBOT_PORT): {exc.strerror}"


def check_port(settings: Settings) -> None:
    """For the servers that bind the port themselves: refuse a port in use up front."""
    listen(settings).close()


def migrate(settings: Settings) -> None:
    """Bring the database up to date; one that cannot be opened is one line, not a traceback."""
    folder = _sqlite_folder(settings.DATABASE_URL)
    if folder is not None and not folder.is_dir():
        raise NotAvailable(
            f"cannot open the database {printable_url(settings.DATABASE_URL)} (DATABASE_URL): "
            f"there is no folder {folder}"
        )
    try:
        upgrade(settings.DATABASE_URL)
    except (StorageError, OSError, PostgresError, InterfaceError) as exc:
        reason = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        raise NotAvailable(
            f"cannot open the database {printable_url(settings.DATABASE_URL)} "
            f"(DATABASE_URL): {reason}"
        ) from exc


def _sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite database file (None for other databases and in-memory ones)."""
    scheme, found, rest = url.partition(":///")
    path = rest.partition("?")[0]
    if not found or scheme.partition("+")[0] != "sqlite" or path in ("", ":memory:"):
        return None
    return Path(path).parent


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
    warn_if_no_staff_chat(settings.staff())


async def sweep_once(ctx: Context) -> None:
    report = await sweep(ctx)
    if report.counts:
        log.info("sweep: %s", dict(report.counts))


async def sweep_forever(ctx: Context) -> None:
    await repeat(lambda: sweep_once(ctx), SWEEP_EVERY_SECONDS, "the sweep")


async def console_mode(
    ctx: Context, settings: Settings, source: TextIO, listener: socket.socket
) -> None:
    """The whole product in this terminal, with the sandbox checkout page beside it."""
    config = uvicorn.Config(
        create_app(ctx, routes=payment_routes(ctx, settings)),
        host=settings.PLANBOT_HOST,
        port=settings.PLANBOT_PORT,
        log_level="warning",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = Server(config)
    web = asyncio.create_task(server.serve(sockets=[listener]))
    sweeper = asyncio.create_task(sweep_forever(ctx))
    try:
        chat = await open_chat(
            ctx,
            workspace=DEMO_WORKSPACE,
            user=DEMO_USER,
            role="admin",
            language="en",
        )
        links = (
            "Payment links are Stripe Checkout pages.\n"
            if settings.STRIPE_SECRET_KEY
            else f"Payment links open the sandbox checkout at {settings.public_url}.\n"
        )
        print(
            f"planbot console: workspace '{DEMO_WORKSPACE}', you are its billing admin.\n"
            f"{links}"
            "Type /help for the commands; end with Ctrl-D (Ctrl-C stops planbot).",
            flush=True,
        )
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
    """Everything is checked before anything changes: settings, platforms, catalog, port."""
    settings = load_settings()
    check_platforms(settings)
    ctx = build_context(settings)
    with listen(settings) as listener:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        migrate(settings)
        announce(settings)
        if slack_configured(settings) or settings.TELEGRAM_BOT_TOKEN:
            listener.close()
            run_until_stopped(platforms_mode(ctx, settings))
        else:
            run_until_stopped(console_mode(ctx, settings, sys.stdin, listener))
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


async def platforms_mode(ctx: Context, settings: Settings) -> None:
    """`planbot run` with Slack or Telegram (or both) configured: one process for all."""
    try:
        await run_launches(ctx, settings, await platform_launches(ctx, settings, serving=False))
    finally:
        await ctx.db.dispose()
