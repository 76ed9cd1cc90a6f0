"""staff.changed and staff.decided in the recipient's words: what support changed and why
(never the staff's comment), amounts and dates per locale and zone."""

from __future__ import annotations

from bot.flow import slash
from bot.i18n import Translator
from bot.staff_change_notices import staff_changed, staff_decided
from bot.vocabulary import Link, Text
from core.catalog import load_catalog
from core.ports import Notice


def side(**fields: object) -> dict[str, object]:
    base = {
        "status": "Active",
        "accounts": 100,
        "trial_end": None,
        "period_end": "2027-01-15T10:00:00Z",
        "ends_at_period_end": False,
        "balance": 0,
        "refunded": 0,
        "currency": "USD",
    }
    return {**base, **fields}


def changed(
    verb: str, before: dict[str, object], after: dict[str, object], **more: object
) -> Notice:
    data = {"verb": verb, "package": "cc2", "before": before, "after": after}
    return Notice(
        "staff.changed", 1, "telegram", "1001", {**data, "reason_code": "courtesy", **more}
    )


def words(replies: list[object]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def test_a_cancel_with_a_refund_says_what_goes_back_and_why() -> None:
    notice = changed("cancel", side(), side(status="Inactive", period_end=None, refunded=1_285_479))
    text = words(staff_changed(Translator("en"), load_catalog(), notice, slash))
    assert "Support cancelled Contact Center 2 now." in text
    assert "$12,854.79 goes back to your payment method." in text
    assert "Reason: Courtesy." in text and "/subscription" in text


def test_an_extended_trial_is_told_in_the_workspace_zone_and_in_vietnamese() -> None:
    notice = changed(
        "extend",
        side(status="Try", trial_end="2026-01-29T10:00:00Z"),
        side(status="Try", trial_end="2026-02-08T10:00:00Z"),
    )
    text = words(staff_changed(Translator("vi", "Asia/Ho_Chi_Minh"), load_catalog(), notice, slash))
    assert "Bộ phận hỗ trợ đã gia hạn dùng thử Contact Center 2" in text
    assert "8 thg 2, 2026 17:00 +07" in text


def test_credit_says_the_new_balance_and_a_resend_carries_its_link() -> None:
    credit = changed("credit", side(), side(balance=150_000))
    text = words(staff_changed(Translator("en"), load_catalog(), credit, slash))
    assert "$1,500.00 was added to your credit balance; it is now $1,500.00." in text
    resend = changed("resend", side(), side(), link="https://pay.example/x")
    replies = staff_changed(Translator("en"), load_catalog(), resend, slash)
    assert Link("Pay with the new link", "https://pay.example/x") in replies


def test_the_requester_is_told_each_decision() -> None:
    data = {
        "action": 4,
        "verb": "refund",
        "workspace_id": 1,
        "workspace": "Acme",
        "amount": 200_000,
        "currency": "USD",
        "requester": "console:sam",
        "reason_code": "billing_error",
        "comment": None,
        "order": "ord_1",
        "by": "console:kim",
    }
    t, catalog = Translator("en"), load_catalog()
    for decision, said in [
        ("approved", "was approved by console:kim."),
        ("rejected", "was rejected by console:kim: nothing moved."),
        ("lapsed", "lapsed: the workspace changed before console:kim approved it"),
    ]:
        notice = Notice("staff.decided", 1, "console", "staff:sam", {**data, "decision": decision})
        text = words(staff_decided(t, catalog, notice, slash))
        assert "Action #4 (refund of $2,000.00 for Acme)" in text and said in text
