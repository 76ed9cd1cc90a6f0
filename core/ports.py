"""Ports the core needs from the outside: payment gateway and notifier (clock: core.clock)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.notice_kinds import kind_of, to_data


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What a provider needs to collect one order's payment."""

    order_reference: str
    idempotency_key: str
    workspace_id: int
    workspace_name: str
    package: str
    package_name: str
    cycle_months: int
    quantity: int
    currency: str
    price_per_account: int
    total: int
    discount: int
    due_now: int
    payment_method: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Checkout:
    """A payment link handed out for an order."""

    provider: str
    link: str
    provider_reference: str
    expires_at: datetime


class PaymentGateway(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> Checkout: ...

    async def cancel_checkout(self, provider_reference: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OffSessionCharge:
    """A renewal to charge to the payment method the workspace saved with its provider."""

    order_reference: str
    idempotency_key: str
    workspace_id: int
    amount: int
    currency: str
    description: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What a provider said about an off-session charge (`payment_id` names it if it exists)."""

    succeeded: bool
    payment_id: str | None
    amount: int
    currency: str
    reason: str | None = None
    attempted: bool = True  # False: nothing to charge (no saved payment method), no money moved


@runtime_checkable
class OffSessionCharger(Protocol):
    """An optional gateway capability: charge a saved payment method without the customer."""

    async def charge_off_session(self, charge: OffSessionCharge) -> ChargeResult: ...


@dataclass(frozen=True, slots=True)
class RefundRequest:
    provider_payment_id: str
    idempotency_key: str
    amount: int
    currency: str
    order_reference: str
    reason: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    provider_refund_id: str
    amount: int
    status: str


@runtime_checkable
class Refunder(Protocol):
    """An optional gateway capability: give money back on a payment it collected."""

    name: str

    async def refund(self, request: RefundRequest) -> RefundResult: ...


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a chat should be told, produced by a use case after its commit."""

    kind: str
    workspace_id: int
    chat_platform: str | None
    chat_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    """What the notice is about ("subscription:12", "order:PB-…"): with the kind, the due
    instant and the chat, the key that makes any number of sweeps store it once."""
    due_at: datetime | None = None
    """The instant it is due (None: when it is stored)."""
    send_after: datetime | None = None
    """When it may go out, after quiet hours (None: at its due instant)."""
    deadline: datetime | None = None
    """After this it is no longer worth sending (a trial's end, grace's end)."""

    @classmethod
    def of(
        cls,
        payload: object,
        workspace_id: int,
        chat: tuple[str | None, str | None],
        *,
        subject: str | None = None,
        due_at: datetime | None = None,
        send_after: datetime | None = None,
        deadline: datetime | None = None,
    ) -> Notice:
        """A customer notice from its typed payload (DESIGN 14's catalogue)."""
        return cls(
            kind_of(payload).value,
            workspace_id,
            chat[0],
            chat[1],
            to_data(payload),
            subject,
            due_at,
            send_after,
            deadline,
        )

    def at(self, chat: tuple[str, str]) -> Notice:
        """The same notice for another recipient."""
        return replace(self, chat_platform=chat[0], chat_id=chat[1])


class Notifier(Protocol):
    """Called inside the unit of work that causes the notice: the outbox implementation
    joins it, so a notice is stored exactly when its cause commits."""

    async def notify(self, notice: Notice) -> None: ...


class RecordingNotifier:
    """Keeps notices in memory; the default until a chat platform delivers them."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notice: Notice) -> None:
        self.notices.append(notice)
