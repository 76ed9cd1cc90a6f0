"""`/staff stats` figures: MRR, statuses, accounts, and each month's MRR movements and money,
equal to what the story's events work out to by hand, on each database."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select

from core.access import Actor, StaffTier
from core.clock import FixedClock
from core.errors import InvalidRequest, NotAllowed
from core.model import Payment, Refund, Subscription
from core.pricing import price_per_account
from core.services.context import Context
from core.services.staff.stats import StaffStats, month_starts, parse_months, stats
from tests.integration.stats_story import MANAGER, MONTHS, NOW, Story, month, tell

VIEWER = Actor("console", "eve", tier=StaffTier.VIEWER)


@pytest.fixture
async def story(ctx: Context, clock: FixedClock) -> Story:
    return await tell(ctx, clock)


def by_month(figures: StaffStats, name: str) -> dict[str, int]:
    return {month(m.start): getattr(m, name).minor for m in figures.months}


async def test_the_figures_are_the_storys(ctx: Context, story: Story) -> None:
    figures = await stats(ctx, MANAGER, 6)
    assert [month(m.start) for m in figures.months] == list(MONTHS)
    assert figures.at == NOW
    assert figures.mrr.minor == story.mrr
    assert figures.currency == "USD"
    assert (figures.counts.active, figures.counts.trying, figures.counts.inactive) == story.counts
    assert {a.code: (a.active, a.trying) for a in figures.accounts} == story.accounts
    for name in ("new", "expansion", "contraction", "churned", "collected", "refunded"):
        expected = {m: getattr(story, name)[m] for m in MONTHS}
        assert by_month(figures, name) == expected, name


async def test_mrr_is_what_the_active_subscriptions_hold_now(ctx: Context, story: Story) -> None:
    """Worked out again straight from the subscription rows: Try and Inactive count nothing."""
    async with ctx.db.read() as session:
        rows = list(await session.scalars(select(Subscription)))
    exact = sum(
        (
            Fraction(
                price_per_account(ctx.catalog, s.package, s.cycle_months).minor * s.quantity,
                s.cycle_months,
            )
            for s in rows
            if s.state == "active"
        ),
        Fraction(0),
    )
    assert {s.state for s in rows} == {"active", "trial", "inactive"}
    assert (await stats(ctx, MANAGER)).mrr.minor == round(exact) == story.mrr


async def test_money_per_month_is_what_the_payments_and_refunds_hold(
    ctx: Context, story: Story
) -> None:
    async with ctx.db.read() as session:
        payments = list(await session.scalars(select(Payment)))
        refunds = list(await session.scalars(select(Refund)))
    figures = await stats(ctx, MANAGER)
    for name, rows in (
        ("collected", [(p.received_at, p.amount) for p in payments]),
        ("refunded", [(r.at, r.amount) for r in refunds]),
    ):
        summed = dict.fromkeys(MONTHS, 0)
        for when, amount in rows:
            if month(when) in summed:
                summed[month(when)] += amount
        assert by_month(figures, name) == summed


async def test_movements_in_the_window_add_up_to_the_change_of_mrr(
    ctx: Context, story: Story
) -> None:
    """MRR before the window (F's 8,500 from December) plus every movement is MRR now."""
    figures = await stats(ctx, MANAGER)
    moved = sum(m.net.minor for m in figures.months)
    assert 8_500 + moved == figures.mrr.minor


async def test_one_month_is_the_current_month_so_far(ctx: Context, story: Story) -> None:
    figures = await stats(ctx, MANAGER, 1)
    assert [month(m.start) for m in figures.months] == ["2026-06"]
    assert all(m.net.minor == 0 and m.collected.minor == 0 for m in figures.months)


async def test_a_long_window_reaches_back_past_the_first_purchase(
    ctx: Context, story: Story
) -> None:
    figures = await stats(ctx, MANAGER, 24)
    assert len(figures.months) == 24
    assert month(figures.months[0].start) == "2024-07"
    assert by_month(figures, "new")["2025-12"] == 8_500
    assert sum(m.net.minor for m in figures.months) == figures.mrr.minor


async def test_viewers_may_see_the_stats(ctx: Context) -> None:
    figures = await stats(ctx, VIEWER)
    assert figures.mrr.minor == 0
    assert len(figures.months) == 6


@pytest.mark.parametrize(
    "who", [Actor("telegram", "1001"), Actor("console", "sam"), Actor.system()]
)
async def test_customers_are_refused(ctx: Context, who: Actor) -> None:
    with pytest.raises(NotAllowed):
        await stats(ctx, who)


@pytest.mark.parametrize("months", [0, -1, 25, 1000, True])
async def test_months_out_of_range_are_refused(ctx: Context, months: int) -> None:
    with pytest.raises(InvalidRequest, match="1 to 24 months"):
        await stats(ctx, MANAGER, months)


@pytest.mark.parametrize("typed", ["0", "25", "abc", "6 months", "²", "-3", "1.5", "9" * 5000])
def test_typed_months_other_than_1_to_24_are_refused(typed: str) -> None:
    with pytest.raises(InvalidRequest, match="1 to 24 months"):
        parse_months(typed)


@pytest.mark.parametrize(("typed", "months"), [("", 6), ("  ", 6), ("1", 1), (" 12 ", 12)])
def test_typed_months(typed: str, months: int) -> None:
    assert parse_months(typed) == months


def test_months_are_calendar_months_in_utc() -> None:
    starts = month_starts(NOW, 3)
    assert [s.isoformat() for s in starts] == [
        "2026-04-01T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00",
        "2026-06-01T00:00:00+00:00",
        "2026-07-01T00:00:00+00:00",
    ]
