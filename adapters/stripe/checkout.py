"""The parameters of a Checkout Session for one order (pure: no network, no database)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from core.ports import CheckoutRequest

# Stripe accepts a session's expires_at from 30 minutes to 24 hours after its creation; a
# minute of margin on each side keeps clock skew from turning that into a refusal.
MIN_LIFETIME = timedelta(minutes=31)
MAX_LIFETIME = timedelta(hours=24) - timedelta(minutes=1)

# Bank transfers (customer_balance) by currency; other currencies pay by card.
BANK_TRANSFER_TYPES = {
    "usd": "us_bank_transfer",
    "gbp": "gb_bank_transfer",
    "jpy": "jp_bank_transfer",
    "mxn": "mx_bank_transfer",
}


def session_expiry(wanted: datetime, now: datetime) -> datetime:
    """The quote's validity, clamped into the window Stripe allows (whole seconds)."""
    clamped = min(max(wanted, now + MIN_LIFETIME), now + MAX_LIFETIME)
    return clamped.replace(microsecond=0)


def bank_transfer_type(currency: str) -> str | None:
    return BANK_TRANSFER_TYPES.get(currency.lower())


def order_metadata(request: CheckoutRequest) -> dict[str, str]:
    return {
        "order": request.order_reference,
        "workspace": str(request.workspace_id),
        "package": request.package,
    }


def session_params(
    request: CheckoutRequest,
    *,
    customer: str,
    coupon: str | None,
    public_url: str,
    expires_at: datetime,
) -> dict[str, Any]:
    """Line items show Price × Quantity; credit, proration and balance show as one discount.

    Amounts are already in the currency's minor unit (zero-decimal ones too): never scaled.
    """
    currency = request.currency.lower()
    months = "1 month" if request.cycle_months == 1 else f"{request.cycle_months} months"
    reference = quote(request.order_reference, safe="")
    metadata = order_metadata(request)
    params: dict[str, Any] = {
        "mode": "payment",
        "customer": customer,
        "client_reference_id": request.order_reference,
        "metadata": metadata,
        "line_items": [
            {
                "quantity": request.quantity,
                "price_data": {
                    "currency": currency,
                    "unit_amount": request.price_per_account,
                    "product_data": {
                        "name": f"{request.package_name}, {months}",
                        "description": f"Price per account for {months}; quantity = accounts",
                        "metadata": {"package": request.package},
                    },
                },
            }
        ],
        "expires_at": int(expires_at.timestamp()),
        "success_url": f"{public_url}/stripe/success?order={reference}",
        "cancel_url": f"{public_url}/stripe/cancel?order={reference}",
        "payment_intent_data": {"metadata": metadata},
    }
    if coupon is not None:
        params["discounts"] = [{"coupon": coupon}]
    transfer = bank_transfer_type(currency)
    if request.payment_method == "bank_transfer" and transfer is not None:
        params["payment_method_types"] = ["customer_balance"]
        params["payment_method_options"] = {
            "customer_balance": {
                "funding_type": "bank_transfer",
                "bank_transfer": {"type": transfer},
            }
        }
    else:
        params["payment_method_types"] = ["card"]
        # The card is kept on the customer for the off-session renewal charges.
        params["payment_intent_data"]["setup_future_usage"] = "off_session"
    return params


def coupon_params(request: CheckoutRequest) -> dict[str, Any]:
    """A one-off coupon worth the order's credit, proration and balance applied."""
    return {
        "amount_off": request.discount,
        "currency": request.currency.lower(),
        "duration": "once",
        "max_redemptions": 1,
        "name": "Credit and balance applied"[:40],
        "metadata": {"order": request.order_reference},
    }
