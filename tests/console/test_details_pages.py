"""The details pages (DESIGN 14, Words): a Try shows its end and that nothing will be
charged; an overdue renewal its amount, its deadline in the workspace's zone and Pay; an
Inactive subscription why it is Inactive. In English and in Vietnamese."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from adapters.sandbox import complete_sandbox_payment
from core.clock import FixedClock
from core.model import Order, Subscription
from core.services.context import Context
from core.services.sweep import sweep
from core.states import InactiveReason, OrderKind, SubscriptionState
from tests.conftest import at
from tests.console.conftest import PUBLIC_URL, Chat, ChatFactory


async def renewal(services: Context) -> Order:
    async with services.db.read() as session:
        found = await session.scalar(select(Order).where(Order.kind == OrderKind.RENEWAL))
    assert found is not None
    return found


async def bought_monthly(chat: Chat, services: Context) -> None:
    """cc1, 1 month, 3 accounts, paid: its period ends Feb 15, 2026 10:00 UTC."""
    await chat.say("/upgrade", "Contact Center 1", "1 month: $15.00 per account", "3", "Next")
    await chat.say("Card")
    async with services.db.read() as session:
        reference = await session.scalar(select(Order.reference).order_by(Order.id.desc()))
    assert reference is not None
    await complete_sandbox_payment(services, reference, fail=False)


async def overdue(chat: Chat, services: Context, clock: FixedClock) -> Order:
    """A day into the grace period, the renewal order unpaid."""
    await bought_monthly(chat, services)
    clock.set(at("2026-02-16T10:00:00Z"))
    await sweep(services)
    return await renewal(services)


async def test_a_try_shows_its_end_and_that_nothing_will_be_charged(
    open_console: ChatFactory,
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    shown = await admin.say("/subscription")
    assert "Contact Center 1 (cc1) - Try" in shown
    assert "Trial ends: Jan 29, 2026 10:00 UTC" in shown
    assert "Nothing will be charged: the trial ends unless you buy the package." in shown
    assert "Next payment" not in shown and "Total" not in shown and "Price:" not in shown


async def test_a_try_in_vietnamese(open_console: ChatFactory) -> None:
    admin = await open_console(language="vi")
    await admin.say("/trial", "Contact Center 1")
    shown = await admin.say("/subscription")
    assert "Dùng thử kết thúc: 29 thg 1, 2026 10:00 UTC" in shown
    assert "Không bị tính phí" in shown
    assert "Thanh toán tiếp theo" not in shown and "Tổng" not in shown


async def test_an_overdue_renewal_shows_the_amount_the_deadline_and_pay(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    order = await overdue(admin, services, clock)
    await admin.say("/timezone Asia/Ho_Chi_Minh")
    shown = await admin.say("/subscription")
    assert "Renewal overdue: $45.00 to pay by Feb 18, 2026 17:00 +07" in shown
    assert "Pay $45.00 for Contact Center 1" in shown
    assert f"Link: {PUBLIC_URL}/sandbox/checkout/{order.reference}" in shown
    assert "Next payment" not in shown
    assert order.payment_link is not None and order.payment_link in shown


async def test_an_overdue_renewal_in_vietnamese(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    order = await overdue(admin, services, clock)
    shown = await admin.say("/language vi", "/subscription")
    assert "Gia hạn quá hạn: cần thanh toán 45,00" in shown
    assert "trước 18 thg 2, 2026 10:00 UTC" in shown
    assert "Thanh toán 45,00\xa0US$ cho Contact Center 1" in shown
    assert order.payment_link is not None and order.payment_link in shown


async def test_an_overdue_renewal_without_its_link_yet_says_it_is_on_its_way(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    order = await overdue(admin, services, clock)
    async with services.db.unit_of_work() as session:
        await session.execute(update(Order).where(Order.id == order.id).values(payment_link=None))
    shown = await admin.say("/subscription")
    assert "Renewal overdue: $45.00 to pay by Feb 18, 2026 10:00 UTC" in shown
    assert "The payment link for Contact Center 1 is on its way" in shown
    assert "send /subscription again in a minute." in shown
    assert "Link:" not in shown


async def test_a_member_sees_the_overdue_amount_but_no_pay_button(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    await overdue(admin, services, clock)
    member = await open_console(user="bob", role="member")
    shown = await member.say("/subscription")
    assert "Renewal overdue: $45.00" in shown
    assert "Pay $45.00" not in shown and "Link:" not in shown


async def test_a_paid_renewal_is_no_longer_shown_as_due(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    order = await overdue(admin, services, clock)
    await complete_sandbox_payment(services, order.reference, fail=False)
    shown = await admin.say("/subscription")
    assert "Renewal overdue" not in shown and "Pay $45.00" not in shown
    assert "Next payment: Mar 15, 2026 10:00 UTC" in shown


async def test_a_trial_that_ran_out_says_why_it_is_inactive_and_offers_upgrade(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    await admin.say("/trial", "Contact Center 1")
    clock.set(at("2026-01-30T10:00:00Z"))
    await sweep(services)
    shown = await admin.say("/subscription")
    assert "Contact Center 1 (cc1) - Inactive" in shown
    assert "Why: the trial ended." in shown
    assert "Upgrade cc1" in shown


async def test_a_renewal_not_paid_by_the_deadline_says_so(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    admin = await open_console()
    await overdue(admin, services, clock)
    clock.set(at("2026-02-19T10:00:00Z"))
    await sweep(services)
    shown = await admin.say("/subscription")
    assert "Contact Center 1 (cc1) - Inactive" in shown
    assert "Why: the renewal was not paid in time." in shown
    assert "Renewal overdue:" not in shown and "Pay $45.00" not in shown


WHY = {
    InactiveReason.NEVER_PAID: ("Why: it was never paid for.", "chưa từng được thanh toán"),
    InactiveReason.TRIAL_EXPIRED: ("Why: the trial ended.", "thời gian dùng thử đã kết thúc"),
    InactiveReason.CANCELLED: ("Why: it was cancelled.", "đã bị huỷ"),
    InactiveReason.LAPSED: (
        "Why: the renewal was not paid in time.",
        "gia hạn không được thanh toán đúng hạn",
    ),
}


@pytest.mark.parametrize("reason", list(InactiveReason))
@pytest.mark.parametrize("language", ["en", "vi"])
async def test_each_inactive_reason_is_said(
    open_console: ChatFactory, services: Context, reason: InactiveReason, language: str
) -> None:
    admin = await open_console(language=language)
    await admin.say("/trial", "Contact Center 1")
    async with services.db.unit_of_work() as session:
        await session.execute(
            update(Subscription).values(state=SubscriptionState.INACTIVE, inactive_reason=reason)
        )
    shown = await admin.say("/subscription")
    english, vietnamese = WHY[reason]
    assert (english if language == "en" else vietnamese) in shown
    assert ("Upgrade cc1" if language == "en" else "cc1") in shown
