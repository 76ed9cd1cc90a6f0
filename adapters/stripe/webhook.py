"""POST /stripe/webhook: signature over the raw body first, then one claimed event per id.

Each event's effect commits together with its claim (core.services.payments), and the answer
is sent only after that commit: a redelivery, a duplicate from a concurrent sender or an event
out of order does no harm. A bad signature or a malformed body gets a 400 (a body too large a
413, a declared type other than JSON a 415), one log line, and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http_guard import JSON, Refused, guarded, json_object, read_body, require_media_type
from adapters.stripe.client import PROVIDER
from adapters.stripe.pages import cancel_page, success_page
from core.errors import NotFound
from core.services.checkouts import reissue_renewal_link
from core.services.context import Context
from core.services.database import ConcurrentWrite
from core.services.payments import (
    Release,
    apply_payment,
    await_async_payment,
    record_payment_failure,
    release_order,
)

WEBHOOK_PATH = "/stripe/webhook"
SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1_000_000
"""Events are tens of kB; a payment's event refused for size is retried for days and never
applied, so the limit stays generous."""
log = logging.getLogger("planbot.stripe")

PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class Malformed(ValueError):
    """A signed event without what its type needs."""


def _text(obj: Any, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{key} is missing")
    return value


def _order_reference(obj: Any) -> str:
    metadata = obj.get("metadata") or {}
    reference = obj.get("client_reference_id") or metadata.get("order")
    if not isinstance(reference, str) or not reference:
        raise Malformed("no order reference")
    return reference


def _amount(obj: Any, key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{key} is missing")
    return value


async def handle_event(ctx: Context, event: stripe.Event) -> str:
    """Apply one verified event; returns what became of it (for the answer and the logs)."""
    kind, event_id = event.type, event.id
    raw = event.data.object
    obj: dict[str, Any] = raw.to_dict() if hasattr(raw, "to_dict") else dict(raw)
    if kind in PAID:
        if obj.get("mode", "payment") != "payment":
            return "ignored: not a payment session"
        if kind == PAID[0] and obj.get("payment_status") != "paid":
            held = await await_async_payment(
                ctx,
                provider=PROVIDER,
                order_reference=_order_reference(obj),
                event_id=event_id,
                event_kind=kind,
            )
            return "waiting for an asynchronous payment" if held else "unchanged"
        reference = _order_reference(obj)
        payment_intent = obj.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        result = await apply_payment(
            ctx,
            provider=PROVIDER,
            # Both events of one payment name the same PaymentIntent: it applies once.
            provider_payment_id=str(payment_intent or _text(obj, "id")),
            order_reference=reference,
            amount=_amount(obj, "amount_total"),
            currency=_text(obj, "currency"),
            event_id=event_id,
            event_kind=kind,
        )
        return "duplicate" if result.duplicate else result.outcome
    if kind == "payment_intent.succeeded":
        if not (obj.get("metadata") or {}).get("order"):
            return "ignored: not an order's payment"
        result = await apply_payment(
            ctx,
            provider=PROVIDER,
            provider_payment_id=_text(obj, "id"),
            order_reference=_order_reference(obj),
            amount=_amount(obj, "amount_received"),
            currency=_text(obj, "currency"),
            event_id=event_id,
            event_kind=kind,
        )
        return "duplicate" if result.duplicate else result.outcome
    if kind == "checkout.session.async_payment_failed":
        failed = await record_payment_failure(
            ctx,
            provider=PROVIDER,
            order_reference=_order_reference(obj),
            reason="the bank transfer failed",
            event_id=event_id,
            event_kind=kind,
        )
        return "failed" if failed else "unchanged"
    if kind == "checkout.session.expired":
        released = await release_order(
            ctx,
            provider=PROVIDER,
            order_reference=_order_reference(obj),
            provider_reference=_text(obj, "id"),
            event_id=event_id,
            event_kind=kind,
        )
        if released is Release.RENEWAL_LINK_LAPSED:
            renewed = await reissue_renewal_link(ctx, _order_reference(obj), _text(obj, "id"))
            return "reissued" if renewed else "unchanged"
        return str(released.value)
    return "ignored"


def verify(body: bytes, header: str | None, secret: str) -> None:
    """Stripe's signature over the raw body (the SDK's check, 300 s tolerance); else 400.

    Stripe signs UTF-8 text and the SDK decodes the body before it compares: a body that is
    not UTF-8 is refused as such."""
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, TOLERANCE_SECONDS)
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    except stripe.SignatureVerificationError:
        raise Refused(400, "bad signature") from None


def _event_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A verified body that names an event: its id, its type and the object it is about."""
    event_data = data.get("data")
    if not (
        isinstance(data.get("id"), str)
        and isinstance(data.get("type"), str)
        and isinstance(event_data, dict)
        and isinstance(event_data.get("object"), dict)
    ):
        raise Refused(400, "malformed event: not an event")
    return data


def stripe_routes(ctx: Context, webhook_secret: str) -> list[BaseRoute]:
    """The webhook and the pages Checkout returns to; add them through create_app(routes=...)."""

    @guarded(log)
    async def webhook(request: Request) -> Response:
        body = await read_body(request, MAX_BODY_BYTES)
        verify(body, request.headers.get(SIGNATURE_HEADER), webhook_secret)
        require_media_type(request, JSON)
        event = stripe.Event.construct_from(_event_fields(json_object(body)), None)
        try:
            outcome = await handle_event(ctx, event)
        except (Malformed, TypeError, AttributeError, KeyError) as exc:
            raise Refused(400, f"malformed event: {exc}") from None
        except NotFound:
            # Not one of planbot's orders (another integration on the same account).
            outcome = "ignored: unknown order"
        except ConcurrentWrite:
            # A concurrent delivery of the same event committed its claim first.
            outcome = "duplicate"
        log.info("stripe event %s %s: %s", event.id, event.type, outcome)
        return JSONResponse({"received": True, "outcome": outcome})

    async def success(request: Request) -> Response:
        return await success_page(ctx, request)

    async def cancel(request: Request) -> Response:
        return await cancel_page(ctx, request)

    return [
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        Route("/stripe/success", success, methods=["GET"]),
        Route("/stripe/cancel", cancel, methods=["GET"]),
    ]
