"""One conversation step through the console adapter and the engine on SQLite (DESIGN 11).

Each simulated user alternates two real steps of the upgrade flow (pick a package, go back),
each a full update: load the conversation, run the flow, save with a version check, render.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

from adapters.console import ConsoleChat, open_chat
from adapters.sandbox import SandboxGateway
from bench.table import Row, print_table
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.migrate import upgrade
from core.services.context import Context
from core.services.outbox import OutboxNotifier

STEPS = ("Contact Center 2", "/back")


async def _chats(ctx: Context, users: int) -> list[ConsoleChat]:
    chats = []
    for n in range(users):
        chat = await open_chat(
            ctx, workspace=f"bench{n}", user=f"u{n}", role="admin", language="en", out=io.StringIO()
        )
        await chat.step("/upgrade")
        chats.append(chat)
    return chats


async def _user(chat: ConsoleChat, steps: int, latencies: list[float], pace: float) -> None:
    for n in range(steps):
        started = time.perf_counter()
        await chat.step(STEPS[n % 2])
        latencies.append(time.perf_counter() - started)
        if pace:
            await asyncio.sleep(max(0.0, pace - (time.perf_counter() - started)))
        chat.out.seek(0)
        chat.out.truncate()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


async def _closed_loop(ctx: Context, users: int, steps: int) -> tuple[float, float, float]:
    chats = await _chats(ctx, users)
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_user(c, steps, latencies, 0.0) for c in chats))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, _percentile(latencies, 50), _percentile(latencies, 99)


async def _offered(ctx: Context, users: int, every: float, seconds: float) -> tuple[float, float]:
    chats = await _chats(ctx, users)
    latencies: list[float] = []
    steps = max(1, int(seconds / every))

    async def delayed(chat: ConsoleChat, n: int) -> None:
        await asyncio.sleep(every * n / users)
        await _user(chat, steps, latencies, every)

    await asyncio.gather(*(delayed(c, n) for n, c in enumerate(chats)))
    return _percentile(latencies, 50), _percentile(latencies, 99)


async def _statements(ctx: Context) -> tuple[float, float]:
    """SQL statements per step: through the engine alone, and through the console."""
    (chat,) = await _chats(ctx, 1)
    counted: list[str] = []

    def count(*args: object) -> None:
        counted.append(str(args[2]).split()[0].upper())

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    for n in range(20):
        chat.show(await chat.engine.handle(chat.incoming(STEPS[n % 2])))
    engine_only = len(counted) / 20
    counted.clear()
    for n in range(20):
        await chat.step(STEPS[n % 2])
    console = len(counted) / 20
    event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    return engine_only, console


async def measure(path: Path, quick: bool) -> list[Row]:
    url = f"sqlite+aiosqlite:///{path}"
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
    steps = 100 if quick else 400
    try:
        one = await _closed_loop(ctx, 1, steps)
        many = await _closed_loop(ctx, 100, steps // 20)
        p50, p99 = await _offered(ctx, 100, 2.0, 6.0 if quick else 20.0)
        engine_sql, console_sql = await _statements(ctx)
    finally:
        await db.dispose()
    return [
        Row("steps/s, 1 user", one[0], "steps/s", 300),
        Row("p50, 1 user", one[1], "ms", None, False),
        Row("p99, 1 user", one[2], "ms", 25, False),
        Row("steps/s, 100 users flat out", many[0], "steps/s", 300),
        Row("p50, 100 users flat out", many[1], "ms", None, False),
        Row("p99, 100 users flat out", many[2], "ms", None, False),
        Row("p50, 100 users at 50 steps/s", p50, "ms", None, False),
        Row("p99, 100 users at 50 steps/s", p99, "ms", 25, False),
        Row("SQL statements per step, engine (BEGIN included)", engine_sql, "stmts", 4, False),
        Row("SQL statements per step, console with outbox poll", console_sql, "stmts", None, False),
    ]


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(measure(Path(folder) / "bench.db", quick))
    print_table("Engine step: console adapter -> engine -> SQLite -> render", rows)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
