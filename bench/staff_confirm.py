"""Staff preview → confirm (DESIGN 11, 13): 10 support managers at once, each on a workspace
of their own, preview a change (a credit, or extending a trial) and confirm it; the time from
the preview's start to the confirm's answer is measured, p99 under 50 ms. Each confirm writes
its action, the change, one audit entry and one outbox notice per billing admin.

Two loads: flat out (in each round all 10 start at the same instant, so the last waits for
the nine before it on a single writer), and at a working pace (each manager confirms once a
second, the 10 spread over the second).

Runs on SQLite, and on PostgreSQL when PLANBOT_TEST_DATABASE_URL or `--postgres URL` is given
(a scratch database: its tables are dropped and recreated).

    python -m bench.staff_confirm [--staff 10] [--rounds 40] [--postgres URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.table import Row, print_table
from core.access import Actor, StaffTier
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.model import Base
from core.money import Money
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.staff.changes import Done, confirm, preview
from core.services.staff.requests import Credit, Extend, ReasonCode, StaffRequest, new_token
from core.services.subscriptions import start_trial
from core.services.workspaces import create_workspace

STAFF = 10
ROUNDS = 40
TARGET_P99_MS = 50.0
PACE_S = 1.0
"""At a working pace, each manager confirms a change once per this many seconds."""


async def _workspaces(ctx: Context, count: int) -> list[tuple[int, int]]:
    """`count` workspaces, each with an owner and a trial: (workspace id, subscription id)."""
    made = []
    for n in range(count):
        owner = Actor("telegram", str(10_000 + n))
        workspace_id = await create_workspace(ctx, owner, f"Bench {n}")
        made.append((workspace_id, await start_trial(ctx, owner, workspace_id, "cc2")))
    return made


def _request(n: int, round_: int, workspace_id: int, subscription_id: int) -> StaffRequest:
    if (n + round_) % 2:
        return Credit(workspace_id, Money(1_250, "USD"))
    return Extend(workspace_id, subscription_id, 1)


async def _change(ctx: Context, staff: Actor, request: StaffRequest) -> float:
    started = time.perf_counter()
    shown = await preview(ctx, staff, request)
    outcome = await confirm(
        ctx, staff, shown.request, ReasonCode.COURTESY, None, shown.state_key, new_token()
    )
    elapsed = time.perf_counter() - started
    if not isinstance(outcome, Done):
        raise SystemExit(f"a bench change did not run: {outcome}")
    return elapsed * 1000


async def measure(url: str, staff: int, rounds: int) -> tuple[list[float], list[float]]:
    """Preview → confirm times in ms: flat out, then at a working pace."""
    db = Database.from_url(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    clock = FixedClock(parse_iso("2026-01-15T10:00:00Z"))
    ctx = Context(db, load_catalog(), clock, notifier=OutboxNotifier(db, clock))
    try:
        targets = await _workspaces(ctx, staff)
        people = [Actor("console", f"staff{n}", tier=StaffTier.MANAGER) for n in range(staff)]
        flat: list[float] = []
        for round_ in range(rounds):
            changes = [
                _change(ctx, people[n], _request(n, round_, *targets[n])) for n in range(staff)
            ]
            flat += await asyncio.gather(*changes)

        async def working(n: int) -> list[float]:
            await asyncio.sleep(PACE_S * n / staff)
            timings = []
            for round_ in range(rounds):
                started = time.perf_counter()
                timings.append(await _change(ctx, people[n], _request(n, round_, *targets[n])))
                await asyncio.sleep(max(0.0, PACE_S - (time.perf_counter() - started)))
            return timings

        paced = [t for ts in await asyncio.gather(*(working(n) for n in range(staff))) for t in ts]
        return flat, paced
    finally:
        await db.dispose()


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _rows(name: str, timings: tuple[list[float], list[float]], staff: int) -> list[Row]:
    flat, paced = timings
    rows = [Row(f"{name}: changes run ({staff} staff at once)", len(flat) + len(paced), "changes")]
    for load, values in (("flat out", flat), ("1 change/s each", paced)):
        rows += [
            Row(f"{name}: preview -> confirm p50, {load}", statistics.median(values), "ms"),
            Row(
                f"{name}: preview -> confirm p99, {load}",
                _p99(values),
                "ms",
                target=TARGET_P99_MS,
                higher_is_better=False,
            ),
        ]
    return rows


def main(
    quick: bool = False, staff: int = STAFF, rounds: int | None = None, postgres: str | None = None
) -> None:
    count = rounds or (3 if quick else ROUNDS)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        rows += _rows("SQLite", asyncio.run(measure(url, staff, count)), staff)
    postgres = postgres or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    if postgres:
        rows += _rows("PostgreSQL", asyncio.run(measure(postgres, staff, count)), staff)
    print_table(
        f"Staff changes: {staff} managers at once, preview -> confirm, {count} rounds", rows
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=STAFF)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.staff, args.rounds, args.postgres)
