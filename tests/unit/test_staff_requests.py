"""What support staff type, read exactly or refused clearly: days, accounts, amounts in the
catalog currency, refund modes, reasons and comments; and typed values kept as JSON."""

from __future__ import annotations

import json

import pytest

from core.clock import parse_iso
from core.errors import InvalidRequest
from core.lifecycle import Status
from core.money import Money, MoneyError, parse_typed_amount
from core.services.staff.codec import from_data, to_data
from core.services.staff.preview import Fate, OrderFate, Picture, Place, Preview
from core.services.staff.requests import (
    Cancel,
    Credit,
    ReasonCode,
    RefundMode,
    StaffRequest,
    clean_comment,
    parse_accounts,
    parse_amount,
    parse_days,
    parse_id,
    parse_mode,
    parse_payment,
)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "USD", 1250),
        ("1,000.00", "USD", 100_000),
        ("250000", "VND", 250_000),
        ("250,000", "VND", 250_000),
        (" 7 ", "USD", 700),
    ],
)
def test_typed_amounts_are_read_exactly_in_major_units(
    typed: str, currency: str, minor: int
) -> None:
    assert parse_typed_amount(typed, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("typed", "currency"),
    [
        ("12.505", "USD"),
        ("12.50", "VND"),
        ("250.000", "VND"),
        ("-5", "USD"),
        ("0", "USD"),
        ("0.00", "USD"),
        ("abc", "USD"),
        ("", "USD"),
        ("1e3", "USD"),
        ("١٢", "USD"),
        ("１２", "USD"),
        ("12,34", "USD"),
        ("9" * 40, "USD"),
        ("NaN", "USD"),
    ],
)
def test_junk_amounts_are_refused(typed: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        parse_typed_amount(typed, currency)
    with pytest.raises(InvalidRequest, match="Type an amount in"):
        parse_amount(typed, currency)


@pytest.mark.parametrize(("typed", "days"), [("1", 1), ("365", 365), (" 14 ", 14)])
def test_days_from_1_to_365(typed: str, days: int) -> None:
    assert parse_days(typed) == days


@pytest.mark.parametrize("typed", ["0", "366", "abc", "-1", "7.5", "٣", "", "9" * 30])
def test_other_days_are_refused(typed: str) -> None:
    with pytest.raises(InvalidRequest, match="1 to 365 days"):
        parse_days(typed)


@pytest.mark.parametrize(("typed", "n"), [("+5", 5), ("5", 5), ("-2", -2), ("1000", 1000)])
def test_accounts_are_added_or_removed(typed: str, n: int) -> None:
    assert parse_accounts(typed) == n


@pytest.mark.parametrize("typed", ["0", "+0", "abc", "--2", "12345", "٣", "+", ""])
def test_other_account_changes_are_refused(typed: str) -> None:
    with pytest.raises(InvalidRequest, match=r"such as \+5 or -2"):
        parse_accounts(typed)


def test_modes_ids_and_payments() -> None:
    assert parse_mode(" Prorated ") is RefundMode.PRORATED
    with pytest.raises(InvalidRequest, match="prorated, full, credit or none"):
        parse_mode("half")
    assert (parse_id("#12"), parse_id("12"), parse_id("x"), parse_id("²")) == (12, 12, None, None)
    assert (parse_payment("payment:7"), parse_payment("7"), parse_payment("payment:x")) == (
        7,
        None,
        None,
    )


def test_a_comment_is_cleaned_bounded_and_required_for_other() -> None:
    assert clean_comment(ReasonCode.COURTESY, " a\x00b \n c\x1b ") == "ab c"
    assert clean_comment(ReasonCode.COURTESY, "  ") is None
    with pytest.raises(InvalidRequest, match="needs a comment"):
        clean_comment(ReasonCode.OTHER, "\x07")
    with pytest.raises(InvalidRequest, match="at most 500"):
        clean_comment(ReasonCode.COURTESY, "x" * 501)


def test_requests_and_previews_come_back_from_json_exactly() -> None:
    usd = Money(1_285_479, "USD")
    request = Cancel(3, 7, RefundMode.PRORATED, parse_iso("2026-07-15T10:00:00.123456Z"))
    picture = Picture(Status.ACTIVE, 100, None, parse_iso("2027-01-15T10:00Z"), False, usd, usd)
    preview = Preview(
        request=request,
        workspace=Place(3, "Acme", "Asia/Ho_Chi_Minh", None, "USD"),
        package="cc2",
        before=picture,
        after=picture,
        refund=usd,
        credit=None,
        balance_taken=None,
        refundable=usd,
        renewal_price=None,
        order_reference=None,
        orders=(OrderFate("ord_1", "cc2", usd, Fate.CANCELLED, False),),
        needs_approval=False,
        reminders_move=False,
        clears_flag=False,
        state_key="abc",
    )
    data = json.loads(json.dumps(to_data(preview)))
    assert from_data(Preview, data) == preview
    credit = Credit(3, Money(5, "USD"))
    assert from_data(StaffRequest, to_data(credit)) == credit
    with pytest.raises(InvalidRequest, match="not readable"):
        from_data(StaffRequest, {"type": "Credit", "workspace_id": "3"})
