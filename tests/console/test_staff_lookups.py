"""The look-up verbs at the console: each answers with an argument and asks for it from the
menu, the card is in the customer's time zone with the buttons the tier may use, the audit
pages, a missing workspace is refused, and customers are refused every verb."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.access import StaffTier
from core.model import Conversation
from core.services.context import Context, audit
from core.staff import StaffDirectory
from tests.conftest import START
from tests.console.conftest import Chat, ChatFactory
from tests.integration.staff_seed import SUPPORT, Seeded, seed_customer

LOOKUP_VERBS = ("find", "show", "audit", "orders", "payments", "flagged", "notices")


async def staff_desk(open_console: ChatFactory, user: str = "sam") -> Chat:
    """A manager at the console, on no customer workspace."""
    return await open_console(user=user, role="staff", workspace=None)


async def as_tier(services: Context, open_console: ChatFactory, tier: StaffTier) -> Chat:
    """A console person of the vendor's with `tier` (listed in the staff directory)."""
    services.staff = StaffDirectory({f"console:{tier.value}": tier})
    return await open_console(user=tier.value, role="member", workspace="vendor")


async def conversation_step(services: Context, user: str) -> tuple[str | None, str | None]:
    async with services.db.read() as session:
        row = await session.scalar(select(Conversation).where(Conversation.user_id == user))
        assert row is not None
        return row.flow, row.step


@pytest.fixture
async def seeded(services: Context) -> Seeded:
    return await seed_customer(services)


async def test_find_lists_the_hits_and_a_hit_opens_the_workspace(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    text = await staff.say("/staff find acme")
    ws = seeded.workspace_id
    assert "Workspaces for 'acme':" in text
    assert (
        f"#{ws} Acme Support (telegram) - by name - cc1 × 5 Active, cc2 × 10 Try - 2 billing admins"
    ) in text
    assert f"[1] #{ws} Acme Support" in text
    assert f"Workspace #{ws} Acme Support (telegram)" in await staff.say("1")


async def test_find_says_when_nothing_matches_and_refuses_an_overlong_text(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    assert "No workspace matches 'nobody'." in await staff.say("/staff find nobody")
    text = await staff.say("/staff find " + "x" * 10_000)
    assert "That is too long to look for: at most 200 characters." in text


async def test_the_card_is_in_the_customer_time_zone_with_the_manager_next_steps(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    text = await staff.say(f"/staff show {seeded.workspace_id}")
    assert "Time zone: Asia/Ho_Chi_Minh - credit balance: $0.00" in text
    assert (
        "- Contact Center 1, 5 accounts, 12 months - Active - period ends Jan 15, 2027 17:00 +07"
    ) in text
    assert "- Contact Center 2, 10 accounts, 1 month - Try - trial ends Jan 29, 2026 17:00 +07" in (
        text
    )
    pending = seeded.pending.reference
    assert (
        f"- {pending} (added accounts): Contact Center 1, 8 accounts, 12 months"
        " - due now $459.00 - link valid until Jan 15, 2026 17:30 +07"
    ) in text
    assert "$765.00 applied - fake " + seeded.first_payment + " - refunded $10.00" in text
    assert f"- {pending}: $1.00 amount mismatch - paid 100 USD, the order asks 45900 USD" in text
    assert "Members (3):\n- telegram 1001 - owner\n- telegram 1002 - admin" in text
    labels = text.split("What next?\n", 1)[1].splitlines()
    assert labels == [
        "[1] Audit log",
        "[2] Orders",
        "[3] Payments",
        "[4] Notices",
        "[5] Extend the trial",
        "[6] Send a fresh payment link",
        "[7] Grant accounts",
        "[8] Unsubscribe",
        "[9] Cancel now",
        "[10] Add credit",
        f"[11] Refund {seeded.paid.reference}",
    ]


async def test_a_viewer_is_offered_only_the_lookups_and_an_agent_no_manager_change(
    services: Context, open_console: ChatFactory, seeded: Seeded
) -> None:
    viewer = await as_tier(services, open_console, StaffTier.VIEWER)
    text = await viewer.say(f"/staff show {seeded.workspace_id}")
    assert text.split("What next?\n", 1)[1].splitlines() == [
        "[1] Audit log",
        "[2] Orders",
        "[3] Payments",
        "[4] Notices",
    ]
    agent = await as_tier(services, open_console, StaffTier.AGENT)
    text = await agent.say(f"/staff show {seeded.workspace_id}")
    shown = text.split("What next?\n", 1)[1]
    assert "Grant accounts" in shown and "Unsubscribe" in shown
    assert not any(word in shown for word in ("Cancel now", "Add credit", "Refund"))


async def test_a_viewer_may_use_every_lookup_verb(
    services: Context, open_console: ChatFactory, seeded: Seeded
) -> None:
    viewer = await as_tier(services, open_console, StaffTier.VIEWER)
    ws = seeded.workspace_id
    expected = {
        "find acme": "Workspaces for 'acme':",
        f"show {ws}": f"Workspace #{ws} Acme Support",
        f"audit {ws}": f"Audit of #{ws} Acme Support, page 1, newest first:",
        f"orders {ws}": f"Orders of #{ws} Acme Support, newest first:",
        f"payments {ws}": f"Payments of #{ws} Acme Support, newest first:",
        "flagged": "Payments that need support, oldest first:",
        f"notices {ws}": f"Notices of #{ws} Acme Support, newest first:",
    }
    for typed, answer in expected.items():
        assert answer in await viewer.say(f"/staff {typed}")
    text = await viewer.say("/staff")
    for label in ("Find a workspace", "Show a workspace", "Audit log", "Flagged payments"):
        assert label in text


async def test_a_customer_is_refused_every_lookup_verb(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    admin = await open_console()
    for verb in (*LOOKUP_VERBS, ""):
        text = await admin.say(f"/staff {verb} {seeded.workspace_id}")
        assert "Only support staff can do that." in text
        assert "Acme Support" not in text


async def test_the_audit_pages_with_next_and_previous_buttons(
    services: Context, open_console: ChatFactory, seeded: Seeded
) -> None:
    async with services.db.unit_of_work() as session:
        for n in range(15):
            audit(
                session,
                at=START,
                workspace_id=seeded.workspace_id,
                actor=SUPPORT,
                action=f"support.note_{n:02}",
            )
    staff = await staff_desk(open_console)
    text = await staff.say(f"/staff audit {seeded.workspace_id}")
    assert "page 1, newest first:" in text and "support.note_14" in text
    assert "support.note_04" not in text
    assert "[1] Next page" in text and "Previous page" not in text
    text = await staff.say("Next page")
    assert "page 2, newest first:" in text and "support.note_04" in text
    assert "[1] Previous page\n[2] Next page\n[3] Back to the workspace" in text
    assert "page 1, newest first:" in await staff.say("Previous page")
    text = await staff.say("/staff audit Acme Support 3")
    assert "page 3, newest first:" in text and "workspace.create" in text
    assert "Next page" not in text


async def test_orders_payments_notices_and_flagged_show_their_lines(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    ws, paid = seeded.workspace_id, seeded.paid.reference
    text = await staff.say(f"/staff orders {ws}")
    assert f"{paid} (new purchase) - paid: Contact Center 1, 5 accounts, 12 months" in text
    assert "  total $765.00, due now $765.00, paid $765.00, refunded $10.00" in text
    assert f"[1] Refund {paid}\n[2] Back to the workspace" in text
    text = await staff.say(f"/staff payments {ws}")
    assert (
        f"  refund {seeded.refund}: $10.00 on Jan 15, 2026 17:00 +07 by console:sam: goodwill"
        in (text)
    )
    text = await staff.say(f"/staff notices {ws}")
    assert "- Jan 15, 2026 17:00 +07: trial.reminder to telegram 1001 - pending" in text
    assert "payment.succeeded to telegram -100555 - sent on Jan 15, 2026 17:00 +07" in text
    text = await staff.say("/staff flagged")
    assert f"- Jan 15, 2026 10:00 UTC: #{ws} Acme Support - {seeded.pending.reference}:" in text
    assert f"[1] #{ws} Acme Support" in text
    assert f"Workspace #{ws} Acme Support" in await staff.say("1")


async def test_from_the_menu_a_verb_asks_for_its_workspace_and_asks_again_after_a_refusal(
    services: Context, open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    await staff.say("/staff")
    text = await staff.say("Orders")
    assert "Which workspace? Type its id or its name. (/back /cancel)" in text
    assert await conversation_step(services, "sam") == ("staff", "orders_argument")
    text = await staff.say("nobody")
    assert "There is no workspace 'nobody'.\nWhich workspace?" in text
    assert await conversation_step(services, "sam") == ("staff", "orders_argument")
    assert "Orders of" in await staff.say("acme support")
    assert await conversation_step(services, "sam") == (None, None)
    await staff.say("/staff", "Find a workspace")
    assert "Support staff: what would you like to do?" in await staff.say("/back")
    assert "Payments that need support" in await staff.say("Flagged payments")
    assert await conversation_step(services, "sam") == (None, None)


async def test_a_missing_workspace_or_a_junk_argument_is_a_clear_refusal(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await staff_desk(open_console)
    for verb in ("show", "audit", "orders", "payments", "notices"):
        assert "There is no workspace 'nobody'." in await staff.say(f"/staff {verb} nobody")
        assert "There is no workspace '99999999999'." in await staff.say(
            f"/staff {verb} 99999999999"
        )
    assert "Pages go from 1 to 10000." in await staff.say(f"/staff audit {seeded.workspace_id} 0")
    text = await staff.say(f"/staff audit {seeded.workspace_id} 99999999")
    assert "Pages go from 1 to 10000." in text


async def test_staff_nonsense_lists_the_verbs(open_console: ChatFactory) -> None:
    staff = await staff_desk(open_console)
    text = await staff.say("/staff nonsense")
    assert (
        "There is no staff verb 'nonsense'. Yours: find, show, audit, orders, payments,"
        " flagged, notices"
    ) in text


async def test_the_card_speaks_vietnamese_with_money_and_dates_per_locale(
    open_console: ChatFactory, seeded: Seeded
) -> None:
    staff = await open_console(user="sam", role="staff", workspace=None, language="vi")
    text = await staff.say(f"/staff show {seeded.workspace_id}")
    assert "Múi giờ: Asia/Ho_Chi_Minh" in text
    assert "765,00\xa0US$" in text
    assert "Audit log" not in text
