"""Notices as replies: each kind's words, and the one-tap action (a standing button or a
Pay link) that resolves it; the staff kinds with their facts and buttons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.telegram.render import CALLBACK_LIMIT, encode_tap
from bot.i18n import Translator
from bot.notices import (
    NOTICE_RENDERERS,
    NoticeRenderer,
    notice_replies,
    notice_text,
    notice_translator,
)
from bot.vocabulary import Choices, Link, Option, Reply, Text
from core.catalog import Catalog, load_catalog
from core.clock import parse_iso
from core.notice_kinds import (
    CancellationRequested,
    GraceReminder,
    NoticeKind,
    OrderExpired,
    OrderReplaced,
    RenewalDue,
)
from core.ports import Notice
from core.staff import StaffChat, StaffDirectory
from core.staff_notices import (
    ApprovalVerb,
    FlaggedPayment,
    FlagReason,
    PendingApproval,
    to_staff_chats,
)

EN, VI = Translator("en"), Translator("vi")
FLAGGED = FlaggedPayment(
    workspace_id=42,
    workspace="Acme",
    order="ord_0123456789abcdef",
    payment=7,
    amount=25500,
    currency="USD",
    outcome=FlagReason.MISMATCH,
    note="paid 25500 USD, the order asks 25600 USD",
)
APPROVAL = PendingApproval(
    action=9,
    verb=ApprovalVerb.REFUND,
    workspace_id=42,
    workspace="Acme",
    amount=150000,
    currency="USD",
    requester="telegram:5005 (manager)",
    reason_code="billing_error",
    comment="charged twice",
    order="ord_0123456789abcdef",
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def notice(kind: str, **data: object) -> Notice:
    return Notice(kind, 42, "telegram", "1001", dict(data))


def buttons(replies: list[Reply]) -> dict[str, str]:
    return {o.label: o.value for r in replies if isinstance(r, Choices) for o in r.options}


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def test_a_failed_payment_offers_upgrade_as_a_standing_button(catalog: Catalog) -> None:
    replies = notice_replies(EN, catalog, notice("payment.failed", order="ord_1", package="cc1"))
    assert "The payment for order ord_1 failed" in texts(replies)
    assert buttons(replies) == {"Upgrade": "run:upgrade:"}
    menus = [r for r in replies if isinstance(r, Choices)]
    assert [m.version for m in menus] == [0]


def test_a_renewal_due_with_a_link_gets_a_pay_link_and_without_one_only_words(
    catalog: Catalog,
) -> None:
    due = notice_replies(
        EN, catalog, notice("renewal.due", subscription_id=5, package="cc2", link="https://p/1")
    )
    assert Link("Pay", "https://p/1") in due
    assert "renewal of Contact Center 2 is due" in texts(due)
    assert "https://p/1" not in texts(due)
    bare = notice_replies(
        EN, catalog, notice("renewal.due", subscription_id=5, package="cc2", link=None)
    )
    assert not any(isinstance(r, Link | Choices) for r in bare)


def test_a_failed_renewal_charge_links_to_pay_or_names_the_command(catalog: Catalog) -> None:
    linked = notice_replies(
        EN,
        catalog,
        notice("renewal.charge_failed", subscription_id=5, package="cc1", link="https://p/2"),
    )
    assert Link("Pay", "https://p/2") in linked
    unlinked = notice_replies(
        EN,
        catalog,
        notice("renewal.charge_failed", subscription_id=5, package="cc1", link=None),
        lambda n: f"~{n}",
    )
    assert "Pay it within the grace period: ~subscription" in texts(unlinked)


def test_a_suspended_subscription_offers_renew_and_an_ended_trial_offers_buying(
    catalog: Catalog,
) -> None:
    suspended = notice_replies(
        EN, catalog, notice("subscription.suspended", package="cc2", subscription_id=5)
    )
    assert buttons(suspended) == {"Renew": "run:upgrade:5"}
    ended = notice_replies(EN, catalog, notice("trial.ended", subscription_id=5, package="cc2"))
    assert buttons(ended) == {"Upgrade or buy": "run:upgrade:"}


def test_a_mismatched_payment_is_not_said_to_be_credit(catalog: Catalog) -> None:
    mismatch = notice_text(
        EN,
        catalog,
        notice("payment.needs_support", order="ord_1", package="cc1", outcome="mismatch"),
    )
    assert "did not match the order, so it was not applied" in mismatch
    assert "credit" not in mismatch
    credited = notice_text(
        EN,
        catalog,
        notice("payment.needs_support", order="ord_1", package="cc1", outcome="credited"),
    )
    assert "its amount was kept as credit and support has been told" in credited


def test_a_flagged_payment_shows_the_facts_and_refund_credit_show(catalog: Catalog) -> None:
    replies = notice_replies(EN, catalog, notice("staff.flagged", **FLAGGED.as_data()))
    words = texts(replies)
    assert "Flagged payment in Acme (#42)." in words
    assert "Payment 7 of $255.00 for order ord_0123456789abcdef does not match the order" in words
    assert "Note: paid 25500 USD, the order asks 25600 USD" in words
    assert buttons(replies) == {
        "Refund": "run:staff:refund ord_0123456789abcdef",
        "Credit": "run:staff:credit 42 payment:7",
        "Show": "run:staff:show 42",
    }


def test_a_credited_flagged_payment_says_where_the_money_went_in_vietnamese(
    catalog: Catalog,
) -> None:
    credited = replace(FLAGGED, outcome=FlagReason.CREDITED)
    words = notice_text(VI, catalog, notice("staff.flagged", **credited.as_data()))
    assert "255,00\xa0US$" in words
    assert "số dư tín dụng" in words


def test_a_currency_babel_does_not_know_is_shown_as_given(catalog: Catalog) -> None:
    odd = replace(FLAGGED, currency="XQZ", note=None)
    words = notice_text(EN, catalog, notice("staff.flagged", **odd.as_data()))
    assert "Payment 7 of 25500 XQZ" in words
    assert "Note:" not in words


def test_a_pending_refund_is_shown_with_approve_and_reject(catalog: Catalog) -> None:
    replies = notice_replies(EN, catalog, notice("staff.approval", **APPROVAL.as_data()))
    words = texts(replies)
    assert (
        "telegram:5005 (manager) asks to refund $1,500.00 of order ord_0123456789abcdef "
        "in Acme (#42)." in words
    )
    assert "Reason: billing_error" in words and "Comment: charged twice" in words
    assert buttons(replies) == {"Approve": "run:staff:approve 9", "Reject": "run:staff:reject 9"}


def test_a_pending_credit_names_no_order(catalog: Catalog) -> None:
    credit = replace(APPROVAL, verb=ApprovalVerb.CREDIT, order=None, comment=None)
    words = notice_text(EN, catalog, notice("staff.approval", **credit.as_data()))
    assert "asks to credit $1,500.00 to Acme (#42)." in words
    assert "Comment:" not in words and "order" not in words


def test_a_pending_cancel_says_what_it_gives_back(catalog: Catalog) -> None:
    cancel = replace(APPROVAL, verb=ApprovalVerb.CANCEL, order=None)
    replies = notice_replies(EN, catalog, notice("staff.approval", **cancel.as_data()))
    assert "asks to cancel Acme (#42) now, giving back $1,500.00." in texts(replies)
    assert set(buttons(replies)) == {"Approve", "Reject"}


def test_every_notice_button_fits_in_telegram_callback_data(catalog: Catalog) -> None:
    big = replace(FLAGGED, workspace_id=10**12, payment=10**12)
    pending = replace(APPROVAL, action=10**12)
    values = [
        *buttons(notice_replies(EN, catalog, notice("staff.flagged", **big.as_data()))).values(),
        *buttons(
            notice_replies(EN, catalog, notice("staff.approval", **pending.as_data()))
        ).values(),
        *buttons(
            notice_replies(
                EN, catalog, notice("subscription.suspended", subscription_id=10**12, package="cc1")
            )
        ).values(),
    ]
    for value in values:
        assert len(encode_tap(0, value, 0).encode()) <= CALLBACK_LIMIT


def test_a_kind_registered_by_one_line_is_rendered(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def changed(t: Translator, _: Catalog, n: Notice, __: object) -> list[Reply]:
        return [Choices(t("What next?"), (Option("Resume", "run:resume:"),), 0)]

    renderer: NoticeRenderer = changed
    monkeypatch.setitem(NOTICE_RENDERERS, "staff.changed", renderer)
    assert buttons(notice_replies(EN, catalog, notice("staff.changed"))) == {
        "Resume": "run:resume:"
    }


def test_a_kind_nobody_renders_still_points_to_the_details(catalog: Catalog) -> None:
    words = notice_text(EN, catalog, notice("something.new"), lambda n: f"/plans {n}")
    assert (
        words
        == "Something changed in your subscriptions. Send /plans subscription for the details."
    )


def test_one_staff_notice_per_staff_chat_about_the_customer_workspace() -> None:
    staff = StaffDirectory(
        chats=(StaffChat("telegram", "-100123"), StaffChat("slack", "C0STAFF", "T0VENDOR"))
    )
    notices = to_staff_chats(staff, FLAGGED)
    assert [(n.kind, n.workspace_id, n.chat_platform, n.chat_id) for n in notices] == [
        ("staff.flagged", 42, "telegram", "-100123"),
        ("staff.flagged", 42, "slack", "C0STAFF"),
    ]
    assert FlaggedPayment.from_data(notices[0].data) == FLAGGED
    assert notices[0].data["outcome"] == "mismatch"
    assert to_staff_chats(StaffDirectory(), APPROVAL) == []
    assert PendingApproval.from_data(APPROVAL.as_data()) == APPROVAL


def test_a_staff_chat_reads_the_default_language_in_the_workspace_zone() -> None:
    staff = StaffDirectory(chats=(StaffChat("telegram", "-100123"),))
    to_staff = Notice("staff.flagged", 42, "telegram", "-100123", {})
    to_customer = Notice("payment.failed", 42, "telegram", "1001", {})
    t = notice_translator(staff, to_staff, "vi", "Asia/Ho_Chi_Minh")
    assert (t.language, t.timezone) == ("en", "Asia/Ho_Chi_Minh")
    assert notice_translator(staff, to_customer, "vi", "UTC").language == "vi"
    assert notice_translator(staff, to_customer, None, "UTC").language == "en"


def test_every_kind_of_the_catalogue_has_its_renderer() -> None:
    assert {kind.value for kind in NoticeKind} <= set(NOTICE_RENDERERS)


def test_a_bill_without_its_link_yet_points_to_the_details_for_it(catalog: Catalog) -> None:
    until = parse_iso("2026-02-01T10:00:00Z")
    for payload in (RenewalDue(5, "cc2"), GraceReminder(5, "cc2", until)):
        replies = notice_replies(EN, catalog, Notice.of(payload, 42, ("telegram", "1001")))
        assert "Send /subscription for the payment link." in texts(replies)
        assert not any(isinstance(r, Link) for r in replies)


def test_words_left_out_of_an_older_payload_are_left_out_of_the_notice(catalog: Catalog) -> None:
    chat = ("telegram", "1001")
    asked = notice_replies(EN, catalog, Notice.of(CancellationRequested(5, "cc1"), 42, chat))
    assert texts(asked) == "Contact Center 1 is set to end at its period end."
    assert buttons(asked) == {"Resume": "run:resume:5"}
    replaced = notice_text(EN, catalog, Notice.of(OrderReplaced("ord_1", "cc1"), 42, chat))
    assert replaced == (
        "The payment link of order ord_1 (Contact Center 1) no longer works: a newer order "
        "replaced it. Send /subscription for the details."
    )
    unknown = notice_text(EN, catalog, Notice.of(OrderExpired("ord_1", "gone"), 42, chat))
    assert "Order ord_1 for gone expired unpaid" in unknown
