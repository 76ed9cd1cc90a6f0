"""Persistent model: workspaces, members, subscriptions, orders, payments, balance and audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.clock import as_utc
from core.pricing import Terms
from core.quiet_hours import QUIET_FROM, QUIET_UNTIL
from core.states import (
    InactiveReason,
    NoticeState,
    OrderKind,
    OrderStatus,
    PaymentOutcome,
    Role,
    SubscriptionState,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always gives back an aware UTC datetime, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A StrEnum stored as its value in a plain String(n): the schema stays a string column,
    and a value outside the enum is refused before it reaches the database."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


__all__ = [
    "InactiveReason",
    "OrderKind",
    "OrderStatus",
    "PaymentOutcome",
    "Role",
    "SubscriptionState",
]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        int: Integer,
        dict[str, Any]: JSON,
    }


class Workspace(Base):
    """The paying customer; `platform` + `external_id` name it where it lives (a Slack team)."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3))
    credit_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]
    reminders_on: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    receipts_on: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    quiet_from: Mapped[int | None] = mapped_column(default=QUIET_FROM)
    """Quiet hours' start, minutes after midnight in the workspace's zone (None: none)."""
    quiet_until: Mapped[int | None] = mapped_column(default=QUIET_UNTIL)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(EnumString(Role, 16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    active_at: Mapped[datetime | None]
    """When the person last chose this workspace to act in (None: never chose)."""
    granted_by: Mapped[str | None] = mapped_column(String(100))
    """Who granted the role in planbot (None: it comes from the platform or an invite)."""


class Subscription(Base):
    """What a workspace holds of one package; `terms_version` moves whenever the terms do."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "package"),
        Index("ix_subscriptions_due", "state", "due_at"),
        # The sweep claims due rows in this order, a batch at a time.
        Index("ix_subscriptions_due_order", "due_at", "id"),
        Index("ix_subscriptions_remind", "remind_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    package: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int]
    cycle_months: Mapped[int]
    # Read back as a SubscriptionState; typed str while core.lifecycle still writes `.value`.
    state: Mapped[SubscriptionState] = mapped_column(EnumString(SubscriptionState, 16))
    inactive_reason: Mapped[InactiveReason | None] = mapped_column(EnumString(InactiveReason, 32))
    registered_at: Mapped[datetime]
    trial_ends_at: Mapped[datetime | None]
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    anchor_at: Mapped[datetime | None]
    anchor_months: Mapped[int] = mapped_column(default=0)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_package: Mapped[str | None] = mapped_column(String(32))
    scheduled_quantity: Mapped[int | None]
    scheduled_cycle_months: Mapped[int | None]
    grace_until: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), doc="Next time the sweep must look at this subscription (None: never)."
    )
    terms_version: Mapped[int] = mapped_column(default=1)
    remind_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), doc="Next time a reminder may be due for it (None: none scheduled)."
    )

    @property
    def terms(self) -> Terms:
        return Terms(self.package, self.cycle_months, self.quantity)

    @property
    def scheduled_terms(self) -> Terms | None:
        if self.scheduled_package is None:
            return None
        assert self.scheduled_quantity is not None and self.scheduled_cycle_months is not None
        return Terms(self.scheduled_package, self.scheduled_cycle_months, self.scheduled_quantity)


class TrialUse(Base):
    """A trial taken, kept apart from subscriptions so an upgrade cannot reset it."""

    __tablename__ = "trial_uses"
    __table_args__ = (UniqueConstraint("workspace_id", "package"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    package: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]


class Order(Base):
    """A confirmed quote waiting for payment; paying it applies the change exactly once."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_pending", "status", "expires_at"),
        Index("ix_orders_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    base_version: Mapped[int | None]
    kind: Mapped[OrderKind] = mapped_column(EnumString(OrderKind, 16))
    status: Mapped[OrderStatus] = mapped_column(EnumString(OrderStatus, 16))
    package: Mapped[str] = mapped_column(String(32))
    cycle_months: Mapped[int]
    new_quantity: Mapped[int]
    quantity: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    price_per_account: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    proration: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)
    balance_applied: Mapped[int] = mapped_column(BigInteger)
    due_now: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    payment_method: Mapped[str | None] = mapped_column(String(32))
    payment_link: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    chat_platform: Mapped[str | None] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    placed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(200))

    @property
    def terms(self) -> Terms:
        return Terms(self.package, self.cycle_months, self.new_quantity)


class Payment(Base):
    """Money a provider reported; unique per provider reference so it counts once."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_payment_id"),
        # The stats sum the money received by month from this index alone.
        Index("ix_payments_received", "received_at", "currency", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_payment_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[PaymentOutcome] = mapped_column(EnumString(PaymentOutcome, 16))
    needs_support: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class BalanceEntry(Base):
    """One movement of a workspace's credit balance; the balance is their sum."""

    __tablename__ = "balance_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class AuditEntry(Base):
    """Who changed what, when, from what to what, and the order or payment behind it.

    For a subscription's before and after snapshots, `audit_values` also keeps what its MRR
    depends on as columns (`core.mrr`), which the stats sum in SQL.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_workspace", "workspace_id", "id"),
        # The stats walk each subscription's snapshots in order, reading only this index.
        Index(
            "ix_audit_mrr",
            "subscription_id",
            "id",
            "at",
            "active_terms_after",
            "accounts_after",
            "active_terms_before",
            "accounts_before",
            sqlite_where=text("accounts_after IS NOT NULL"),
            postgresql_where=text("accounts_after IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(Integer)
    payment_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    actor_tier: Mapped[str | None] = mapped_column(String(16))
    """The support tier the actor acted with (None: not support staff)."""
    reason_code: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[int | None] = mapped_column(Integer)
    active_terms_before: Mapped[str | None] = mapped_column(String(48))
    """`core.mrr.terms_key` of `before` while it was Active (None: not Active, or no snapshot)."""
    accounts_before: Mapped[int | None]
    active_terms_after: Mapped[str | None] = mapped_column(String(48))
    accounts_after: Mapped[int | None]
    """The accounts of `after`; set exactly when `after` is a subscription snapshot."""


class StaffAction(Base):
    """A support person's confirmed change: its single-use confirm token, the state it was
    previewed on, who asked, why, whether it waits for a second manager, and its result."""

    __tablename__ = "staff_actions"
    __table_args__ = (Index("ix_staff_actions_workspace", "workspace_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    verb: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state_key: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    actor_tier: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class Conversation(Base):
    """One person's conversation in one chat: read on every update, written with a version check."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    language: Mapped[str | None] = mapped_column(String(16))
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    last_update: Mapped[str | None] = mapped_column(String(64))
    """The platform's id of the last update that moved the conversation (repeats are quiet)."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)


class OutboxNotice(Base):
    """A notice for one chat: stored once per (kind, subject, due instant, chat), then leased
    by the platform's one sender, sent, and marked with how that went (DESIGN 14)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_undelivered", "chat_platform", "chat_id", "delivered_at"),
        Index("ix_outbox_ready", "chat_platform", "state", "send_after"),
        UniqueConstraint(
            "kind", "subject", "due_at", "chat_platform", "chat_id", name="uq_outbox_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    chat_platform: Mapped[str | None] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    """When it was sent (state sent), or when its outcome was settled otherwise."""
    subject: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]
    send_after: Mapped[datetime]
    """Its due instant moved out of the recipient's quiet hours."""
    deadline: Mapped[datetime | None]
    state: Mapped[NoticeState] = mapped_column(
        EnumString(NoticeState, 16), default=NoticeState.PENDING
    )
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempted_at: Mapped[datetime | None]
    """Set (and committed) just before the request leaves: a lapsed lease with it set is
    unknown, never resent; without it the notice is offered again."""
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(200))


class NoticeSender(Base):
    """One sender per bot token across all workers: whoever holds the unexpired lease sends."""

    __tablename__ = "notice_senders"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class Invite(Base):
    """A one-time invitation into a workspace with a role, redeemed through a deep link."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[str | None] = mapped_column(String(100))


class ProviderCustomer(Base):
    """A workspace's customer record at a payment provider (created once, then reused)."""

    __tablename__ = "provider_customers"
    __table_args__ = (UniqueConstraint("provider", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ProviderEvent(Base):
    """A provider's webhook event, claimed once: its effect commits with the claim."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class Refund(Base):
    """Money given back on a payment through its provider; unique per provider refund id."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("provider", "provider_refund_id"),
        # The stats sum the money refunded by month from this index alone.
        Index("ix_refunds_at", "at", "currency", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_refund_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
