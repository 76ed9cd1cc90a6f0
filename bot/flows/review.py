"""The upgrade's draft and the quote it was reviewed at, kept with the conversation.

A review is stored as plain data beside the draft it priced, so Next and the payment method
order exactly the amounts the person saw (P9), and a changed draft is priced again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.clock import format_iso, parse_iso
from core.pricing import Quote, QuoteKind, Terms
from core.services.orders import ReviewedQuote

_AMOUNTS = (
    "price_per_account",
    "quantity",
    "total",
    "proration",
    "credit",
    "balance_applied",
    "due_now",
    "balance_after",
)
_TIMES = ("period_start", "period_end", "quoted_at", "valid_until")


@dataclass(frozen=True, slots=True)
class Draft:
    """What the person chose so far: the subscription to change (None: a new package) and
    the terms asked for."""

    subscription: int | None
    terms: Terms

    @classmethod
    def of(cls, data: dict[str, Any]) -> Draft:
        sub = data.get("subscription")
        terms = Terms(str(data["package"]), int(data["cycle"]), int(data["quantity"]))
        return cls(None if sub is None else int(sub), terms)

    def as_data(self) -> dict[str, Any]:
        terms = self.terms
        return {
            "subscription": self.subscription,
            "package": terms.package,
            "cycle": terms.cycle_months,
            "quantity": terms.quantity,
        }


def review_data(draft: Draft, reviewed: ReviewedQuote) -> dict[str, Any]:
    q = reviewed.quote
    quote: dict[str, Any] = {name: getattr(q, name) for name in _AMOUNTS}
    quote |= {name: format_iso(getattr(q, name)) for name in _TIMES}
    quote |= {"kind": q.kind.value, "currency": q.currency}
    return {
        "draft": draft.as_data(),
        "quote": quote,
        "subscription_id": reviewed.subscription_id,
        "base_version": reviewed.base_version,
    }


def stored_review(data: dict[str, Any], draft: Draft) -> ReviewedQuote | None:
    """The review kept for exactly this draft, if any."""
    stored = data.get("review")
    if not isinstance(stored, dict) or Draft.of(stored["draft"]) != draft:
        return None
    raw = stored["quote"]
    fields: dict[str, Any] = {name: int(raw[name]) for name in _AMOUNTS}
    fields |= {name: parse_iso(raw[name]) for name in _TIMES}
    quote = Quote(
        kind=QuoteKind(raw["kind"]), currency=str(raw["currency"]), terms=draft.terms, **fields
    )
    return ReviewedQuote(quote, stored["subscription_id"], stored["base_version"])
