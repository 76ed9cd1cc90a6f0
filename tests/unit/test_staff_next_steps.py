"""The buttons under a workspace's card follow the tier and the state; answers stay within one
message; page words are read as the workspace and a page."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.flows.staff.lookup_text import MESSAGE_BUDGET, fitted
from bot.flows.staff.lookups import page_of
from bot.flows.staff.next_steps import audit_options, card_options
from bot.i18n import Translator
from bot.vocabulary import Text
from core.access import StaffTier
from core.clock import parse_iso
from core.lifecycle import Status
from core.money import Money
from core.pricing import Terms
from core.services.staff.lookup import OpenOrder, SubscriptionLine, WorkspaceCard
from core.services.staff.lookup_history import AuditPage, PaymentLine
from core.states import OrderKind, PaymentOutcome

NOW = parse_iso("2026-01-15T10:00:00Z")
T = Translator("en")


def subscription(
    status: Status, *, ending: bool = False, grace: datetime | None = None
) -> SubscriptionLine:
    return SubscriptionLine(
        id=1,
        package="cc1",
        quantity=5,
        cycle_months=12,
        status=status,
        period_end=NOW + timedelta(days=30),
        trial_ends_at=NOW + timedelta(days=3) if status is Status.TRY else None,
        scheduled=None,
        cancel_at_period_end=ending,
        grace_until=grace,
        notes=(),
    )


def payment(order: str, amount: int, refunded: int, outcome: PaymentOutcome) -> PaymentLine:
    return PaymentLine(
        id=1,
        order_reference=order,
        provider="fake",
        provider_payment_id="pay",
        amount=Money(amount, "USD"),
        outcome=outcome,
        needs_support=False,
        note=None,
        received_at=NOW,
        refunded=Money(refunded, "USD"),
        refunds=(),
    )


def card(*subs: SubscriptionLine, **kw: object) -> WorkspaceCard:
    base = WorkspaceCard(
        id=7,
        name="Acme",
        platform="slack",
        external_id="T1",
        timezone="UTC",
        locale=None,
        credit_balance=Money(0, "USD"),
        subscriptions=subs,
        open_orders=(),
        payments=(),
        flags=(),
        members=(),
        members_total=0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def labels(tier: StaffTier | None, shown: WorkspaceCard) -> list[str]:
    return [o.label for o in card_options(T, tier, shown)]


LOOKUPS = ["Audit log", "Orders", "Payments", "Notices"]


def test_a_running_trial_is_offered_extend_grant_unsubscribe_and_cancel() -> None:
    assert labels(StaffTier.MANAGER, card(subscription(Status.TRY))) == [
        *LOOKUPS,
        "Extend the trial",
        "Grant accounts",
        "Unsubscribe",
        "Cancel now",
        "Add credit",
    ]


def test_a_subscription_set_to_end_is_offered_resume_not_unsubscribe() -> None:
    shown = labels(StaffTier.AGENT, card(subscription(Status.ACTIVE, ending=True)))
    assert shown == [*LOOKUPS, "Grant accounts", "Resume"]


def test_an_inactive_workspace_is_offered_only_the_lookups_and_credit() -> None:
    assert labels(StaffTier.MANAGER, card(subscription(Status.INACTIVE))) == [
        *LOOKUPS,
        "Add credit",
    ]
    assert labels(StaffTier.AGENT, card()) == LOOKUPS


def test_an_open_order_or_an_overdue_renewal_is_offered_a_fresh_link() -> None:
    order = OpenOrder("ord_1", OrderKind.NEW, Terms("cc1", 1, 1), Money(1, "USD"), None, NOW, False)
    assert "Send a fresh payment link" in labels(StaffTier.AGENT, card(open_orders=(order,)))
    overdue = subscription(Status.ACTIVE, grace=NOW + timedelta(days=3))
    assert "Send a fresh payment link" in labels(StaffTier.AGENT, card(overdue))
    assert "Send a fresh payment link" not in labels(
        StaffTier.AGENT, card(subscription(Status.ACTIVE))
    )


def test_refunds_are_offered_to_managers_for_orders_with_money_left() -> None:
    paid = (
        payment("ord_a", 500, 100, PaymentOutcome.APPLIED),
        payment("ord_a", 500, 0, PaymentOutcome.APPLIED),
        payment("ord_b", 500, 500, PaymentOutcome.APPLIED),
        payment("ord_c", 500, 0, PaymentOutcome.MISMATCH),
        payment("ord_d", 500, 0, PaymentOutcome.CREDITED),
    )
    shown = card(payments=paid)
    assert [o.value for o in card_options(T, StaffTier.MANAGER, shown)][-2:] == [
        "run:staff:refund ord_a",
        "run:staff:refund ord_d",
    ]
    assert not [o for o in card_options(T, StaffTier.AGENT, shown) if "refund" in o.value]


def test_buttons_carry_the_workspace_id_as_standing_commands() -> None:
    options = card_options(T, StaffTier.VIEWER, card())
    assert [o.value for o in options] == [
        "run:staff:audit 7",
        "run:staff:orders 7",
        "run:staff:payments 7",
        "run:staff:notices 7",
    ]
    assert card_options(T, None, card()) == ()


def test_audit_pages_offer_previous_and_next_where_there_are_any() -> None:
    middle = AuditPage(7, 2, 10, (), has_more=True)
    assert [o.value for o in audit_options(T, middle)] == [
        "run:staff:audit 7 1",
        "run:staff:audit 7 3",
        "run:staff:show 7",
    ]
    only = AuditPage(7, 1, 10, (), has_more=False)
    assert [o.label for o in audit_options(T, only)] == ["Back to the workspace"]


def test_an_answer_longer_than_one_message_is_cut_at_a_line_and_says_so() -> None:
    sections = ["head", "\n".join(f"line {n} " + "x" * 90 for n in range(100)), "tail"]
    shown = fitted(T, sections)
    assert sum(len(t.text) for t in shown) <= MESSAGE_BUDGET + 40
    assert shown[-1].text.endswith("(cut short to fit one message)")
    assert shown[0].text == "head" and "tail" not in shown[-1].text
    assert fitted(T, ["a", "b"]) == (Text("a"), Text("b"))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12", ("12", 1)),
        ("12 3", ("12", 3)),
        ("Acme Support 2", ("Acme Support", 2)),
        ("Acme Support", ("Acme Support", 1)),
        ("acme ²", ("acme ²", 1)),
        ("acme " + "9" * 13, ("acme " + "9" * 13, 1)),
    ],
)
def test_the_last_word_of_digits_is_the_audit_page(typed: str, expected: tuple[str, int]) -> None:
    assert page_of(typed) == expected
