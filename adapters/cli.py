"""The `planbot` command line: quote, tick, db upgrade, run, serve, sandbox pay."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

from adapters.console import open_chat
from adapters.runner import NotAvailable, announce, check_port, migrate, run
from adapters.sandbox import (
    SandboxReferenceError,
    SandboxResult,
    complete_sandbox_payment,
    parse_order_reference,
)
from adapters.settings import SettingsError, load_settings
from adapters.stopping import run_until_stopped
from adapters.wiring import build_context
from core.catalog import Catalog, CatalogError, load_catalog
from core.clock import TimeFormatError, format_iso, parse_iso
from core.db import DatabaseUrlError
from core.errors import DomainError
from core.pricing import Quote, RunningPeriod, Terms, check_terms, quote
from core.services.sweep import sweep

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input on the command line: one clear line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


def _iso(text: str) -> datetime:
    try:
        return parse_iso(text)
    except TimeFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _whole(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="planbot",
        description="planbot, the conversational billing assistant",
        epilog="The pricing rules, the lifecycle and the roles: docs/rules.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    q = commands.add_parser(
        "quote",
        help="price a new purchase, more accounts, a change or a downgrade, as the chat would",
        description=(
            "Price an order as the chat's review does and print it as one JSON object, amounts "
            "in minor units. Without --current-* it is a new purchase; with them, the running "
            "period they describe is added to, changed or downgraded (docs/rules.md)."
        ),
    )
    q.add_argument("--package", required=True, help="the package wanted (cc1, cc2, ...)")
    q.add_argument("--cycle", type=_whole, required=True, help="billing cycle in months")
    q.add_argument("--quantity", type=_whole, required=True, help="accounts wanted in all")
    q.add_argument("--current-package", help="the package of the running paid period")
    q.add_argument("--current-quantity", type=_whole, help="its accounts")
    q.add_argument("--current-cycle", type=_whole, help="its billing cycle in months")
    q.add_argument("--current-start", type=_iso, help="start of the running paid period")
    q.add_argument("--balance", type=_whole, default=0, help="credit balance in minor units")
    q.add_argument("--at", type=_iso, help="quote time (default: now)")
    q.add_argument("--catalog", help="catalog TOML (default: PLANBOT_CATALOG or the built-in)")
    q.add_argument("--json", action="store_true", help="print one JSON object")

    tick = commands.add_parser("tick", help="run the time-driven sweep once")
    tick.add_argument("--at", type=_iso, help="sweep as of this time (default: now)")

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_commands.add_parser("upgrade", help="apply the migrations")

    commands.add_parser("run", help="start planbot as configured")

    chat = commands.add_parser("chat", help="the console chat on stdin/stdout")
    chat.add_argument(
        "--workspace",
        help="workspace name (made if missing); for staff an existing workspace's name or id",
    )
    chat.add_argument("--user", required=True, help="your user id (made if missing)")
    chat.add_argument("--role", choices=("admin", "member", "staff"), default="admin")
    chat.add_argument("--lang", choices=("en", "vi"), default="en")
    commands.add_parser("serve", help="serve the web app only (PLANBOT_HOST:PLANBOT_PORT)")

    sandbox = commands.add_parser("sandbox", help="sandbox payment provider")
    sandbox_commands = sandbox.add_subparsers(
        dest="sandbox_command", required=True, parser_class=_Parser
    )
    pay = sandbox_commands.add_parser("pay", help="complete (or fail) a sandbox payment")
    pay.add_argument("order", metavar="ORDER", help="order reference or the whole payment link")
    pay.add_argument("--fail", action="store_true", help="make the payment fail instead")
    return parser


def quote_json(q: Quote) -> dict[str, object]:
    return {
        "kind": q.kind.value,
        "currency": q.currency,
        "price_per_account": q.price_per_account,
        "quantity": q.quantity,
        "total": q.total,
        "proration": q.proration,
        "credit": q.credit,
        "balance_applied": q.balance_applied,
        "due_now": q.due_now,
        "balance_after": q.balance_after,
        "period_start": format_iso(q.period_start),
        "period_end": format_iso(q.period_end),
    }


def _current(args: argparse.Namespace, catalog: Catalog) -> RunningPeriod | None:
    given = [args.current_package, args.current_quantity, args.current_cycle, args.current_start]
    if all(v is None for v in given):
        return None
    if any(v is None for v in given):
        raise UsageError(
            "planbot quote: error: --current-package, --current-quantity, --current-cycle and "
            "--current-start go together"
        )
    terms = Terms(args.current_package, args.current_cycle, args.current_quantity)
    try:
        check_terms(catalog, terms)
    except DomainError as exc:
        raise UsageError(f"planbot quote: error: current terms: {exc}") from exc
    return RunningPeriod.starting(terms, args.current_start)


def _catalog(path: str | None) -> Catalog:
    return load_catalog(path or load_settings().PLANBOT_CATALOG)


def cmd_quote(args: argparse.Namespace) -> int:
    catalog = _catalog(args.catalog)
    at = args.at or load_settings().clock().now()
    if args.balance < 0:
        raise UsageError("planbot quote: error: --balance cannot be negative")
    result = quote(
        catalog,
        Terms(args.package, args.cycle, args.quantity),
        _current(args, catalog),
        at,
        args.balance,
    )
    data = quote_json(result)
    if args.json:
        print(json.dumps(data))
    else:
        width = max(len(k) for k in data)
        for key, value in data.items():
            print(f"{key:<{width}}  {value}")
    return 0


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    migrate(load_settings())
    print("database is up to date")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    settings = load_settings()
    migrate(settings)

    async def go() -> dict[str, int]:
        ctx = build_context(settings)
        try:
            report = await sweep(ctx, args.at)
        finally:
            await ctx.db.dispose()
        return dict(report.counts)

    counts = asyncio.run(go())
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing was due"
    print(f"sweep done: {summary}")
    return 0


def cmd_run(_: argparse.Namespace) -> int:
    return run()


def cmd_chat(args: argparse.Namespace) -> int:
    if args.workspace is None and args.role != "staff":
        raise UsageError("planbot chat: error: --workspace is required (except with --role staff)")
    for name in ("workspace", "user"):
        value = getattr(args, name)
        if value is not None and (not value.strip() or len(value) > 60):
            raise UsageError(f"planbot chat: error: --{name} needs 1 to 60 characters")
    settings = load_settings()
    ctx = build_context(settings)
    migrate(settings)
    announce(settings)

    async def go() -> None:
        try:
            chat = await open_chat(
                ctx,
                workspace=None if args.workspace is None else args.workspace.strip(),
                user=args.user.strip(),
                role=args.role,
                language=args.lang,
            )
            await chat.run(sys.stdin)
        finally:
            await ctx.db.dispose()

    run_until_stopped(go())
    return 0


def cmd_serve(_: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.TELEGRAM_BOT_TOKEN and not settings.TELEGRAM_WEBHOOK_SECRET:
        raise UsageError(
            "planbot serve: error: TELEGRAM_WEBHOOK_SECRET is required to serve the Telegram "
            "webhook (or unset TELEGRAM_BOT_TOKEN)"
        )
    from adapters.slack.modes import SlackSetupError, check_slack, slack_configured

    if slack_configured(settings):
        try:
            check_slack(settings, socket=False)
        except SlackSetupError as exc:
            raise UsageError(f"planbot serve: error: {exc}") from exc
    ctx = build_context(settings)
    check_port(settings)
    migrate(settings)
    announce(settings)

    async def go() -> None:
        from adapters.launch import run_launches
        from adapters.runner import platform_launches

        try:
            launches = await platform_launches(ctx, settings, serving=True)
            await run_launches(ctx, settings, launches, quiet=False)
        finally:
            await ctx.db.dispose()

    run_until_stopped(go())
    return 0


def cmd_sandbox_pay(args: argparse.Namespace) -> int:
    try:
        reference = parse_order_reference(args.order)
    except SandboxReferenceError as exc:
        raise UsageError(f"planbot sandbox pay: error: {exc}") from exc
    settings = load_settings()
    migrate(settings)

    async def go() -> SandboxResult:
        ctx = build_context(settings)
        try:
            return await complete_sandbox_payment(ctx, reference, args.fail)
        finally:
            await ctx.db.dispose()

    result = asyncio.run(go())
    if not result.ok:
        raise UsageError(f"planbot sandbox pay: error: {result.message}")
    print(result.message)
    return 0


HANDLERS = {
    "quote": cmd_quote,
    "tick": cmd_tick,
    "db": cmd_db_upgrade,
    "run": cmd_run,
    "chat": cmd_chat,
    "serve": cmd_serve,
    "sandbox": cmd_sandbox_pay,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return HANDLERS[args.command](args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except (DomainError, CatalogError, SettingsError, DatabaseUrlError, NotAvailable) as exc:
        print(f"planbot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C before the event loop took the signals over (while migrating, say).
        print("planbot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout has gone (`planbot chat | head`): end quietly, as tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
