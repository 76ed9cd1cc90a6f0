"""What support staff ask for: one typed request per verb, the reason they give, and the
typed arguments (days, accounts, amounts, refund modes) read from what they typed."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from core.access import StaffVerb
from core.errors import InvalidRequest
from core.money import Money, MoneyError, currency_exponent, parse_typed_amount

MAX_COMMENT = 500
MAX_DAYS = 365
MAX_ACCOUNTS_TYPED = 4
"""Digits an account change may have (a package sells at most 1000 accounts)."""
_DIGITS = re.compile(r"[0-9]{1,12}")
_ACCOUNTS = re.compile(rf"(?P<sign>[+-]?)(?P<n>[0-9]{{1,{MAX_ACCOUNTS_TYPED}}})")
PAYMENT_PREFIX = "payment:"


class ReasonCode(StrEnum):
    """Why a support person changes a customer's billing (DESIGN section 13)."""

    COURTESY = "courtesy"
    BILLING_ERROR = "billing_error"
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    OTHER = "other"


class RefundMode(StrEnum):
    """What `cancel` gives back: unused time (capped at what was paid), the last payment,
    unused time as credit, or nothing."""

    PRORATED = "prorated"
    FULL = "full"
    CREDIT = "credit"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Extend:
    verb: ClassVar[StaffVerb] = StaffVerb.EXTEND
    workspace_id: int
    subscription_id: int
    days: int


@dataclass(frozen=True, slots=True)
class Resend:
    verb: ClassVar[StaffVerb] = StaffVerb.RESEND
    workspace_id: int
    order_reference: str


@dataclass(frozen=True, slots=True)
class Grant:
    verb: ClassVar[StaffVerb] = StaffVerb.GRANT
    workspace_id: int
    subscription_id: int
    accounts: int
    """Accounts added (positive) or removed (negative), without charge."""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    verb: ClassVar[StaffVerb] = StaffVerb.UNSUBSCRIBE
    workspace_id: int
    subscription_id: int


@dataclass(frozen=True, slots=True)
class Resume:
    verb: ClassVar[StaffVerb] = StaffVerb.RESUME
    workspace_id: int
    subscription_id: int


@dataclass(frozen=True, slots=True)
class Cancel:
    verb: ClassVar[StaffVerb] = StaffVerb.CANCEL
    workspace_id: int
    subscription_id: int
    mode: RefundMode
    at: datetime | None = None
    """When unused time is priced: the preview's moment, binding while a quote is (P9);
    None: now."""


@dataclass(frozen=True, slots=True)
class Refund:
    verb: ClassVar[StaffVerb] = StaffVerb.REFUND
    workspace_id: int
    payment_id: int
    amount: Money | None
    """None: all that is left to refund on the payment."""


@dataclass(frozen=True, slots=True)
class Credit:
    verb: ClassVar[StaffVerb] = StaffVerb.CREDIT
    workspace_id: int
    amount: Money


@dataclass(frozen=True, slots=True)
class CreditPayment:
    """`credit <ws> payment:<id>`: a flagged payment's amount becomes credit, flag cleared."""

    verb: ClassVar[StaffVerb] = StaffVerb.CREDIT
    workspace_id: int
    payment_id: int


StaffRequest = (
    Extend | Resend | Grant | Unsubscribe | Resume | Cancel | Refund | Credit | CreditPayment
)
SUBSCRIPTION_REQUESTS = (Extend, Grant, Unsubscribe, Resume, Cancel)
MONEY_REQUESTS = (Refund, Credit, CreditPayment, Cancel)
"""Requests that move money (a cancel by its refund or credit): above the approval
threshold they wait for a second manager."""


def new_token() -> str:
    """A confirm token: single use, bound to one preview."""
    return secrets.token_urlsafe(12)


def clean_comment(code: ReasonCode, comment: str | None) -> str | None:
    """The comment as kept: control characters out, white space folded; required for
    `other`, at most MAX_COMMENT characters."""
    kept = "".join(c for c in comment or "" if c.isspace() or unicodedata.category(c) != "Cc")
    text = " ".join(kept.split())
    if len(text) > MAX_COMMENT:
        raise InvalidRequest("A comment has at most {n} characters.", n=MAX_COMMENT)
    if code is ReasonCode.OTHER and not text:
        raise InvalidRequest("The reason 'other' needs a comment that says what it is.")
    return text or None


def parse_days(text: str) -> int:
    """Days to extend a trial by: 1 to 365, typed in ASCII digits."""
    digits = text.strip()
    if _DIGITS.fullmatch(digits) is None or not 1 <= int(digits) <= MAX_DAYS:
        raise InvalidRequest("Extend a trial by 1 to {most} days.", most=MAX_DAYS)
    return int(digits)


def parse_accounts(text: str) -> int:
    """Accounts to add (+5, 5) or remove (-2); never zero."""
    match = _ACCOUNTS.fullmatch(text.strip())
    if match is None or int(match["n"]) == 0:
        raise InvalidRequest("Type the accounts to add or remove, such as +5 or -2.")
    n = int(match["n"])
    return -n if match["sign"] == "-" else n


def parse_amount(text: str, currency: str) -> Money:
    """An amount typed in major units of the catalog currency (12.50, 250000)."""
    try:
        return parse_typed_amount(text, currency)
    except MoneyError:
        decimals = currency_exponent(currency)
        if decimals == 0:
            raise InvalidRequest(
                "Type an amount in {currency} above zero, in whole units, such as 250000.",
                currency=currency,
            ) from None
        raise InvalidRequest(
            "Type an amount in {currency} above zero, with at most {n} decimals, such as 12.50.",
            currency=currency,
            n=decimals,
        ) from None


def parse_mode(text: str) -> RefundMode:
    try:
        return RefundMode(text.strip().lower())
    except ValueError:
        raise InvalidRequest("Choose a refund mode: prorated, full, credit or none.") from None


def parse_id(text: str) -> int | None:
    """A database id typed in ASCII digits (`12`, `#12`), or None."""
    digits = text.strip().removeprefix("#")
    return int(digits) if _DIGITS.fullmatch(digits) else None


def parse_payment(text: str) -> int | None:
    """`payment:<id>` (a flagged notice's buttons), or None."""
    given = text.strip().lower()
    if not given.startswith(PAYMENT_PREFIX):
        return None
    return parse_id(given[len(PAYMENT_PREFIX) :])
