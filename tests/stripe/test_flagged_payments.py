"""A Stripe webhook whose amount is not the order's reaches support: the payment is posted
to every staff chat with its facts, as Stripe reported them."""

from __future__ import annotations

import pytest

from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.ports import RecordingNotifier
from core.services.context import Context
from core.staff import StaffDirectory, parse_staff_chats
from core.staff_notices import FlaggedPayment, FlagReason
from tests.fakes import FakeGateway
from tests.stripe.conftest import Stripe


@pytest.fixture
def ctx(
    db: Database,
    catalog: Catalog,
    clock: FixedClock,
    gateway: FakeGateway,
    notifier: RecordingNotifier,
) -> Context:
    staff = StaffDirectory(chats=parse_staff_chats("telegram:-100123,console:staff"))
    return Context(
        db=db, catalog=catalog, clock=clock, gateway=gateway, notifier=notifier, staff=staff
    )


async def test_a_short_stripe_payment_is_posted_to_the_staff_chats(stripe_env: Stripe) -> None:
    placed = await stripe_env.order()
    [completed, _] = stripe_env.fake.pay(await stripe_env.session_of(placed.reference))
    completed["data"]["object"]["amount_total"] -= 1  # type: ignore[index]
    response = await stripe_env.fake.send(completed)
    assert response.json()["outcome"] == "mismatch"
    flagged = [n for n in stripe_env.notifier.notices if n.kind == "staff.flagged"]
    assert [(n.chat_platform, n.chat_id) for n in flagged] == [
        ("telegram", "-100123"),
        ("console", "staff"),
    ]
    facts = FlaggedPayment.from_data(flagged[0].data)
    assert (facts.order, facts.amount, facts.currency, facts.outcome) == (
        placed.reference,
        placed.quote.due_now - 1,
        "USD",
        FlagReason.MISMATCH,
    )
    assert facts.workspace == "Acme Support" and facts.workspace_id == stripe_env.workspace_id
