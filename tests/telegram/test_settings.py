"""/notify and /timezone in Telegram, through PTB and the fake Bot API: the buttons toggle,
a typed window and a typed zone are taken, and the command menu offers both."""

from __future__ import annotations

from sqlalchemy import select

from core.model import Workspace
from core.services.context import Context
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_journey import OWNER, create_workspace


async def workspace(services: Context) -> Workspace:
    async with services.db.read() as session:
        found = await session.scalar(select(Workspace))
    assert found is not None
    return found


async def test_an_owner_turns_reminders_off_and_sets_quiet_hours_by_buttons_and_typing(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg)
    shown = await tg.say(OWNER, "/notify")
    assert "Quiet hours: 22:00\u201307:00 (UTC)" in shown
    assert "Reminders are off." in await tg.tap(OWNER, "Turn reminders off")
    assert "Type the quiet hours in UTC" in await tg.tap(OWNER, "Set quiet hours")
    assert "Quiet hours are now 23:00\u201306:30 (UTC)." in await tg.say(OWNER, "23:00-06:30")
    stored = await workspace(services)
    assert (stored.reminders_on, stored.receipts_on) == (False, True)
    assert (stored.quiet_from, stored.quiet_until) == (23 * 60, 6 * 60 + 30)
    menu = api.made("setMyCommands")[0]["commands"]
    assert {"notify", "timezone"} <= {c["command"] for c in menu}


async def test_an_owner_sets_the_zone_by_argument_and_junk_is_refused(
    tg: Telegram, services: Context
) -> None:
    await create_workspace(tg)
    refused = await tg.say(OWNER, "/timezone Nowhere/At_All")
    assert "That is not a time zone I know." in refused
    assert (await workspace(services)).timezone == "UTC"
    shown = await tg.say(OWNER, "/timezone asia/ho_chi_minh")
    assert "The time zone is now Asia/Ho_Chi_Minh" in shown
    assert (await workspace(services)).timezone == "Asia/Ho_Chi_Minh"
