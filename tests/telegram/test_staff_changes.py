"""A staff change in Telegram through PTB and the fake Bot API: typed command, preview with
reason buttons, Skip, Confirm, result; a second tap of the same Confirm button answers that it
was already done, and the customer's owner is told in their private chat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.model import OutboxNotice, StaffAction, Subscription
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.staff import StaffDirectory, parse_staff
from tests.telegram.conftest import PUBLIC_URL, Telegram
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_journey import create_workspace

OWNER = 1001
STAFF = 9000


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    from adapters.sandbox import SandboxGateway

    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
        staff=StaffDirectory(parse_staff(f"telegram:{STAFF}=manager")),
    )


async def test_support_extends_a_trial_and_a_second_tap_is_already_done(
    tg: Telegram, api: FakeBotApi, services: Context
) -> None:
    await create_workspace(tg, name="Acme")
    await tg.say(OWNER, "/trial")
    await tg.tap(OWNER, "Contact Center 2")
    text = await tg.say(STAFF, "/staff extend Acme 7")
    assert "Acme, Contact Center 2: extend the trial by 7 days?" in text
    assert "Jan 29, 2026 10:00 UTC → Feb 5, 2026 10:00 UTC" in text
    assert "or Skip" in await tg.tap(STAFF, "Requested by the customer")
    text = await tg.tap(STAFF, "Skip")
    assert "Reason" in text
    message_id, buttons = api.menu(STAFF)
    confirm = buttons["Confirm"]
    text = await tg.tap(STAFF, "Confirm")
    assert "Done (action #1): extend the trial by 7 days." in text
    again = await tg.deliver_tap(STAFF, confirm, message_id)
    assert "Already done (action #1): extend the trial by 7 days." in again
    async with services.db.read() as session:
        sub = await session.scalar(select(Subscription))
        actions = await session.scalar(select(func.count()).select_from(StaffAction))
        told = list(
            await session.scalars(select(OutboxNotice).where(OutboxNotice.kind == "staff.changed"))
        )
    assert sub is not None and sub.trial_ends_at is not None
    assert sub.trial_ends_at.isoformat().startswith("2026-02-05T10:00")
    assert actions == 1
    assert [(n.chat_platform, n.chat_id) for n in told] == [("telegram", str(OWNER))]
    assert tg.bot is not None and await tg.bot.deliver_notices() == 1
    assert len(api.made("answerCallbackQuery")) == sum(
        1 for u in api.updates if "callback_query" in u
    )


async def test_a_customer_cannot_use_staff_verbs(tg: Telegram, services: Context) -> None:
    await create_workspace(tg, name="Acme")
    text = await tg.say(OWNER, "/staff extend Acme 7")
    assert "Only support staff can do that." in text
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(StaffAction)) == 0
