"""The time-driven sweep over many due subscriptions (DESIGN 11: 100,000 in under 30 s).

The due rows are bulk-inserted (renewals whose period ended, some paid from the credit
balance, scheduled downgrades, ended trials, cancellations at period end and grace periods
that ran out), then the sweep `planbot tick` runs is timed in a process of its own, so its
peak memory is the sweep's alone (peak RSS: VmHWM on Linux, sampled as it runs). The result is
checked: each due subscription handled exactly once, in the state its case leads to.
Runs on SQLite, and on PostgreSQL when PLANBOT_TEST_DATABASE_URL or `--postgres URL` is
given (a scratch database: its tables are dropped and recreated).

The same sweep is then timed over subscriptions whose reminder is due (renewals, trials,
grace), each to get exactly one reminder row in its workspace's zone.

    python -m bench.sweep [--subscriptions 100000] [--postgres URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.settings import Settings
from adapters.wiring import build_context
from bench.sweep_plan import NOW, OUTCOMES, TARGET_SECONDS, TARGET_SUBSCRIPTIONS, Plan, plan, setup
from bench.sweep_reminders_plan import KINDS as REMINDER_KINDS
from bench.sweep_reminders_plan import reminder_plan
from bench.table import Row, print_table
from core.clock import format_iso, parse_iso
from core.db import Database
from core.model import (
    AuditEntry,
    OutboxNotice,
    Subscription,
)
from core.services.sweep import sweep


def _max_rss_mb() -> float:
    """This process's peak resident set so far.

    Linux: VmHWM, since getrusage's ru_maxrss survives exec and would report the parent's
    peak (the bench that built the rows); elsewhere ru_maxrss (macOS reports bytes).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def _sweep_measured(url: str, at: datetime) -> dict[str, Any]:
    """Sweep once as `planbot tick` does, sampling the peak RSS while it runs."""
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        PLANBOT_CLOCK=at,
        STRIPE_SECRET_KEY=None,
        PLANBOT_CATALOG=None,
    )
    ctx = build_context(settings)
    samples: list[tuple[float, float]] = []

    async def sample() -> None:
        while True:
            samples.append((time.perf_counter(), _max_rss_mb()))
            await asyncio.sleep(0.05)

    try:
        baseline = _max_rss_mb()
        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        report = await sweep(ctx, at)
        ended = time.perf_counter()
        sampler.cancel()
        peak = _max_rss_mb()
        halfway = max((rss for t, rss in samples if t <= (started + ended) / 2), default=baseline)
        again = await sweep(ctx, at)
    finally:
        await ctx.db.dispose()
    return {
        "seconds": ended - started,
        "counts": dict(report.counts),
        "again": sum(again.counts.values()),
        "rss_peak_mb": peak,
        "rss_growth_mb": peak - baseline,
        "rss_second_half_mb": peak - halfway,
    }


def child() -> None:
    """Entry point of the sweep process: argv is the URL and the time; prints JSON."""
    url, at = sys.argv[1], parse_iso(sys.argv[2])
    print(json.dumps(asyncio.run(_sweep_measured(url, at))))


def run_sweep_process(url: str) -> dict[str, Any]:
    code = "from bench.sweep import child; child()"
    done = subprocess.run(
        [sys.executable, "-c", code, url, format_iso(NOW)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise SystemExit(f"the sweep process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def outcome(url: str) -> tuple[Counter[str], Counter[tuple[Any, ...]], dict[str, int]]:
    """What the database holds after the sweep: audit events, states and row counts."""
    db = Database.from_url(url)
    try:
        async with db.unit_of_work() as session:
            events = Counter(
                {
                    action.removeprefix("sweep."): n
                    for action, n in await session.execute(
                        select(AuditEntry.action, func.count())
                        .where(AuditEntry.action.like("sweep.%"))
                        .group_by(AuditEntry.action)
                    )
                }
            )
            overdue = Subscription.grace_until.is_not(None)
            states = Counter(
                {
                    (state, reason, bool(late)): n
                    for state, reason, late, n in await session.execute(
                        select(
                            Subscription.state,
                            Subscription.inactive_reason,
                            overdue,
                            func.count(),
                        ).group_by(Subscription.state, Subscription.inactive_reason, overdue)
                    )
                }
            )
            swept = select(AuditEntry.subscription_id).where(AuditEntry.action.like("sweep.%"))
            counts = {
                "distinct": int(
                    await session.scalar(
                        select(func.count()).select_from(swept.distinct().subquery())
                    )
                    or 0
                ),
                # One transition's notices per subscription, each to a chat.
                "notices": int(
                    await session.scalar(
                        select(func.count(OutboxNotice.subject.distinct())).where(
                            OutboxNotice.kind.in_(TRANSITIONS)
                        )
                    )
                    or 0
                ),
                "chatless": int(
                    await session.scalar(select(func.count()).where(OutboxNotice.chat_id.is_(None)))
                    or 0
                ),
                "still_due": int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Subscription)
                        .where(Subscription.due_at <= NOW, Subscription.state != "inactive")
                    )
                    or 0
                ),
            }
        return events, states, counts
    finally:
        await db.dispose()


TRANSITIONS = sorted({event for event, _ in OUTCOMES.values()})


def _transitions(counts: dict[str, int]) -> Counter[str]:
    """The report's transition events (reminders made for the rows it stepped aside)."""
    return Counter({k: v for k, v in counts.items() if k in TRANSITIONS})


def _check(name: str, planned: Plan, result: dict[str, Any], found: Any) -> int:
    """The number of subscriptions handled exactly once as planned; exits on any mismatch."""
    events, states, counts = found
    expected_events: Counter[str] = Counter()
    expected_states: Counter[tuple[Any, ...]] = Counter()
    for case, n in planned.cases.items():
        event, state = OUTCOMES[case]
        expected_events[event] += n
        expected_states[state] += n
    total = len(planned.subscriptions)
    problems = [
        f"{what}: {got} instead of {want}"
        for what, got, want in (
            ("sweep report", _transitions(result["counts"]), expected_events),
            ("audit events", events, expected_events),
            ("states", states, expected_states),
            ("subscriptions audited", counts["distinct"], total),
            ("notices", counts["notices"], total),
            ("notices without a chat", counts["chatless"], 0),
            ("still due", counts["still_due"], 0),
            ("second sweep", result["again"], 0),
        )
        if got != want
    ]
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))
    return int(counts["distinct"])


async def _rows(name: str, url: str, planned: Plan) -> list[Row]:
    count = len(planned.subscriptions)
    seconds = await setup(url, planned)
    result = run_sweep_process(url)
    handled = _check(name, planned, result, await outcome(url))
    return [
        Row(f"{name}: bulk insert of the due rows (setup)", seconds, "s"),
        *_timed_rows(name, count, result),
        Row(f"{name}: handled exactly once, as planned", handled, "subs", count),
    ]


def _timed_rows(name: str, count: int, result: dict[str, Any]) -> list[Row]:
    target = TARGET_SECONDS * count / TARGET_SUBSCRIPTIONS
    return [
        Row(f"{name}: sweep wall time", result["seconds"], "s", target, higher_is_better=False),
        Row(
            f"{name}: subscriptions handled",
            count / result["seconds"],
            "subs/s",
            TARGET_SUBSCRIPTIONS / TARGET_SECONDS,
        ),
        Row(f"{name}: sweep process peak RSS (VmHWM)", result["rss_peak_mb"], "MB"),
        Row(f"{name}: max RSS growth from the sweep's start", result["rss_growth_mb"], "MB"),
        Row(f"{name}: max RSS growth in its second half", result["rss_second_half_mb"], "MB"),
    ]


async def _reminder_rows(name: str, url: str, planned: Plan) -> list[Row]:
    """The sweep over subscriptions whose reminder is due: one row each, none twice."""
    count = len(planned.subscriptions)
    seconds = await setup(url, planned)
    result = run_sweep_process(url)
    made = await reminders_made(url)
    expected = Counter({REMINDER_KINDS[case]: n for case, n in planned.cases.items()})
    problems = [
        f"{what}: {got} instead of {want}"
        for what, got, want in (
            ("sweep report", Counter(result["counts"]), expected),
            ("reminder rows", made["kinds"], expected),
            ("subscriptions reminded", made["subjects"], count),
            ("notices without a chat", made["chatless"], 0),
            ("still to remind", made["still_due"], 0),
            ("second sweep", result["again"], 0),
        )
        if got != want
    ]
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))
    return [
        Row(f"{name}: bulk insert of the rows to remind (setup)", seconds, "s"),
        *_timed_rows(f"{name}, reminders", count, result),
        Row(f"{name}: reminded exactly once", made["subjects"], "subs", count),
    ]


async def reminders_made(url: str) -> dict[str, Any]:
    db = Database.from_url(url)
    try:
        async with db.read() as session:
            kinds = Counter(
                dict(
                    (
                        await session.execute(
                            select(OutboxNotice.kind, func.count()).group_by(OutboxNotice.kind)
                        )
                    )
                    .tuples()
                    .all()
                )
            )
            subjects = await session.scalar(select(func.count(OutboxNotice.subject.distinct())))
            chatless = await session.scalar(
                select(func.count()).where(OutboxNotice.chat_id.is_(None))
            )
            still_due = await session.scalar(
                select(func.count()).where(
                    Subscription.remind_at <= NOW, Subscription.state != "inactive"
                )
            )
        return {
            "kinds": kinds,
            "subjects": int(subjects or 0),
            "chatless": int(chatless or 0),
            "still_due": int(still_due or 0),
        }
    finally:
        await db.dispose()


def main(
    quick: bool = False, subscriptions: int | None = None, postgres: str | None = None
) -> None:
    count = subscriptions or (5_000 if quick else TARGET_SUBSCRIPTIONS)
    planned = plan(count)
    reminding = reminder_plan(count)
    rows: list[Row] = []
    postgres = postgres or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        rows += asyncio.run(_rows("SQLite", url, planned))
        if postgres:
            rows += asyncio.run(_rows("PostgreSQL", postgres, planned))
        mix = ", ".join(f"{case} {n:,}" for case, n in sorted(planned.cases.items()))
        print_table(f"Sweep: {count:,} due subscriptions ({mix})", rows)
        rows = asyncio.run(_reminder_rows("SQLite", url, reminding))
    if postgres:
        rows += asyncio.run(_reminder_rows("PostgreSQL", postgres, reminding))
    mix = ", ".join(f"{case} {n:,}" for case, n in sorted(reminding.cases.items()))
    print_table(f"Sweep: {count:,} subscriptions with a reminder due ({mix})", rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=None)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.subscriptions, args.postgres)
