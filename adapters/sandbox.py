"""The sandbox payment provider: checkout links served by planbot itself, paid with one click.

It lets the whole product run with no payment account anywhere. Paying or failing a sandbox
checkout goes through the same fulfilment path a provider webhook takes
(core.services.payments), so a second click is a duplicate and the order is fulfilled once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote, unquote, urlsplit

from core import order_lifecycle
from core.clock import format_iso
from core.errors import NotFound
from core.order_lifecycle import NotPayable
from core.ports import Checkout, CheckoutRequest, RefundRequest, RefundResult
from core.services.context import Context
from core.services.payments import apply_payment, record_payment_failure
from core.services.provider_orders import ProviderOrder, ReceivedPayment, provider_order
from core.states import OrderKind, OrderStatus

PROVIDER = "sandbox"
CHECKOUT_PATH = "/sandbox/checkout/"
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_LINK_PATH = re.compile(r"(?:/.*)?/sandbox/checkout/(?P<reference>[^/]+)/?")
_LINK_LABEL = re.compile(r"(?:link|liên kết):\s*", re.IGNORECASE)
DECLINED = "declined in the sandbox"
"""Why a sandbox payment failed: the payer pressed Fail (a declined card, say)."""


class SandboxGateway:
    """A PaymentGateway whose checkout page is planbot's own web app (adapters.web)."""

    name = PROVIDER

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.strip().rstrip("/")

    def link(self, order_reference: str) -> str:
        return f"{self.public_url}{CHECKOUT_PATH}{quote(order_reference, safe='')}"

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(
            provider=self.name,
            link=self.link(request.order_reference),
            provider_reference=request.order_reference,
            expires_at=request.expires_at,
        )

    async def cancel_checkout(self, provider_reference: str) -> None:
        """Nothing to withdraw: the page reads the order, whose own status decides."""

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Sandbox money goes back at once; the refund's id comes from the idempotency key,
        so a repeated request is the same refund."""
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        return RefundResult(f"re_sandbox_{digest}", request.amount, "succeeded")


class SandboxReferenceError(ValueError):
    """Text that is neither an order reference nor a sandbox payment link."""


def is_reference(text: str) -> bool:
    return _REFERENCE.fullmatch(text) is not None


def parse_order_reference(text: str) -> str:
    """The order reference in `text`: a reference, or a whole sandbox link as a chat printed it.

    Surrounding whitespace, a trailing slash and the console's "Link: " label (in either
    language) are ignored.
    """
    given = text.strip()
    if (label := _LINK_LABEL.match(given)) is not None:
        given = given[label.end() :]
    if is_reference(given):
        return given
    if not given:
        raise SandboxReferenceError(
            "an order reference or a sandbox payment link is needed, got nothing"
        )
    shown = given if len(given) <= 80 else given[:77] + "..."
    wrong = SandboxReferenceError(
        f"{shown!r} is neither an order reference (such as ord_0123456789abcdef) nor a "
        f"sandbox payment link (such as http://127.0.0.1:8000/sandbox/checkout/ord_...)"
    )
    try:
        parts = urlsplit(given)
    except ValueError as exc:
        raise wrong from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise wrong
    match = _LINK_PATH.fullmatch(parts.path)
    if match is None:
        raise wrong
    reference = unquote(match["reference"])
    if not is_reference(reference):
        raise wrong
    return reference


class Outcome(StrEnum):
    """What became of a sandbox payment (or failure) request."""

    APPLIED = "applied"
    ALREADY_PAID = "already_paid"
    CREDITED = "credited"
    MISMATCH = "mismatch"
    FAILED = "failed"
    ALREADY_FAILED = "already_failed"
    UNKNOWN_ORDER = "unknown_order"
    NOT_PAYABLE = "not_payable"


@dataclass(frozen=True, slots=True)
class SandboxResult:
    outcome: Outcome
    reference: str
    message: str

    @property
    def ok(self) -> bool:
        """The request was handled (recorded, or recognised as a repeat); False: refused."""
        return self.outcome not in (Outcome.UNKNOWN_ORDER, Outcome.NOT_PAYABLE)


@dataclass(frozen=True, slots=True)
class CheckoutView:
    """A sandbox order as its checkout page shows it; amounts in minor units of its currency."""

    order: ProviderOrder
    package_name: str
    refusal: str | None
    """Why it cannot be paid now, for the command line (None: it can)."""

    @property
    def payable(self) -> bool:
        return self.refusal is None

    @property
    def shown_status(self) -> OrderStatus:
        """The status a payer sees: a pending order past its expiry shows as expired."""
        if self.order.status == OrderStatus.PENDING and self.refusal is not None:
            return OrderStatus.EXPIRED
        return self.order.status


def payment_id(reference: str) -> str:
    """The sandbox's payment id for an order: one per order, so a repeat is a duplicate."""
    return f"{PROVIDER}-{reference}"


def _refusal(order: ProviderOrder, now: datetime) -> str | None:
    """Why the order cannot be paid from the sandbox now (None: it can), in the payer's words."""
    refused = order_lifecycle.payable(order, now)
    if refused is None:
        return None
    if refused is NotPayable.EXPIRED:
        return f"its payment link expired at {format_iso(order.expires_at)}"
    return _closed(order)


def _closed(order: ProviderOrder) -> str:
    """A closed order's refusal names how it closed, so the payer knows what to do next."""
    status = order.status
    if status == OrderStatus.PAID:
        return f"it was paid on {format_iso(order.closed_at or order.created_at)}"
    if status == OrderStatus.EXPIRED:
        return f"it expired ({order.close_reason or 'its payment link lapsed'})"
    if status == OrderStatus.CANCELLED:
        return f"it was cancelled ({order.close_reason or 'cancelled'})"
    if status == OrderStatus.FAILED:
        return f"its payment failed ({order.close_reason or 'payment failed'})"
    return f"it is {status}"


async def _find(
    ctx: Context, reference: str
) -> tuple[ProviderOrder, ReceivedPayment | None] | None:
    """The sandbox order, with the sandbox payment already received for it."""
    if not is_reference(reference):
        return None
    return await provider_order(ctx, PROVIDER, reference, payment_id(reference))


async def load_checkout(ctx: Context, reference: str) -> CheckoutView | None:
    """The checkout page's content for a sandbox order (None: there is no such sandbox order)."""
    found = await _find(ctx, reference)
    if found is None:
        return None
    order, _ = found
    package_name = (
        ctx.catalog.package(order.package).name
        if ctx.catalog.has_package(order.package)
        else order.package
    )
    return CheckoutView(order, package_name, _refusal(order, ctx.clock.now()))


async def complete_sandbox_payment(ctx: Context, reference: str, fail: bool) -> SandboxResult:
    """Pay (or fail) a sandbox order through the provider path; a repeat changes nothing."""
    found = await _find(ctx, reference)
    if found is None:
        return SandboxResult(
            Outcome.UNKNOWN_ORDER, reference, f"there is no sandbox order {reference!r}"
        )
    order, seen = found
    try:
        if seen is not None and not fail:
            # The sandbox pays an order once: this click repeats it, and the payment path
            # recognises it as a duplicate.
            repeat = await apply_payment(
                ctx,
                provider=PROVIDER,
                provider_payment_id=payment_id(reference),
                order_reference=reference,
                amount=seen.amount,
                currency=seen.currency,
            )
            note = f" ({repeat.note})" if repeat.note else ""
            return SandboxResult(
                Outcome.ALREADY_PAID,
                reference,
                f"order {reference} was already paid through the sandbox: nothing changed{note}",
            )
        refusal = _refusal(order, ctx.clock.now())
        if fail:
            return await _fail(ctx, order, refusal)
        if refusal is not None:
            return SandboxResult(
                Outcome.NOT_PAYABLE, reference, f"order {reference} cannot be paid: {refusal}"
            )
        result = await apply_payment(
            ctx,
            provider=PROVIDER,
            provider_payment_id=payment_id(reference),
            order_reference=reference,
            amount=order.due_now,
            currency=order.currency,
        )
    except NotFound:
        return SandboxResult(
            Outcome.UNKNOWN_ORDER, reference, f"there is no sandbox order {reference!r}"
        )
    if result.duplicate:
        return SandboxResult(
            Outcome.ALREADY_PAID,
            reference,
            f"order {reference} was already paid through the sandbox: nothing changed",
        )
    if result.outcome == "applied":
        return SandboxResult(
            Outcome.APPLIED,
            reference,
            f"order {reference}: payment applied; {order.package} now has "
            f"{order.new_quantity} accounts on a {order.cycle_months}-month cycle",
        )
    outcome = Outcome.CREDITED if result.outcome == "credited" else Outcome.MISMATCH
    return SandboxResult(
        outcome, reference, f"order {reference}: payment {result.outcome}: {result.note}"
    )


async def _fail(ctx: Context, order: ProviderOrder, refusal: str | None) -> SandboxResult:
    reference = order.reference
    if order.status == OrderStatus.FAILED:
        return SandboxResult(
            Outcome.ALREADY_FAILED,
            reference,
            f"order {reference}'s payment had already failed: nothing changed",
        )
    if refusal is not None:
        return SandboxResult(
            Outcome.NOT_PAYABLE, reference, f"order {reference} cannot be failed: {refusal}"
        )
    recorded = await record_payment_failure(
        ctx, provider=PROVIDER, order_reference=reference, reason=DECLINED, retryable=True
    )
    if not recorded:
        # Another request closed the order in between.
        return SandboxResult(
            Outcome.NOT_PAYABLE,
            reference,
            f"order {reference} cannot be failed: it is no longer waiting for payment",
        )
    if order.kind == OrderKind.RENEWAL:
        return SandboxResult(
            Outcome.FAILED,
            reference,
            f"order {reference}: payment failed; the renewal stays due until "
            f"{format_iso(order.expires_at)}",
        )
    return SandboxResult(
        Outcome.FAILED,
        reference,
        f"order {reference}: payment failed; the same link can pay it until "
        f"{format_iso(order.expires_at)}",
    )
