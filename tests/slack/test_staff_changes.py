"""A staff change in Slack through Bolt's HTTP mode and the fake Web API: the /staff command
with its arguments, the preview with reason buttons, Skip, Confirm and the result; a second
press of the same Confirm button answers that it was already done; the admin is told by DM."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.sandbox import SandboxGateway
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.model import OutboxNotice, StaffAction, Subscription, Workspace
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.staff import StaffDirectory, parse_staff
from tests.slack.conftest import CHANNEL, PUBLIC_URL, Slack, buttons, text_of
from tests.slack.fake_api import FakeSlackApi

ADMIN, STAFF = "UADMIN", "USTAFF"


@pytest.fixture
def services(db: Database, catalog: Catalog, clock: FixedClock) -> Context:
    return Context(
        db=db,
        catalog=catalog,
        clock=clock,
        gateway=SandboxGateway(PUBLIC_URL),
        notifier=OutboxNotifier(db, clock),
        staff=StaffDirectory(parse_staff(f"slack:{STAFF}=agent")),
    )


async def staff_command(slack: Slack, user: str, text: str) -> str:
    assert slack.bot is not None
    form = {**slack.command_form(user, text), "command": "/staff"}
    seen, before = len(slack.api.messages(CHANNEL, user)), slack.bot.done
    response = await slack.post_form(form)
    assert response.status_code == 200, response.text
    await slack.settle(before)
    return "\n".join(text_of(m) for m in slack.api.messages(CHANNEL, user)[seen:])


async def test_an_agent_grants_accounts_and_a_second_press_is_already_done(
    slack: Slack, api: FakeSlackApi, services: Context
) -> None:
    api.admins.add(ADMIN)
    await slack.command(ADMIN, "trial")
    await slack.tap(ADMIN, "Contact Center 2")
    async with services.db.read() as session:
        workspace = await session.scalar(select(Workspace))
        assert workspace is not None
    text = await staff_command(slack, STAFF, f"grant {workspace.id} -3")
    assert "remove 3 accounts without charge?" in text
    assert "10 → 7" in text
    await slack.tap(STAFF, "Billing error")
    text = await slack.tap(STAFF, "Skip")
    assert "Billing error" in text
    confirm = buttons(slack.latest(STAFF))["Confirm"]
    text = await slack.tap(STAFF, "Confirm")
    assert "Done (action #1): remove 3 accounts without charge." in text
    again = await slack.press(STAFF, confirm)
    assert "Already done (action #1): remove 3 accounts without charge." in again
    async with services.db.read() as session:
        sub = await session.scalar(select(Subscription))
        count = await session.scalar(select(func.count()).select_from(StaffAction))
        told = list(
            await session.scalars(select(OutboxNotice).where(OutboxNotice.kind == "staff.changed"))
        )
    assert sub is not None and sub.quantity == 7 and count == 1
    assert [(n.chat_platform, n.chat_id) for n in told] == [("slack", ADMIN)]


async def test_an_agent_is_refused_a_refund(slack: Slack, services: Context) -> None:
    text = await staff_command(slack, STAFF, "refund ord_0123")
    assert "/staff refund needs the manager tier; yours is agent." in text
