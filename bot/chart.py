"""The stats chart: each month's MRR movements, and the money collected and refunded, as one
PNG drawn with matplotlib's Figure API (never pyplot, whose global state does not belong in
a server) in a worker thread, so the event loop keeps answering meanwhile. Pure
presentation: it plots the figures it is given, and hands back what it plotted."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency

from bot.i18n import Translator
from core.money import currency_exponent
from core.services.staff.stats import StaffStats

WIDTH_INCHES, HEIGHT_INCHES, DPI = 9.0, 6.4, 100
COLOURS = {
    "new": "#2e7d32",
    "expansion": "#81c784",
    "contraction": "#ef6c00",
    "churned": "#c62828",
    "net": "#212121",
    "collected": "#1565c0",
    "refunded": "#9e9e9e",
}
CROWDED = 8
"""More months than this and the month labels lean."""


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the chart plots: per month (oldest first), amounts in minor units of `currency`;
    contraction and churn are drawn below zero."""

    currency: str
    months: tuple[str, ...]
    new: tuple[int, ...]
    expansion: tuple[int, ...]
    contraction: tuple[int, ...]
    churned: tuple[int, ...]
    collected: tuple[int, ...]
    refunded: tuple[int, ...]

    @property
    def net(self) -> tuple[int, ...]:
        return tuple(
            n + e - c - d
            for n, e, c, d in zip(
                self.new, self.expansion, self.contraction, self.churned, strict=True
            )
        )


@dataclass(frozen=True, slots=True)
class ChartWords:
    """The chart's words in the reader's language."""

    language: str
    title: str
    movements: str
    money: str
    new: str
    expansion: str
    contraction: str
    churned: str
    net: str
    collected: str
    refunded: str


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    data: ChartData


def month_label(t: Translator, start: datetime) -> str:
    """A calendar month as the reader writes it ("Jan 2026", "thg 1 2026")."""
    return str(format_date(start.date(), "MMM y", locale=t.language))


def chart_title(t: Translator, months: int) -> str:
    return t.plural(
        "Stats for the last {n} month (calendar months in UTC)",
        "Stats for the last {n} months (calendar months in UTC)",
        months,
    )


def chart_data(figures: StaffStats, t: Translator) -> ChartData:
    months = figures.months
    return ChartData(
        currency=figures.currency,
        months=tuple(month_label(t, m.start) for m in months),
        new=tuple(m.new.minor for m in months),
        expansion=tuple(m.expansion.minor for m in months),
        contraction=tuple(m.contraction.minor for m in months),
        churned=tuple(m.churned.minor for m in months),
        collected=tuple(m.collected.minor for m in months),
        refunded=tuple(m.refunded.minor for m in months),
    )


def chart_words(t: Translator, months: int) -> ChartWords:
    return ChartWords(
        language=t.language,
        title=chart_title(t, months),
        movements=t("MRR movements"),
        money=t("Money collected and refunded"),
        new=t("New"),
        expansion=t("Expansion"),
        contraction=t("Contraction"),
        churned=t("Churned"),
        net=t("Net change"),
        collected=t("Collected"),
        refunded=t("Refunded"),
    )


def chart_filename(figures: StaffStats) -> str:
    return f"stats-{figures.at:%Y-%m-%d}.png"


async def draw_chart(figures: StaffStats, t: Translator) -> Chart:
    """The chart of `figures`, drawn in a worker thread."""
    data = chart_data(figures, t)
    words = chart_words(t, len(data.months))
    png = await asyncio.to_thread(render_png, data, words)
    return Chart(png, data)


def axis_money(minor: float, currency: str, language: str) -> str:
    """An axis tick as a short amount in the reader's locale ("$2.1K", "2,1 N US$")."""
    amount = Decimal(round(minor)).scaleb(-currency_exponent(currency))
    return str(format_compact_currency(amount, currency, locale=language, fraction_digits=1))


def _span(data: ChartData) -> tuple[int, int]:
    """The movements' y range with some room: the stacked bars' sticky edges would otherwise
    clip the tallest one at the frame."""
    above = [n + e for n, e in zip(data.new, data.expansion, strict=True)]
    below = [-(c + d) for c, d in zip(data.contraction, data.churned, strict=True)]
    high, low = max([0, *above, *data.net]), min([0, *below, *data.net])
    room = max((high - low) // 10, 1)
    return low - room, high + room


def render_png(data: ChartData, words: ChartWords) -> bytes:
    """Draw the PNG (blocking: call it off the event loop)."""
    # Imported here, in the drawing thread: matplotlib takes about a second to import, which
    # no process that never draws a chart should pay at start.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    # Fixed margins: matplotlib's constrained layout would double the drawing time.
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    crowded = len(data.months) > CROWDED
    figure.subplots_adjust(
        left=0.1, right=0.79, top=0.89, bottom=0.18 if crowded else 0.1, hspace=0.28
    )
    FigureCanvasAgg(figure)
    movements, money = figure.subplots(2, 1)
    x = list(range(len(data.months)))
    below = [-v for v in data.contraction]
    movements.bar(x, data.new, color=COLOURS["new"], label=words.new)
    movements.bar(
        x, data.expansion, bottom=data.new, color=COLOURS["expansion"], label=words.expansion
    )
    movements.bar(x, below, color=COLOURS["contraction"], label=words.contraction)
    movements.bar(
        x,
        [-v for v in data.churned],
        bottom=below,
        color=COLOURS["churned"],
        label=words.churned,
    )
    movements.plot(x, data.net, color=COLOURS["net"], marker="o", label=words.net)
    movements.axhline(0, color=COLOURS["net"], linewidth=0.8)
    movements.set_ylim(*_span(data))
    movements.set_xticks([])  # the months are named under the lower panel only
    movements.set_xlim(-0.6, len(x) - 0.4)
    money.set_xlim(-0.6, len(x) - 0.4)
    movements.set_title(words.movements)
    width = 0.4
    money.bar(
        [i - width / 2 for i in x],
        data.collected,
        width,
        color=COLOURS["collected"],
        label=words.collected,
    )
    money.bar(
        [i + width / 2 for i in x],
        data.refunded,
        width,
        color=COLOURS["refunded"],
        label=words.refunded,
    )
    money.margins(y=0.1)
    money.set_title(words.money)
    if crowded:
        money.set_xticks(x, data.months, rotation=45, ha="right", rotation_mode="anchor")
    else:
        money.set_xticks(x, data.months)
    ticks = FuncFormatter(lambda value, _: axis_money(value, data.currency, words.language))
    for axes in (movements, money):
        axes.yaxis.set_major_formatter(ticks)
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.suptitle(words.title)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
