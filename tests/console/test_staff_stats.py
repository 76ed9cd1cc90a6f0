"""`/staff stats` at the console: the figures as text, the chart saved as a file whose path is
printed (`Chart: PATH`), in English and Vietnamese; customers are refused and bad months
change nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from core.clock import FixedClock
from core.model import AuditEntry, Conversation
from core.services.context import Context
from tests.console.conftest import ChatFactory
from tests.integration.stats_story import tell

PNG = b"\x89PNG\r\n\x1a\n"


def chart_at(text: str) -> bytes:
    found = re.search(r"^(?:Chart|Biểu đồ): (.+\.png)$", text, re.MULTILINE)
    assert found, text
    return Path(found.group(1)).read_bytes()


def assert_a_small_png(png: bytes) -> None:
    assert png.startswith(PNG)
    assert len(png) < 200_000
    with PILImage.open(io.BytesIO(png)) as picture:
        picture.load()
        assert picture.format == "PNG"
        assert picture.size[0] >= 600 and picture.size[1] >= 400


async def test_staff_see_the_storys_figures_and_the_chart(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    await tell(services, clock)
    staff = await open_console(user="sam", role="staff", workspace=None)
    text = await staff.say("/staff stats")
    assert "Stats for the last 6 months (calendar months in UTC)" in text
    assert "MRR: $2,701.00" in text
    assert "Subscriptions: 3 Active, 1 Try, 3 Inactive" in text
    assert (
        "Accounts: Contact Center 1: 1 Active, 0 Try; Contact Center 2: 120 Active, 10 Try; "
        "Contact Center 3: 4 Active, 0 Try"
    ) in text
    assert (
        "Jan 2026: new $2,305.00, expansion $0.00, contraction $0.00, churned $0.00; "
        "collected $25,680.00, refunded $0.00"
    ) in text
    assert "Mar 2026: new $0.00, expansion $425.00, contraction $0.00, churned $475.00;" in text
    assert "May 2026: new $0.00, expansion $0.00, contraction $0.00, churned $427.50; " in text
    assert "refunded $100.00" in text
    assert_a_small_png(chart_at(text))


async def test_the_chart_and_its_text_speak_vietnamese(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    await tell(services, clock)
    staff = await open_console(user="sam", role="staff", workspace=None, language="vi")
    text = await staff.say("/staff stats 3")
    assert "Thống kê 3 tháng gần nhất" in text
    assert "MRR: 2.701,00\xa0US$" in text
    assert "thg 4 2026: mới 427,50\xa0US$" in text
    assert_a_small_png(chart_at(text))


async def test_the_staff_menu_offers_stats(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    staff = await open_console(user="sam", role="staff", workspace=None)
    assert "Stats" in await staff.say("/staff")
    text = await staff.say("Stats")
    assert "MRR: $0.00" in text
    assert_a_small_png(chart_at(text))


async def test_customers_are_refused_the_stats(open_console: ChatFactory) -> None:
    admin = await open_console()
    text = await admin.say("/staff stats")
    assert "Only support staff can do that." in text
    assert "Chart:" not in text


@pytest.mark.parametrize("months", ["0", "25", "six", "6 months", "-1", "9" * 3000])
async def test_bad_months_are_refused_and_change_nothing(
    open_console: ChatFactory, services: Context, months: str
) -> None:
    staff = await open_console(user="sam", role="staff", workspace=None)
    await staff.say("/staff")

    async def state() -> tuple[object, ...]:
        async with services.db.read() as session:
            conversation = await session.scalar(select(Conversation))
            audits = await session.scalar(select(func.count()).select_from(AuditEntry))
        assert conversation is not None
        return conversation.flow, conversation.step, conversation.version, audits

    before = await state()
    text = await staff.say(f"/staff stats {months}")
    assert "Stats cover 1 to 24 months: type a whole number such as 6." in text
    assert "Chart:" not in text
    assert await state() == before
