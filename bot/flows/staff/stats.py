"""`/staff stats [months]`: the figures as a text summary and one chart whose caption carries
the key numbers (a Telegram photo caption holds at most 1024 characters)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.chart import chart_filename, chart_title, draw_chart, month_label
from bot.flow import Done, Move, Turn
from bot.flows.staff.verbs import Verb
from bot.i18n import N_, Translator
from bot.vocabulary import Image, Text
from core.access import StaffVerb
from core.money import Money
from core.services.staff.stats import MonthFigures, StaffStats, parse_months, stats

CAPTION_LIMIT = 1024


def _total(amounts: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total += amount
    return total


def _month_line(t: Translator, month: MonthFigures) -> str:
    return t(
        "{month}: new {new}, expansion {expansion}, contraction {contraction}, churned "
        "{churned}; collected {collected}, refunded {refunded}",
        month=month_label(t, month.start),
        new=t.money(month.new),
        expansion=t.money(month.expansion),
        contraction=t.money(month.contraction),
        churned=t.money(month.churned),
        collected=t.money(month.collected),
        refunded=t.money(month.refunded),
    )


def _counts(t: Translator, figures: StaffStats) -> str:
    counts = figures.counts
    return t(
        "Subscriptions: {active} Active, {trying} Try, {inactive} Inactive",
        active=counts.active,
        trying=counts.trying,
        inactive=counts.inactive,
    )


def summary(t: Translator, figures: StaffStats) -> str:
    """Every figure, a line each: MRR, statuses, accounts by package, then month by month."""
    accounts = "; ".join(
        t(
            "{package}: {active} Active, {trying} Try",
            package=a.name,
            active=a.active,
            trying=a.trying,
        )
        for a in figures.accounts
    )
    lines = [
        chart_title(t, len(figures.months)),
        t("As of {when}", when=t.when(figures.at)),
        t(
            "MRR: {mrr} (Active subscriptions at their price per month after the cycle "
            "discount; Try and Inactive not counted)",
            mrr=t.money(figures.mrr),
        ),
        _counts(t, figures),
        t("Accounts: {accounts}", accounts=accounts),
        t("MRR movements and money, month by month (the last month so far):"),
        *(_month_line(t, month) for month in figures.months),
    ]
    return "\n".join(lines)


def caption(t: Translator, figures: StaffStats) -> str:
    """The key numbers, short enough for a photo caption."""
    months, currency = figures.months, figures.currency
    lines = [
        chart_title(t, len(figures.months)),
        t("MRR: {mrr}", mrr=t.money(figures.mrr)),
        _counts(t, figures),
        t(
            "Over the period: MRR moved by {net}; {collected} collected, {refunded} refunded",
            net=t.money(_total((m.net for m in months), currency)),
            collected=t.money(_total((m.collected for m in months), currency)),
            refunded=t.money(_total((m.refunded for m in months), currency)),
        ),
        t("So far this month: {figures}", figures=_month_line(t, months[-1])),
    ]
    return "\n".join(lines)[:CAPTION_LIMIT]


async def _begin(turn: Turn, typed: str) -> Move:
    figures = await stats(turn.services, turn.actor, parse_months(typed))
    chart = await draw_chart(figures, turn.t)
    image = Image(
        chart.png,
        caption(turn.t, figures),
        chart_filename(figures),
        title=chart_title(turn.t, len(figures.months)),
    )
    return Done((Text(summary(turn.t, figures)), image))


VERB = Verb(StaffVerb.STATS, N_("Stats"), _begin)
