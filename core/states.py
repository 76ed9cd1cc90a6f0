"""The product's states and kinds as enums: pure names the rules, the model and the chats share."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class SubscriptionState(StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    INACTIVE = "inactive"


class InactiveReason(StrEnum):
    NEVER_PAID = "never_paid"
    TRIAL_EXPIRED = "trial_expired"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class OrderKind(StrEnum):
    NEW = "new"
    ADD_ACCOUNTS = "add_accounts"
    CHANGE = "change"
    RENEWAL = "renewal"


class PaymentOutcome(StrEnum):
    APPLIED = "applied"
    CREDITED = "credited"
    MISMATCH = "mismatch"


class NoticeState(StrEnum):
    """Where a notice's delivery stands (DESIGN section 14): pending, then sending (a lease),
    then sent, suppressed (no longer true at send time), failed (the recipient blocked the
    bot) or unknown (the request went out and no answer came; never resent)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    UNKNOWN = "unknown"
