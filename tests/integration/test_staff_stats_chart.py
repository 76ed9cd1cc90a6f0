"""The stats chart and the words around it: what the chart plots and the text says are the
story's figures; the PNG is a real, small picture drawn off the event loop; the caption fits a
Telegram photo."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image as PILImage

import bot.chart
from bot.chart import ChartData, chart_data, draw_chart
from bot.flows.staff.stats import CAPTION_LIMIT, caption, summary
from bot.i18n import Translator
from core.clock import FixedClock
from core.money import Money
from core.services.context import Context
from core.services.staff.stats import stats
from tests.integration.stats_story import MANAGER, MONTHS, Story, tell

PNG = b"\x89PNG\r\n\x1a\n"
TELEGRAM_TEXT_LIMIT = 4096


@pytest.fixture
async def story(ctx: Context, clock: FixedClock) -> Story:
    return await tell(ctx, clock)


def plotted(data: ChartData, name: str) -> dict[str, int]:
    return dict(zip(MONTHS, getattr(data, name), strict=True))


async def test_the_chart_plots_the_storys_figures(ctx: Context, story: Story) -> None:
    chart = await draw_chart(await stats(ctx, MANAGER), Translator("en"))
    assert chart.data.currency == "USD"
    assert chart.data.months == (
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
        "Apr 2026",
        "May 2026",
        "Jun 2026",
    )
    for name in ("new", "expansion", "contraction", "churned", "collected", "refunded"):
        assert plotted(chart.data, name) == {m: getattr(story, name)[m] for m in MONTHS}, name
    assert chart.data.net == tuple(
        story.new[m] + story.expansion[m] - story.contraction[m] - story.churned[m] for m in MONTHS
    )


async def test_the_chart_is_a_small_png(ctx: Context, story: Story) -> None:
    for language, months in (("en", 6), ("vi", 24)):
        chart = await draw_chart(await stats(ctx, MANAGER, months), Translator(language))
        assert chart.png.startswith(PNG)
        assert len(chart.png) < 200_000
        with PILImage.open(io.BytesIO(chart.png)) as picture:
            picture.load()
            assert picture.format == "PNG"
            assert picture.size == (900, 640)


async def test_the_chart_is_drawn_in_a_worker_thread(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn_in: list[threading.Thread] = []
    draw = bot.chart.render_png

    def recorded(data: ChartData, words: bot.chart.ChartWords) -> bytes:
        drawn_in.append(threading.current_thread())
        return draw(data, words)

    monkeypatch.setattr(bot.chart, "render_png", recorded)
    chart = await draw_chart(await stats(ctx, MANAGER), Translator("en"))
    assert chart.png.startswith(PNG)
    assert drawn_in and drawn_in[0] is not threading.main_thread()


async def test_vietnamese_months_and_words(ctx: Context, story: Story) -> None:
    figures = await stats(ctx, MANAGER, 3)
    t = Translator("vi")
    assert chart_data(figures, t).months == ("thg 4 2026", "thg 5 2026", "thg 6 2026")
    words = bot.chart.chart_words(t, 3)
    assert (words.new, words.churned, words.collected) == ("Mới", "Rời bỏ", "Đã thu")
    assert bot.chart.axis_money(250_000, "USD", "vi") == "2,5\xa0N\xa0US$"
    assert bot.chart.axis_money(250_000, "USD", "en") == "$2.5K"


async def test_the_summary_says_each_months_figures(ctx: Context, story: Story) -> None:
    t = Translator("en")
    text = summary(t, await stats(ctx, MANAGER))
    assert f"MRR: {t.money(Money(story.mrr, 'USD'))} (Active subscriptions" in text
    labels = dict(zip(MONTHS, ("Jan", "Feb", "Mar", "Apr", "May", "Jun"), strict=True))
    for m in MONTHS:

        def usd(name: str, month: str = m) -> str:
            return t.money(Money(getattr(story, name)[month], "USD"))

        line = (
            f"{labels[m]} 2026: new {usd('new')}, expansion {usd('expansion')}, contraction "
            f"{usd('contraction')}, churned {usd('churned')}; collected {usd('collected')}, "
            f"refunded {usd('refunded')}"
        )
        assert line in text.splitlines()


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_the_texts_fit_telegram_even_for_24_months(
    ctx: Context, story: Story, language: str
) -> None:
    t = Translator(language)
    figures = await stats(ctx, MANAGER, 24)
    short = caption(t, figures)
    assert len(short) <= CAPTION_LIMIT
    assert t.money(figures.mrr) in short
    assert len(summary(t, figures)) <= TELEGRAM_TEXT_LIMIT
