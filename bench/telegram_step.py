"""One conversation step through PTB and the Telegram adapter, against a bare PTB echo handler
on the same fake Bot API server (DESIGN 11: at most 2x the echo in throughput and p99).

Both sides get the same updates: a tap on an inline button, answered (answerCallbackQuery)
and edited in place (editMessageText). planbot's side also loads the conversation, runs the
upgrade flow (pick a package, then Back), saves it with a version check and renders the menu.
Flood-limit pacing is off on both sides: it would hold both at Telegram's 30 messages/s.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from adapters.sandbox import SandboxGateway
from adapters.telegram.bot import TelegramBot
from adapters.telegram.modes import build_application
from bench.table import Row, print_table
from core.access import Actor
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.migrate import upgrade
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.workspaces import create_workspace
from tests.telegram.fake_api import TOKEN, FakeBotApi, running

USERS = 100
Step = Callable[[int, int], Awaitable[None]]


def _tap(api: FakeBotApi, user: int, message_id: int, data: str, n: int) -> dict[str, Any]:
    sender = {"id": user, "is_bot": False, "first_name": f"u{user}", "language_code": "en"}
    return {
        "update_id": n,
        "callback_query": {
            "id": f"q{n}",
            "from": sender,
            "chat_instance": "ci",
            "message": api.messages[(user, message_id)],
            "data": data,
        },
    }


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def _loop(step: Step, steps: int) -> tuple[float, float, float]:
    latencies: list[float] = []

    async def user(u: int) -> None:
        for n in range(steps):
            started = time.perf_counter()
            await step(u, n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(1, USERS + 1)))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, _percentile(latencies, 50), _percentile(latencies, 99)


async def _planbot(api: FakeBotApi, folder: Path, steps: int) -> tuple[float, float, float]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database.from_url(url)
    clock = FixedClock(parse_iso("2026-07-15T10:00:00Z"))
    ctx = Context(
        db,
        load_catalog(),
        clock,
        SandboxGateway("http://127.0.0.1:8000"),
        OutboxNotifier(db, clock),
    )
    bot = TelegramBot(ctx, build_application(TOKEN, api.url, polling=False, paced=False))
    await bot.initialize()
    counter = iter(range(1, 10**9))
    menus: dict[int, int] = {}
    try:
        for u in range(1, USERS + 1):
            await create_workspace(ctx, Actor("telegram", str(u)), f"bench {u}")
            await bot.application.process_update(
                Update.de_json(
                    {
                        "update_id": next(counter),
                        "message": {
                            "message_id": 1,
                            "date": 1768471200,
                            "text": "/upgrade",
                            "chat": {"id": u, "type": "private", "first_name": f"u{u}"},
                            "from": {"id": u, "is_bot": False, "first_name": f"u{u}"},
                            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                        },
                    },
                    bot.application.bot,
                )
            )
            menus[u] = max(m for (chat, m) in api.messages if chat == u)

        async def step(u: int, n: int) -> None:
            message = api.messages[(u, menus[u])]
            buttons = {
                b["text"]: b["callback_data"]
                for row in message["reply_markup"]["inline_keyboard"]
                for b in row
            }
            data = buttons["Contact Center 2"] if n % 2 == 0 else buttons["Back"]
            update = _tap(api, u, menus[u], data, next(counter))
            await bot.application.process_update(Update.de_json(update, bot.application.bot))

        return await _loop(step, steps)
    finally:
        await bot.application.shutdown()
        await db.dispose()


async def _echo(api: FakeBotApi, steps: int) -> tuple[float, float, float]:
    """The bare PTB handler: answer the tap and edit the message to echo the data."""

    async def echo(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update) and update.callback_query is not None
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"echo {query.data}")

    application: Application[Any, Any, Any, Any, Any, Any] = build_application(
        TOKEN, api.url, polling=False, paced=False
    )
    application.add_handler(TypeHandler(Update, echo))
    await application.initialize()
    counter = iter(range(10**9, 2 * 10**9))
    menus: dict[int, int] = {}
    try:
        for u in range(1, USERS + 1):
            menus[u] = (await application.bot.send_message(u, "start")).message_id

        async def step(u: int, n: int) -> None:
            update = _tap(api, u, menus[u], f"{n}.x:tap", next(counter))
            await application.process_update(Update.de_json(update, application.bot))

        return await _loop(step, steps)
    finally:
        await application.shutdown()


async def measure(quick: bool) -> list[Row]:
    steps = 5 if quick else 20
    api = FakeBotApi()
    async with running(api):
        echo = await _echo(api, steps)
        with tempfile.TemporaryDirectory() as folder:
            planbot = await _planbot(api, Path(folder), steps)
    return [
        Row("echo steps/s, 100 users", echo[0], "steps/s"),
        Row("planbot steps/s, 100 users", planbot[0], "steps/s", echo[0] / 2),
        Row("echo p50", echo[1], "ms", None, False),
        Row("planbot p50", planbot[1], "ms", None, False),
        Row("echo p99", echo[2], "ms", None, False),
        Row("planbot p99", planbot[2], "ms", echo[2] * 2, False),
        Row("throughput, echo / planbot", echo[0] / planbot[0], "x", 2, False),
        Row("p99, planbot / echo", planbot[2] / echo[2], "x", 2, False),
    ]


def main(quick: bool = False) -> None:
    rows = asyncio.run(measure(quick))
    print_table("Telegram step: PTB -> adapter -> engine -> SQLite -> fake Bot API, vs echo", rows)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
