"""Staff chats on Telegram: flagged payments and approvals posted to the staff group with
buttons any staff member may tap (and no one else may use), notices with their one-tap
action, and /staff in the command menu of staff chats only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from adapters.sandbox import Outcome, complete_sandbox_payment
from core.access import Actor
from core.model import Workspace
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import Chat, place_order
from core.staff import StaffDirectory, parse_staff, parse_staff_chats
from core.staff_notices import ApprovalVerb, PendingApproval, to_staff_chats
from tests.staff_chats import ShowProbe, flag_a_sandbox_payment, install_show_probe
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi, plain
from tests.telegram.test_journey import OWNER, create_workspace

STAFF, OTHER_STAFF, OUTSIDER = 5005, 5006, 6006
STAFF_GROUP = -100555


@pytest.fixture
def services(services: Context) -> Context:
    staff = StaffDirectory(
        parse_staff(f"telegram:{STAFF}=manager,telegram:{OTHER_STAFF}=viewer"),
        parse_staff_chats(f"telegram:{STAFF_GROUP}"),
    )
    return replace(services, staff=staff)


@pytest.fixture
def show_probe(monkeypatch: pytest.MonkeyPatch) -> ShowProbe:
    return install_show_probe(monkeypatch)


@pytest.fixture
async def customer(hook: Telegram, services: Context) -> int:
    """The workspace OWNER made through the chat."""
    await create_workspace(hook)
    async with services.db.read() as session:
        found = await session.scalar(select(Workspace.id))
    assert found is not None
    return found


def buttons(api: FakeBotApi, chat_id: int) -> dict[str, str]:
    return api.menu(chat_id)[1]


async def test_a_flagged_payment_is_posted_to_the_staff_group_and_show_works_for_staff_only(
    hook: Telegram, api: FakeBotApi, services: Context, customer: int, show_probe: ShowProbe
) -> None:
    flagged = await flag_a_sandbox_payment(services, Actor("telegram", str(OWNER)), customer)
    assert hook.bot is not None
    await hook.bot.deliver_notices()
    posted = api.texts(STAFF_GROUP)[-1]
    assert f"Flagged payment in Acme (#{customer})." in posted
    assert f"Payment {flagged.payment} of $30.00 for order {flagged.order}" in posted
    notice_id, shown = api.menu(STAFF_GROUP)
    assert set(shown) == {"Refund", "Credit", "Show"}
    assert shown["Show"].endswith(f":run:staff:show {customer}")

    text = await hook.tap(STAFF, "Show", chat=STAFF_GROUP)
    assert f"Showing workspace {customer}." in text
    text = await hook.tap(OTHER_STAFF, "Show", chat=STAFF_GROUP)
    assert f"Showing workspace {customer}." in text
    assert show_probe.calls == [(str(STAFF), str(customer)), (str(OTHER_STAFF), str(customer))]
    text = await hook.tap(OUTSIDER, "Show", chat=STAFF_GROUP)
    assert "Only support staff can do that." in text
    assert len(show_probe.calls) == 2
    # The notice is left as it was for the others in the group: the answers followed it.
    assert api.menu(STAFF_GROUP)[0] == notice_id
    assert f"Flagged payment in Acme (#{customer})." in plain(
        api.messages[(STAFF_GROUP, notice_id)]["text"]
    )


async def test_a_pending_approval_is_posted_with_approve_and_reject(
    hook: Telegram, api: FakeBotApi, services: Context, customer: int
) -> None:
    pending = PendingApproval(
        action=31,
        verb=ApprovalVerb.CREDIT,
        workspace_id=customer,
        workspace="Acme",
        amount=250000,
        currency="USD",
        requester="telegram:5005 (manager)",
        reason_code="courtesy",
    )
    for notice in to_staff_chats(services.staff, pending):
        await services.notifier.notify(notice)
    assert hook.bot is not None and await hook.bot.deliver_notices() == 1
    assert "asks to credit $2,500.00 to Acme" in api.texts(STAFF_GROUP)[-1]
    shown = buttons(api, STAFF_GROUP)
    assert shown["Approve"] == "0.0:run:staff:approve 31"
    assert shown["Reject"] == "0.0:run:staff:reject 31"


async def test_a_failed_payment_notice_offers_upgrade_in_one_tap(
    hook: Telegram, api: FakeBotApi, services: Context, customer: int
) -> None:
    placed = await place_order(
        services,
        Actor("telegram", str(OWNER)),
        customer,
        Terms("cc1", 1, 1),
        chat=Chat("telegram", str(OWNER)),
    )
    failed = await complete_sandbox_payment(services, placed.reference, fail=True)
    assert failed.outcome == Outcome.FAILED
    assert hook.bot is not None and await hook.bot.deliver_notices() == 1
    assert f"The payment for order {placed.reference} failed" in api.texts(OWNER)[-1]
    text = await hook.tap(OWNER, "Upgrade")
    assert "Choose a package." in text


async def test_someone_not_on_the_staff_is_told_so_when_sending_staff_privately(
    hook: Telegram,
) -> None:
    assert "Only support staff can do that." in await hook.say(OUTSIDER, "/staff")
    assert "Only support staff can do that." in await hook.say(OUTSIDER, "/staff show 1")


async def test_staff_appears_in_the_command_menu_of_staff_chats_only(
    hook: Telegram, api: FakeBotApi
) -> None:
    assert hook.bot is not None
    await hook.bot.initialize()
    scoped = [c for c in api.made("setMyCommands") if c.get("scope")]
    assert {(c["scope"]["type"], c["scope"]["chat_id"]) for c in scoped} == {
        ("chat", STAFF),
        ("chat", OTHER_STAFF),
        ("chat", STAFF_GROUP),
    }
    assert {c.get("language_code") for c in scoped} == {None, "en", "vi"}
    for chat in (STAFF, OTHER_STAFF, STAFF_GROUP):
        for language in ("en", "vi", "fr"):
            assert "staff" in api.commands_for(chat, language)
    for chat in (OWNER, OUTSIDER, -100777):
        assert "plans" in api.commands_for(chat, "en")
        assert "staff" not in api.commands_for(chat, "en")
    vi = next(c for c in scoped if c.get("language_code") == "vi")
    assert any("nhân viên hỗ trợ" in c["description"] for c in vi["commands"])


@pytest.fixture
async def unstarted(api: FakeBotApi, services: Context) -> AsyncIterator[Telegram]:
    """The bot started while a staff member had never opened a chat with it."""
    api.never_started.add(STAFF)
    telegram = Telegram(api, services, "webhook")
    await telegram.start()
    assert telegram.bot is not None
    await telegram.bot.initialize()
    yield telegram
    await telegram.stop()


async def test_a_staff_member_who_had_not_started_the_bot_gets_the_menu_on_writing(
    unstarted: Telegram, api: FakeBotApi
) -> None:
    assert "staff" not in api.commands_for(STAFF, "en")
    assert "staff" in api.commands_for(OTHER_STAFF, "en")
    api.never_started.discard(STAFF)  # they press Start
    await unstarted.say(STAFF, "/help")
    assert "staff" in api.commands_for(STAFF, "en")
    assert "staff" in api.commands_for(STAFF, "vi")
