"""The look-up verbs through PTB and the fake Bot API: each verb once, the card's buttons,
an old message's button, the staff flow's own checks (staff chats, customers, unknown verbs)
and an answer that stays within one Telegram message."""

from __future__ import annotations

import pytest

from core.access import Actor, StaffTier
from core.services.context import Context, audit
from core.staff import StaffChat, StaffDirectory
from tests.conftest import START
from tests.integration.staff_seed import OWNER, Seeded, seed_customer
from tests.telegram.conftest import GROUP, Telegram
from tests.telegram.fake_api import FakeBotApi

MANAGER, VIEWER = 5005, 6006
STAFF_GROUP = -100999


@pytest.fixture
async def seeded(services: Context) -> Seeded:
    services.staff = StaffDirectory(
        {f"telegram:{MANAGER}": StaffTier.MANAGER, f"telegram:{VIEWER}": StaffTier.VIEWER},
        chats=(StaffChat("telegram", str(STAFF_GROUP)),),
    )
    return await seed_customer(services)


async def test_a_viewer_runs_each_lookup_verb_in_a_private_chat(
    tg: Telegram, seeded: Seeded
) -> None:
    ws = seeded.workspace_id
    expected = {
        "find acme": f"#{ws} Acme Support (telegram) - by name",
        f"show {ws}": "Time zone: Asia/Ho_Chi_Minh - credit balance: $0.00",
        f"audit {ws}": "console:sam (manager) - support.refund",
        f"orders {ws}": f"{seeded.paid.reference} (new purchase) - paid",
        f"payments {ws}": "$765.00 applied - fake " + seeded.first_payment,
        "flagged": "Payments that need support, oldest first:",
        f"notices {ws}": "trial.reminder to telegram 1001 - pending",
    }
    for typed, answer in expected.items():
        assert answer in await tg.say(VIEWER, f"/staff {typed}"), typed


async def test_a_hit_opens_the_card_whose_buttons_run_the_next_lookups(
    tg: Telegram, api: FakeBotApi, seeded: Seeded
) -> None:
    ws = seeded.workspace_id
    await tg.say(MANAGER, "/staff find Acme")
    text = await tg.tap(MANAGER, f"#{ws} Acme Support")
    assert "period ends Jan 15, 2027 17:00 +07" in text
    _, buttons = api.menu(MANAGER)
    assert list(buttons)[-2:] == ["Add credit", f"Refund {seeded.paid.reference}"]
    assert buttons[f"Refund {seeded.paid.reference}"].endswith(
        f":run:staff:refund {seeded.paid.reference}"
    )
    text = await tg.tap(MANAGER, "Audit log")
    assert f"Audit of #{ws} Acme Support, page 1, newest first:" in text
    assert "Time zone:" in await tg.tap(MANAGER, "Back to the workspace")


async def test_a_button_of_an_old_message_still_runs_its_lookup(
    tg: Telegram, api: FakeBotApi, seeded: Seeded
) -> None:
    await tg.say(MANAGER, f"/staff show {seeded.workspace_id}")
    old, buttons = api.menu(MANAGER)
    await tg.say(MANAGER, "/staff flagged")
    await tg.say(MANAGER, "/plans")
    text = await tg.deliver_tap(MANAGER, buttons["Orders"], old)
    assert f"Orders of #{seeded.workspace_id} Acme Support" in text
    assert "out of date" not in text


async def test_from_the_menu_show_asks_for_the_workspace_and_takes_a_typed_one(
    tg: Telegram, seeded: Seeded
) -> None:
    assert "Support staff: what would you like to do?" in await tg.say(MANAGER, "/staff")
    text = await tg.tap(MANAGER, "Show a workspace")
    assert "Which workspace? Type its id or its name." in text
    assert "There is no workspace 'nobody'." in await tg.say(MANAGER, "nobody")
    assert "Members (3):" in await tg.say(MANAGER, "acme support")


async def test_staff_work_in_a_staff_group_only_and_customers_are_refused(
    tg: Telegram, seeded: Seeded
) -> None:
    text = await tg.say(MANAGER, "/staff flagged", chat=GROUP)
    assert "Support commands work in a private chat with me or in a staff group chat." in text
    text = await tg.say(MANAGER, "/staff@planbot_test_bot flagged", chat=STAFF_GROUP)
    assert "Payments that need support, oldest first:" in text
    text = await tg.say(int(OWNER.user_id), f"/staff show {seeded.workspace_id}")
    assert "Only support staff can do that." in text
    text = await tg.say(MANAGER, "/staff nonsense")
    assert "There is no staff verb 'nonsense'. Yours: find, show, audit," in text


async def test_a_long_audit_page_fits_one_telegram_message(
    tg: Telegram, api: FakeBotApi, services: Context, seeded: Seeded
) -> None:
    async with services.db.unit_of_work() as session:
        for n in range(12):
            audit(
                session,
                at=START,
                workspace_id=seeded.workspace_id,
                actor=Actor("telegram", "9" * 80, tier=StaffTier.MANAGER),
                action="support." + "x" * 56,
                before={f"field_{k}": "<b>" + "y" * 300 for k in range(8)},
                after={f"field_{k}": "&" * 300 for k in range(8)},
                reason="r" * 2000,
                reason_code="other",
                comment="c" * 2000,
                order_id=n,
                payment_id=n,
                refund_id=n,
            )
    text = await tg.say(MANAGER, f"/staff audit {seeded.workspace_id}")
    assert "page 1, newest first:" in text and "Next page" in api.menu(MANAGER)[1]
    assert all(len(t) <= 4096 for t in api.texts(MANAGER))
