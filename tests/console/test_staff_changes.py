"""/staff changes on the console (DESIGN 13): what is missing is asked, the preview shows
exact amounts and dates in the customer's zone, then reason, comment, confirm once, result;
a second tap is already done, a moved state shows the new preview, bad input and tiers that
may not are refused and change nothing, and the billing admins' chats are told."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleChat
from adapters.sandbox import complete_sandbox_payment
from bot.engine import Engine
from bot.flows import all_flows
from bot.vocabulary import Incoming, Tap
from core.access import StaffTier
from core.clock import FixedClock, parse_iso
from core.model import AuditEntry, Conversation, Order, OutboxNotice, Payment, StaffAction
from core.services.context import Context
from tests.console.conftest import Chat, ChatFactory

MONTHLY = "1 month: $25.00 per account"


async def buy(chat: Chat, services: Context, cycle: str = MONTHLY, quantity: str = "10") -> None:
    await chat.say("/upgrade", "Contact Center 2", cycle, quantity, "Next", "Card")
    async with services.db.read() as session:
        order = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert order is not None
    await complete_sandbox_payment(services, order.reference, fail=False)


def tiered(services: Context, user: str, tier: StaffTier) -> Chat:
    """A support person of `tier` at the console's staff desk."""
    ctx = replace(services, staff=services.staff.with_member("console", user, tier))
    buffer = io.StringIO()
    return Chat(ConsoleChat(Engine(ctx, all_flows()), "staff", user, out=buffer), buffer)


async def count(services: Context, model: type[StaffAction] | type[AuditEntry]) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def notices(services: Context, kind: str) -> list[OutboxNotice]:
    async with services.db.read() as session:
        rows = await session.scalars(select(OutboxNotice).where(OutboxNotice.kind == kind))
        return list(rows)


async def state(services: Context, user: str) -> tuple[object, ...]:
    async with services.db.read() as session:
        row = await session.scalar(select(Conversation).where(Conversation.user_id == user))
        assert row is not None
        return (row.step, row.version, row.data)


async def test_extend_a_trial_from_the_menu_asking_what_is_missing(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    staff = await open_console(user="sam", role="staff")
    text = await staff.say("/staff", "Extend a trial")
    assert "Which workspace? Type its id or its name." in text
    assert "By how many days? Type 1 to 365." in await staff.say("acme")
    text = await staff.say("10")
    assert "acme, Contact Center 2: extend the trial by 10 days?" in text
    assert "Trial ends: Jan 29, 2026 10:00 UTC → Feb 8, 2026 10:00 UTC" in text
    assert "Reminders: move with the new end" in text
    assert "[1] Courtesy" in text and "[6] Other" in text
    text = await staff.say("Courtesy", "Skip")
    assert "Reason: Courtesy" in text and "[1] Confirm" in text
    text = await staff.say("Confirm")
    assert "Done (action #1): extend the trial by 10 days." in text
    assert "The workspace's billing admins were told." in text
    [told] = await notices(services, "staff.changed")
    assert (told.chat_platform, told.chat_id) == ("console", "acme:alice")
    assert told.data["after"]["trial_end"] == "2026-02-08T10:00:00Z"


async def test_dates_are_shown_in_the_customer_workspace_zone(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    async with services.db.unit_of_work() as session:
        from core.model import Workspace

        workspace = await session.scalar(select(Workspace))
        assert workspace is not None
        workspace.timezone = "Asia/Ho_Chi_Minh"
    staff = await open_console(user="sam", role="staff")
    text = await staff.say("/staff extend acme 1")
    assert "Trial ends: Jan 29, 2026 17:00 +07 → Jan 30, 2026 17:00 +07" in text


async def test_a_second_tap_of_confirm_is_already_done_with_the_same_result(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    staff = await open_console(user="sam", role="staff")
    await staff.say("/staff extend acme 5", "Courtesy", "Skip")
    console = staff.console
    [confirm] = [o for o in console.options if o.label == "Confirm"]
    tap = Incoming(
        "console",
        console.workspace,
        console.chat,
        "sam",
        tap=Tap(confirm.value, console.version),
        workspace_id=console.workspace_id,
    )
    first = "\n".join(getattr(r, "text", "") for r in await console.engine.handle(tap))
    second = "\n".join(getattr(r, "text", "") for r in await console.engine.handle(tap))
    assert "Done (action #1)" in first
    assert "Already done (action #1): extend the trial by 5 days." in second
    assert first.split("\n")[1] == second.split("\n")[1]
    assert await count(services, StaffAction) == 1
    assert len(await notices(services, "staff.changed")) == 1


async def test_a_confirm_after_another_staff_changed_it_shows_the_new_preview(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    sam = await open_console(user="sam", role="staff")
    kim = await open_console(user="kim", role="staff")
    await sam.say("/staff extend acme 5", "Courtesy", "Skip")
    await kim.say("/staff extend acme 5", "Courtesy", "Skip", "Confirm")
    text = await sam.say("Confirm")
    assert "The workspace changed since the preview, so nothing ran." in text
    assert "Trial ends: Feb 3, 2026 10:00 UTC → Feb 8, 2026 10:00 UTC" in text
    assert await count(services, StaffAction) == 1
    assert "Done (action #2)" in await sam.say("Confirm")


@pytest.mark.parametrize("typed", ["0", "366", "abc", "-1", "٣", "7.5"])
async def test_bad_days_are_refused_and_nothing_moves(
    open_console: ChatFactory, services: Context, typed: str
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    staff = await open_console(user="sam", role="staff")
    await staff.say("/staff extend acme")
    before = await state(services, "sam")
    text = await staff.say(typed)
    assert "Extend a trial by 1 to 365 days." in text
    assert await state(services, "sam") == before
    in_command = await staff.say(f"/staff extend acme {typed}")
    # A last word that is no number is read as part of the workspace's name.
    refused = "1 to 365 days" if typed[-1].isascii() and typed[-1].isdigit() else "no workspace"
    assert refused in in_command
    assert await count(services, StaffAction) == 0


@pytest.mark.parametrize("typed", ["abc", "12.505", "-5", "0", "1e3", "１２"])
async def test_a_junk_amount_is_refused_and_nothing_moves(
    open_console: ChatFactory, services: Context, typed: str
) -> None:
    await open_console()
    staff = await open_console(user="sam", role="staff")
    await staff.say("/staff credit acme")
    before = await state(services, "sam")
    text = await staff.say(typed)
    assert "Type an amount in USD above zero, with at most 2 decimals, such as 12.50." in text
    assert await state(services, "sam") == before
    assert await count(services, StaffAction) == 0


async def test_an_unknown_order_or_workspace_is_refused(
    open_console: ChatFactory, services: Context
) -> None:
    await open_console()
    staff = await open_console(user="sam", role="staff")
    assert "There is no order 'ord_nope'." in await staff.say("/staff refund ord_nope")
    await staff.say("/staff refund")
    assert "There is no order 'ord_x'." in await staff.say("ord_x")
    assert "There is no workspace 'globex'." in await staff.say("/staff grant globex +5")
    assert await count(services, StaffAction) == 0


async def test_grant_then_unsubscribe_then_resume_then_cancel_with_a_prorated_refund(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    await buy(admin, services, "12 months", "100")
    services.staff = replace(services.staff, approval_over=Decimal(1_000_000))
    staff = await open_console(user="sam", role="staff")
    text = await staff.say("/staff grant acme +5")
    assert "Accounts: 100 → 105" in text and "Next renewal or purchase costs: $26,775.00" in text
    assert "Done" in await staff.say("Courtesy", "Skip", "Confirm")
    text = await staff.say("/staff unsubscribe acme", "Requested by the customer", "Skip")
    assert "Status: Active → Active, ending at the period end" in text
    assert "Done" in await staff.say("Confirm")
    assert "Done" in await staff.say("/staff resume acme", "Courtesy", "Skip", "Confirm")
    clock.set(parse_iso("2026-07-15T10:00:00Z"))
    text = await staff.say("/staff cancel acme prorated")
    assert "Refund through the payment provider: $13,497.53 of $25,500.00 refundable" in text
    text = await staff.say("Other", "moved to a competitor", "Confirm")
    assert "Refunded: $13,497.53." in text and "Status: Active → Inactive" in text
    async with services.db.read() as session:
        audits = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("staff.%"))
            )
        )
    assert audits == ["staff.grant", "staff.unsubscribe", "staff.resume", "staff.cancel"]
    assert len(await notices(services, "staff.changed")) == 4


async def test_refund_part_of_an_order_then_resend_needs_an_open_order(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await buy(admin, services)
    async with services.db.read() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    staff = await open_console(user="sam", role="staff")
    text = await staff.say(f"/staff refund {order.reference} 50")
    assert "Refund through the payment provider: $50.00 of $250.00 refundable" in text
    assert "Refunded: $50.00." in await staff.say("Duplicate", "Skip", "Confirm")
    text = await staff.say(f"/staff refund {order.reference} 200.01")
    assert "Refund at most 200.00 USD on this payment." in text
    assert "has nothing that /staff resend applies to" in await staff.say("/staff resend acme")
    await admin.say("/upgrade", "1", "More accounts of Contact Center 2", "12", "Next", "Card")
    text = await staff.say("/staff resend acme")
    assert "a fresh payment link; the old one is withdrawn" in text
    assert "New payment link: http://planbot.test/sandbox/checkout/ord_" in await staff.say(
        "Courtesy", "Skip", "Confirm"
    )


async def test_a_large_credit_waits_for_a_second_manager_who_approves_it(
    open_console: ChatFactory, services: Context
) -> None:
    await open_console()
    sam = await open_console(user="sam", role="staff")
    text = await sam.say("/staff credit acme 1500")
    assert "Above $1,000.00: a second manager must approve it" in text
    text = await sam.say("Billing error", "Skip", "Confirm")
    assert "waits for a second manager: action #1 was posted to the staff chats" in text
    assert "Only" not in await sam.say("/staff approve 1")
    assert await count(services, AuditEntry) >= 1
    kim = await open_console(user="kim", role="staff")
    text = await kim.say("/staff approve 1")
    assert "Action #1: acme: add $1,500.00 to the credit balance?" in text
    assert "Asked by: console:sam" in text
    text = await kim.say("Approve")
    assert "Done (action #1): add $1,500.00 to the credit balance." in text
    assert "Approved by console:kim." in text
    [decided] = await notices(services, "staff.decided")
    assert (decided.chat_id, decided.data["decision"]) == ("acme:sam", "approved")
    assert "already approved by console:kim" in await kim.say("/staff approve 1")


async def test_the_requester_is_refused_approving_and_a_rejection_moves_nothing(
    open_console: ChatFactory, services: Context
) -> None:
    await open_console()
    sam = await open_console(user="sam", role="staff")
    await sam.say("/staff credit acme 2000", "Courtesy", "Skip", "Confirm")
    text = await sam.say("/staff approve 1")
    assert "You asked for action #1: another manager must approve or reject it." in text
    kim = await open_console(user="kim", role="staff")
    assert "Action #1 was rejected: nothing moved." in await kim.say("/staff reject 1", "Reject")
    async with services.db.read() as session:
        from core.model import Workspace

        workspace = await session.scalar(select(Workspace))
        assert workspace is not None and workspace.credit_balance == 0


async def test_a_flagged_payment_is_credited_from_its_button(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/upgrade", "Contact Center 2", MONTHLY, "10", "Next", "Card")
    async with services.db.read() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    from core.services.payments import apply_payment

    await apply_payment(
        services,
        provider="sandbox",
        provider_payment_id="short",
        order_reference=order.reference,
        amount=order.due_now - 1,
        currency="USD",
    )
    async with services.db.read() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None
    staff = await open_console(user="sam", role="staff")
    text = await staff.say(f"/staff credit acme payment:{payment.id}")
    assert "Support flag on the payment: cleared" in text
    assert "Credit balance: $0.00 → $249.99" in text
    assert "Done" in await staff.say("Billing error", "Skip", "Confirm")


@pytest.mark.parametrize(
    ("tier", "verb", "refused"),
    [
        (StaffTier.VIEWER, "extend acme 3", "/staff extend needs the agent tier; yours is viewer."),
        (
            StaffTier.VIEWER,
            "credit acme 5",
            "/staff credit needs the manager tier; yours is viewer.",
        ),
        (StaffTier.AGENT, "cancel acme", "/staff cancel needs the manager tier; yours is agent."),
        (StaffTier.AGENT, "refund ord_x", "/staff refund needs the manager tier; yours is agent."),
        (StaffTier.AGENT, "credit acme 5", "/staff credit needs the manager tier; yours is agent."),
    ],
)
async def test_a_tier_that_may_not_is_refused_and_nothing_moves(
    open_console: ChatFactory, services: Context, tier: StaffTier, verb: str, refused: str
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    staff = tiered(services, "vic", tier)
    assert refused in await staff.say(f"/staff {verb}")
    assert await count(services, StaffAction) == 0


async def test_an_agent_extends_and_grants_but_sees_no_money_verbs(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    agent = tiered(services, "ann", StaffTier.AGENT)
    menu = await agent.say("/staff")
    assert "Extend a trial" in menu and "Refund" not in menu and "Add credit" not in menu
    assert "Done" in await agent.say("/staff grant acme -2", "Courtesy", "Skip", "Confirm")


async def test_the_flow_speaks_vietnamese(open_console: ChatFactory, services: Context) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 2")
    staff = await open_console(user="sam", role="staff", language="vi")
    text = await staff.say("/language vi", "/staff extend acme 2")
    assert "acme, Contact Center 2: gia hạn dùng thử thêm 2 ngày?" in text
    assert "Dùng thử kết thúc: 29 thg 1, 2026 10:00 UTC → 31 thg 1, 2026 10:00 UTC" in text
    text = await staff.say("Hỗ trợ thiện chí", "Bỏ qua", "Xác nhận")
    assert "Đã xong (thao tác #1): gia hạn dùng thử thêm 2 ngày." in text


async def test_the_audit_says_a_changes_reason_and_comment_once_each(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await buy(admin, services)
    staff = await open_console(user="sam", role="staff")
    await staff.say("/staff grant acme +5", "Other", "agreed on the phone", "Confirm")
    text = await staff.say("/staff audit acme")
    assert text.count("agreed on the phone") == 1
    assert "reason: other - comment: agreed on the phone" in text


async def test_a_cancelled_subscription_shows_no_running_period(
    open_console: ChatFactory, services: Context
) -> None:
    admin = await open_console()
    await buy(admin, services)
    staff = await open_console(user="sam", role="staff")
    assert "period ends" in await staff.say("/staff show acme")
    await staff.say("/staff cancel acme none", "Courtesy", "Skip", "Confirm")
    text = await staff.say("/staff show acme")
    assert "Inactive" in text and "period ends" not in text
