"""The journey of DESIGN section 8 through the console: plans, trial, buy, pay, add, upgrade."""

from __future__ import annotations

from sqlalchemy import select

from adapters.sandbox import complete_sandbox_payment
from core.clock import FixedClock
from core.model import Order, Subscription
from core.services.context import Context
from tests.conftest import at
from tests.console.conftest import PUBLIC_URL, ChatFactory


async def subscriptions(services: Context) -> dict[str, Subscription]:
    async with services.db.unit_of_work() as session:
        return {s.package: s for s in await session.scalars(select(Subscription))}


async def last_order(services: Context) -> Order:
    async with services.db.unit_of_work() as session:
        found = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert found is not None
        return found


async def test_plans_list_every_package_with_its_monthly_price(open_console: ChatFactory) -> None:
    chat = await open_console()
    text = await chat.say("/plans")
    assert "Contact Center 1 (cc1): $15.00 per account per month" in text
    assert "Contact Center 3 (cc3): $40.00 per account per month" in text
    assert "[1] Upgrade or buy" in text


async def test_a_new_customer_buys_pays_adds_accounts_upgrades_and_unsubscribes(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console()
    text = await chat.say("/trial", "Contact Center 2")
    assert "Your trial of Contact Center 2 has started: 10 accounts" in text
    assert (await subscriptions(services))["cc2"].state == "trial"

    text = await chat.say("/upgrade", "2", "12 months (-15%): $255.00 per account", "100")
    assert "Price per account: $255.00" in text
    assert "Quantity: 100 accounts" in text
    assert "Total: $25,500.00" in text
    text = await chat.say("Next", "Card")
    order = await last_order(services)
    assert f"Link: {PUBLIC_URL}/sandbox/checkout/{order.reference}" in text
    assert order.payment_method == "card"

    await complete_sandbox_payment(services, order.reference, fail=False)
    text = await chat.say("/subscription")
    assert "Payment received for order" in text
    assert "Contact Center 2 (cc2) - Active" in text
    assert "Next payment: Jan 15, 2027 10:00 UTC" in text

    clock.set(at("2026-07-15T10:00:00Z"))
    text = await chat.say("/upgrade", "1", "More accounts of Contact Center 2", "120")
    assert "Quantity: 20 more accounts, 120 in all" in text
    assert "Proration: part of the period already passed: -$2,529.04" in text
    assert "Total: $5,100.00" in text
    assert "Due now: $2,570.96" in text
    await chat.say("Next", "Card")
    await complete_sandbox_payment(services, (await last_order(services)).reference, fail=False)
    assert (await subscriptions(services))["cc2"].quantity == 120

    text = await chat.say("/upgrade", "1", "Upgrade to Contact Center 3", "4", "120", "Next")
    assert "Credit for the unused part of your current terms" in text
    await chat.say("Card")
    await complete_sandbox_payment(services, (await last_order(services)).reference, fail=False)
    held = await subscriptions(services)
    assert held["cc3"].state == "active" and "cc2" not in held

    text = await chat.say("/unsubscribe", "Unsubscribe")
    assert "Contact Center 3 will end on" in text
    assert held["cc3"].id == (await subscriptions(services))["cc3"].id
    assert (await subscriptions(services))["cc3"].cancel_at_period_end
    text = await chat.say("/subscription")
    assert "Note: ends on" in text
    text = await chat.say("Resume cc3", "Resume")
    assert "Contact Center 3 will renew as usual." in text
    assert not (await subscriptions(services))["cc3"].cancel_at_period_end


async def test_unsubscribing_a_trial_ends_it_now_with_no_resume_offered(
    open_console: ChatFactory, services: Context
) -> None:
    chat = await open_console()
    await chat.say("/trial", "Contact Center 2")
    text = await chat.say("/unsubscribe")
    assert "Trial: ends now" in text
    assert "resume" not in text.casefold()
    text = await chat.say("Unsubscribe")
    assert "Contact Center 2 has ended." in text
    assert (await subscriptions(services))["cc2"].state == "inactive"


async def test_unsubscribing_an_overdue_renewal_says_it_ends_now(
    open_console: ChatFactory, services: Context, clock: FixedClock
) -> None:
    chat = await open_console()
    await chat.say("/upgrade", "Contact Center 1", "1 month: $15.00 per account", "3", "Next")
    await chat.say("Card")
    await complete_sandbox_payment(services, (await last_order(services)).reference, fail=False)
    assert "Next payment: Feb 15, 2026" in await chat.say("/subscription")
    clock.set(at("2026-02-16T10:00:00Z"))  # a day into the grace period
    text = await chat.say("/unsubscribe")
    assert "Ends: now: the renewal is overdue" in text
    assert "resume" not in text.casefold()
