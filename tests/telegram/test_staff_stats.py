"""`/staff stats` on Telegram through python-telegram-bot and the fake Bot API: the summary as
a message and the chart as a photo (multipart sendPhoto) whose caption carries the key
numbers, in a private chat, from the staff menu, and in a staff group."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image as PILImage

from adapters.sandbox import SandboxGateway
from core.access import StaffTier
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.staff import StaffChat, StaffDirectory
from tests.integration.stats_story import tell
from tests.telegram.conftest import GROUP, PUBLIC_URL, Telegram
from tests.telegram.fake_api import TOKEN, FakeBotApi

STAFF, CUSTOMER = 5005, 6006


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    """The Telegram tests' context, with a viewer on the staff and a staff group."""
    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
        staff=StaffDirectory(
            {f"telegram:{STAFF}": StaffTier.VIEWER}, chats=(StaffChat("telegram", str(GROUP)),)
        ),
    )


def assert_a_chart(png: bytes) -> None:
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 200_000
    with PILImage.open(io.BytesIO(png)) as picture:
        picture.load()
        assert picture.format == "PNG"


async def test_a_viewer_gets_the_summary_and_the_chart_as_a_photo(
    tg: Telegram, api: FakeBotApi, services: Context, clock: FixedClock
) -> None:
    await tell(services, clock)
    text = await tg.say(STAFF, "/staff stats")
    assert "MRR: $2,701.00 (Active subscriptions" in text
    assert "Jan 2026: new $2,305.00, expansion $0.00" in text
    [photo] = api.photos
    assert photo.chat_id == STAFF
    assert photo.filename == "stats-2026-06-20.png"
    assert_a_chart(photo.png)
    assert len(photo.caption) <= 1024
    assert "MRR: $2,701.00" in photo.caption
    assert "Subscriptions: 3 Active, 1 Try, 3 Inactive" in photo.caption


async def test_stats_from_the_staff_menu(tg: Telegram, api: FakeBotApi) -> None:
    assert "Support staff: what would you like to do?" in await tg.say(STAFF, "/staff")
    menu_id, _ = api.menu(STAFF)
    text = await tg.tap(STAFF, "Stats")
    assert "MRR: $0.00" in text
    assert "reply_markup" not in api.messages[(STAFF, menu_id)]
    [photo] = api.photos
    assert photo.chat_id == STAFF
    assert_a_chart(photo.png)


async def test_in_the_staff_group_the_photo_goes_to_the_group(
    tg: Telegram, api: FakeBotApi
) -> None:
    text = await tg.say(STAFF, "/staff stats 3", chat=GROUP)
    assert "Stats for the last 3 months (calendar months in UTC)" in text
    [photo] = api.photos
    assert photo.chat_id == GROUP
    assert "Stats for the last 3 months" in photo.caption


async def test_a_customer_is_refused_and_gets_no_picture(tg: Telegram, api: FakeBotApi) -> None:
    text = await tg.say(CUSTOMER, "/staff stats")
    assert "Only support staff can do that." in text
    assert api.photos == []


async def test_bad_months_are_refused_without_a_picture(tg: Telegram, api: FakeBotApi) -> None:
    text = await tg.say(STAFF, "/staff stats 30")
    assert "Stats cover 1 to 24 months: type a whole number such as 6." in text
    assert api.photos == [] and api.made("sendPhoto") == []


async def test_a_photo_telegram_refuses_leaves_its_caption_as_a_message(
    tg: Telegram, api: FakeBotApi
) -> None:
    api.fail_photos = 1
    text = await tg.say(STAFF, "/staff stats")
    assert api.photos == [] and len(api.made("sendPhoto")) == 1
    assert text.count("Stats for the last 6 months (calendar months in UTC)") == 2
    assert "So far this month:" in text


async def test_the_fake_refuses_photos_telegram_would_refuse(api: FakeBotApi) -> None:
    url = f"/bot{TOKEN}/sendPhoto"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    async with httpx.AsyncClient(base_url=api.url) as http:

        async def send(data: dict[str, str], photo: bytes | None) -> httpx.Response:
            files = None if photo is None else {"photo": ("chart.png", photo, "image/png")}
            return await http.post(url, data=data, files=files)

        assert (await send({"chat_id": "1", "caption": "ok"}, png)).status_code == 200
        assert (await send({"chat_id": "1", "caption": "x" * 1025}, png)).json()[
            "description"
        ] == "Bad Request: message caption is too long"
        assert (await send({"chat_id": "1"}, b"GIF89a")).json()[
            "description"
        ] == "Bad Request: IMAGE_PROCESS_FAILED"
        assert (await send({"chat_id": "1"}, None)).status_code == 400
        assert (await send({"chat_id": "1", "photo": "not-a-file-id"}, None)).status_code == 400
    assert [p.caption for p in api.photos] == ["ok"]
