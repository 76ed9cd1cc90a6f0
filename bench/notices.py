"""Notices (DESIGN 11, 14): 10,000 due notices to 1,000 chats through the fake Bot API from
two real `planbot serve` worker processes on one database. Each worker runs the bot's notice
sender; only the holder of the bot's lease sends. Midway the holder is killed with SIGKILL:
the other takes the lease over once it expires, and the leases the dead one held lapse (the
notices whose request had not left are offered again, the ones whose request had left are
unknown, never resent).

Measured where the messages arrive (each sendMessage's arrival time and chat, in the fake):
the achieved rate while a sender holds the lease (the takeover's gap shown apart), the largest
count in any one second overall and in one chat (sliding windows), and, from each message's
order reference and the outbox's final states, duplicates and losses.

The fake Bot API runs in this process on 127.0.0.1. The database is PostgreSQL when
PLANBOT_BENCH_DATABASE_URL (or PLANBOT_TEST_DATABASE_URL, or --postgres) names one, its
tables dropped and migrated afresh; else a scratch SQLite file.

    python -m bench.notices [--quick] [--notices N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import signal
import tempfile
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.scaleout import ROOT, SCRUBBED, BenchError, Worker, free_port
from bench.scaleout import fresh_database as fresh_postgres
from bench.table import Row, print_table
from core.access import Actor
from core.catalog import load_catalog
from core.clock import SystemClock
from core.db import Database
from core.migrate import upgrade
from core.model import NoticeSender, OutboxNotice
from core.notice_kinds import PaymentFailed
from core.ports import Notice
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.workspaces import create_workspace
from core.states import NoticeState
from tests.telegram.fake_api import TOKEN, FakeBotApi, running

FULL_NOTICES = 10_000
QUICK_NOTICES = 600
NOTICES_PER_CHAT = 10
FIRST_CHAT = 5_000_000
LIMIT_PER_SECOND = 30
RATE_TARGET = 0.9 * LIMIT_PER_SECOND
START_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 120.0
"""After the last message: how long the outbox may take to settle (a takeover included)."""
REFERENCE = re.compile(r"PB-BENCH-\d+")


@dataclass(frozen=True)
class Figures:
    notices: int
    chats: int
    backend: str
    rate: float
    takeover: float
    busiest: int
    busiest_chat: int
    duplicates: int
    lost: int
    unknown: int
    unknown_arrived: int


def env_for(database: str, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env.update(
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
        DATABASE_URL=database,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET="bench-webhook-secret",
        TELEGRAM_API_BASE_URL=api_url,
        PLANBOT_PUBLIC_URL="http://127.0.0.1:9",
        PLANBOT_HOST="127.0.0.1",
    )
    return env


async def scratch_database(postgres: str | None, folder: Path) -> tuple[Database, str]:
    if postgres:
        return await fresh_postgres(postgres), postgres
    url = f"sqlite+aiosqlite:///{folder / 'notices.db'}"
    await asyncio.to_thread(upgrade, url)
    return Database.from_url(url), url


async def enqueue(db: Database, count: int, chats: int) -> None:
    """`count` notices due now, to `chats` private chats in turn, each with its reference."""
    ctx = Context(db=db, catalog=load_catalog(), clock=SystemClock())
    workspace_id = await create_workspace(ctx, Actor("telegram", str(FIRST_CHAT)), "Bench")
    outbox = OutboxNotifier(db, ctx.clock)
    for start in range(0, count, 1000):
        await outbox.notify_all(
            [
                Notice.of(
                    PaymentFailed(order=f"PB-BENCH-{n:05d}", package="cc1"),
                    workspace_id,
                    ("telegram", str(FIRST_CHAT + n % chats)),
                    subject=f"bench:{n}",
                )
                for n in range(start, min(start + 1000, count))
            ]
        )


def arrivals(api: FakeBotApi) -> list[tuple[float, int, str]]:
    """(arrival, chat, order reference) of each sendMessage the fake accepted."""
    found = []
    for call in api.calls:
        if call.method != "sendMessage" or not call.params.get("_ok"):
            continue
        match = REFERENCE.search(str(call.params["text"]))
        if match is None:
            raise BenchError(f"a notice without its reference: {call.params['text']!r}")
        found.append((call.at, int(call.params["chat_id"]), match.group()))
    return found


def busiest_second(times: Iterable[float]) -> int:
    """The most messages in any window of one second."""
    ordered = sorted(times)
    return max((bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


async def holder_pid(db: Database) -> int | None:
    async with db.read() as session:
        owner = await session.scalar(select(NoticeSender.owner))
    if owner is None:
        return None
    return int(owner.split(":")[1])


async def unsettled(db: Database) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxNotice)
                .where(OutboxNotice.state.in_([NoticeState.PENDING, NoticeState.SENDING]))
            )
            or 0
        )


async def final_states(db: Database) -> dict[str, NoticeState]:
    async with db.read() as session:
        rows = await session.execute(select(OutboxNotice.data, OutboxNotice.state))
        return {str(data["order"]): state for data, state in rows}


async def wait_for(api: FakeBotApi, sent: int, deadline: float) -> None:
    """Until `sent` requests reached the fake (a cheap count: the fake shares this loop, and
    a scan of every call here would hold its answers back and bunch their arrival times)."""
    while len(api.calls) < sent:
        if time.monotonic() > deadline:
            raise BenchError(f"fewer than {sent} requests arrived in time")
        await asyncio.sleep(0.5)


async def run(count: int, postgres: str | None) -> Figures:
    chats = max(1, count // NOTICES_PER_CHAT)
    with tempfile.TemporaryDirectory(prefix="planbot-notices-") as tmp:
        folder = Path(tmp)
        db, url = await scratch_database(postgres, folder)
        try:
            await enqueue(db, count, chats)
            api = FakeBotApi()
            # The fake keeps every call: a full collection over them would stall its loop
            # and bunch the arrival times it records, which the senders did not send so.
            gc.collect()
            gc.disable()
            async with running(api) as api_url:
                env = env_for(url, api_url)
                pair = [Worker(n, free_port(), folder / f"worker-{n}.log") for n in "ab"]
                try:
                    for worker in pair:
                        worker.start(env, folder)
                    await wait_for(api, 1, time.monotonic() + START_TIMEOUT_S)
                    await wait_for(api, count // 2, time.monotonic() + count / 10 + 60)
                    pid = await holder_pid(db)
                    victim = next((w for w in pair if w.process and w.process.pid == pid), None)
                    if victim is None or victim.process is None:
                        raise BenchError(f"no worker holds the sender's lease (owner pid {pid})")
                    victim.process.send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
                    await asyncio.to_thread(victim.process.wait)
                    deadline = time.monotonic() + count / 10 + SETTLE_TIMEOUT_S
                    while await unsettled(db):
                        if time.monotonic() > deadline:
                            raise BenchError(
                                "the outbox did not settle; survivor's log:\n"
                                + next(w for w in pair if w is not victim).tail()
                            )
                        await asyncio.sleep(2.0)
                finally:
                    await asyncio.gather(*(w.stop() for w in pair), return_exceptions=True)
            gc.enable()
            return figures(count, chats, db, arrivals(api), killed_at, await final_states(db))
        finally:
            await db.dispose()


def figures(
    count: int,
    chats: int,
    db: Database,
    arrived: list[tuple[float, int, str]],
    killed_at: float,
    states: dict[str, NoticeState],
) -> Figures:
    times = [at for at, _, _ in arrived]
    before = [t for t in times if t < killed_at]
    after = [t for t in times if t >= killed_at]
    resumed = min(after, default=killed_at)
    active = (max(before) - min(before)) + (max(after, default=resumed) - resumed)
    per_chat: defaultdict[int, list[float]] = defaultdict(list)
    for at, chat, _ in arrived:
        per_chat[chat].append(at)
    received = Counter(ref for _, _, ref in arrived)
    unknown = {ref for ref, state in states.items() if state == NoticeState.UNKNOWN}
    lost = sum(1 for ref in states if ref not in received and ref not in unknown)
    return Figures(
        notices=count,
        chats=chats,
        backend=db.engine.dialect.name,
        rate=(len(times) - 1) / active if active > 0 else 0.0,
        takeover=resumed - killed_at,
        busiest=busiest_second(times),
        busiest_chat=max(busiest_second(ts) for ts in per_chat.values()),
        duplicates=sum(n - 1 for n in received.values() if n > 1),
        lost=lost + (count - len(states)),
        unknown=len(unknown),
        unknown_arrived=sum(1 for ref in unknown if ref in received),
    )


def main(quick: bool = False, notices: int | None = None, postgres: str | None = None) -> None:
    count = notices or (QUICK_NOTICES if quick else FULL_NOTICES)
    url = (
        postgres
        or os.environ.get("PLANBOT_BENCH_DATABASE_URL")
        or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    )
    found = asyncio.run(run(count, url))
    print_table(
        f"Notices: {found.notices:,} due to {found.chats:,} chats, two planbot serve workers "
        f"on {found.backend}, the sender killed (SIGKILL) midway",
        [
            Row("achieved rate (a sender holding the lease)", found.rate, "msg/s", RATE_TARGET),
            Row("takeover after the kill", found.takeover, "s"),
            Row(
                "busiest second, overall",
                found.busiest,
                "msg",
                LIMIT_PER_SECOND,
                higher_is_better=False,
                digits=0,
            ),
            Row(
                "busiest second, one chat",
                found.busiest_chat,
                "msg",
                1,
                higher_is_better=False,
                digits=0,
            ),
            Row("duplicates", found.duplicates, "", 0, higher_is_better=False, digits=0),
            Row("lost", found.lost, "", 0, higher_is_better=False, digits=0),
            Row("unknown (counted apart)", found.unknown, "", digits=0),
            Row("  of which arrived", found.unknown_arrived, "", digits=0),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--notices", type=int, default=None)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    main(args.quick, args.notices, args.postgres)
