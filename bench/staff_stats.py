"""`/staff stats` over 100,000 subscriptions and 1,000,000 orders (DESIGN 11: under 2 s on
either database), and the chart drawn (under 300 ms).

The rows are generated and bulk-loaded (bench/staff_stats_plan.py), then the use case runs as
`/staff stats` calls it, for the default 6 months and for the most, 24; each figure it gives is
checked against the ones worked out while generating. The chart is drawn as the chat draws it
(bot.chart.render_png, what the worker thread runs), after one drawing that pays matplotlib's
import. Runs on SQLite, and on PostgreSQL when PLANBOT_TEST_DATABASE_URL or `--postgres URL`
is given (a scratch database: its tables are dropped and recreated).

    python -m bench.staff_stats [--subscriptions 100000] [--postgres URL] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.staff_stats_plan import (
    NOW,
    ORDERS_EACH,
    TARGET_SUBSCRIPTIONS,
    Expected,
    month,
    setup,
)
from bench.table import Row, print_table
from bot.chart import chart_data, chart_words, render_png
from bot.i18n import Translator
from core.access import Actor, StaffTier
from core.catalog import load_catalog
from core.clock import FixedClock
from core.db import Database
from core.money import div_round_half_up
from core.services.context import Context
from core.services.staff.stats import StaffStats, stats

TARGET_SECONDS, TARGET_CHART_MS = 2.0, 300.0
RUNS = 3
VIEWER = Actor("console", "bench", tier=StaffTier.VIEWER)


def _check(name: str, figures: StaffStats, expected: Expected) -> None:
    """Exit unless every figure is the one worked out while generating."""
    problems: list[str] = []

    def compare(what: str, got: object, want: object) -> None:
        if got != want:
            problems.append(f"{what}: {got} instead of {want}")

    compare("MRR", figures.mrr.minor, div_round_half_up(expected.mrr, expected.scale))
    counts = figures.counts
    compare(
        "statuses",
        (counts.active, counts.trying, counts.inactive),
        tuple(expected.counts[s] for s in ("active", "trial", "inactive")),
    )
    compare(
        "accounts",
        {(a.code, a.active, a.trying) for a in figures.accounts},
        {
            (a.code, expected.accounts[("active", a.code)], expected.accounts[("trial", a.code)])
            for a in figures.accounts
        },
    )
    for m in figures.months:
        key = month(m.start)
        moves = [div_round_half_up(v, expected.scale) for v in expected.moves[key]]
        got = [m.new.minor, m.expansion.minor, m.contraction.minor, m.churned.minor]
        compare(f"{key} movements", got, moves)
        compare(f"{key} collected", m.collected.minor, expected.collected[key])
        compare(f"{key} refunded", m.refunded.minor, expected.refunded[key])
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))


async def _timed_stats(
    url: str, months: int, expected: Expected
) -> tuple[float, float, StaffStats]:
    """The first call's seconds, the median of the next RUNS, and the figures (checked)."""
    ctx = Context(db=Database.from_url(url), catalog=load_catalog(), clock=FixedClock(NOW))
    seconds: list[float] = []
    try:
        for _ in range(RUNS + 1):
            started = time.perf_counter()
            figures = await stats(ctx, VIEWER, months)
            seconds.append(time.perf_counter() - started)
    finally:
        await ctx.db.dispose()
    _check(f"{months} months", figures, expected)
    return seconds[0], statistics.median(seconds[1:]), figures


def _chart_ms(figures: StaffStats, language: str) -> float:
    t = Translator(language)
    data, words = chart_data(figures, t), chart_words(t, len(figures.months))
    png = render_png(data, words)
    if not png.startswith(b"\x89PNG") or len(png) >= 200_000:
        raise SystemExit(f"the chart is not a PNG under 200 kB ({len(png)} bytes)")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        render_png(data, words)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _rows(name: str, url: str, count: int) -> tuple[list[Row], dict[int, StaffStats]]:
    expected, seconds = await setup(url, count)
    rows = [Row(f"{name}: bulk load of {sum(expected.rows.values()):,} rows (setup)", seconds, "s")]
    target = TARGET_SECONDS * count / TARGET_SUBSCRIPTIONS
    kept: dict[int, StaffStats] = {}
    for months in (6, 24):
        first, median, kept[months] = await _timed_stats(url, months, expected)
        rows += [
            Row(f"{name}: stats, {months} months, first call", first, "s", target, False, 2),
            Row(f"{name}: stats, {months} months, median of {RUNS}", median, "s", target, False, 2),
        ]
    return rows, kept


def main(
    quick: bool = False, subscriptions: int | None = None, postgres: str | None = None
) -> None:
    count = subscriptions or (5_000 if quick else TARGET_SUBSCRIPTIONS)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        found, figures = asyncio.run(_rows("SQLite", url, count))
        rows += found
    postgres = postgres or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    if postgres:
        rows += asyncio.run(_rows("PostgreSQL", postgres, count))[0]
    for months, language in ((6, "en"), (24, "vi")):
        rows.append(
            Row(
                f"chart drawn, {months} months ({language}), median of {RUNS}",
                _chart_ms(figures[months], language),
                "ms",
                TARGET_CHART_MS,
                higher_is_better=False,
            )
        )
    print_table(f"Staff stats: {count:,} subscriptions, {count * ORDERS_EACH:,} orders", rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=None)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.subscriptions, args.postgres)
