"""An order on a web page, in the chat's words (bot.order_lines): its lines, its facts, and a
banner that says where it stands (paid, a failed attempt, failed, expired, cancelled)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from adapters.pages.shell import banner, e, page_language
from bot.i18n import N_, Translator
from bot.order_lines import (
    Line,
    LineRole,
    Priced,
    amount_lines,
    package_name,
    paid_period_line,
    pending_period_line,
    total_formula,
)
from core import order_lifecycle
from core.catalog import Catalog
from core.order_lifecycle import QUOTE_LAPSED
from core.services.provider_orders import ProviderOrder
from core.states import OrderKind, OrderStatus

KIND_LABELS = {
    OrderKind.NEW: N_("New purchase"),
    OrderKind.ADD_ACCOUNTS: N_("More accounts"),
    OrderKind.CHANGE: N_("Change of plan"),
    OrderKind.RENEWAL: N_("Renewal"),
}
STATUS_LABELS = {
    OrderStatus.PENDING: N_("Waiting for payment"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.EXPIRED: N_("Expired"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.FAILED: N_("Payment failed"),
}
METHOD_LABELS = {"card": N_("Card"), "bank_transfer": N_("Bank transfer")}
REASONS = {
    "replaced by a newer order": N_(
        "A newer order replaced this one: pay with the latest link the chat gave you."
    ),
    "unsubscribed": N_("The subscription was unsubscribed."),
    "paid after its base changed": N_(
        "It was paid after the subscription changed, so its amount went to the credit balance."
    ),
    "the bank transfer failed": N_("The bank transfer failed."),
    "declined in the sandbox": N_("The sandbox declined the payment, as the Fail button asks."),
    "payment failed": N_("The payment failed."),
    QUOTE_LAPSED: N_("Its amounts were binding for a limited time, and that time passed."),
    "its payment link expired": N_("Its payment link expired."),
}
"""Why orders close or payments fail, as the core records it, in the payer's words."""


@dataclass(frozen=True, slots=True)
class ShownOrder:
    """An order as a page shows it now: a pending order past its validity shows as expired."""

    order: ProviderOrder
    status: OrderStatus
    payable: bool

    @classmethod
    def at(cls, order: ProviderOrder, now: datetime) -> ShownOrder:
        refused = order_lifecycle.payable(order, now)
        status = order.status
        if status == OrderStatus.PENDING and refused is not None:
            status = OrderStatus.EXPIRED
        return cls(order, status, refused is None)


def translator(request: Request, order: ProviderOrder) -> Translator:
    """The order's language (its conversation's, else its workspace's), dates in its zone."""
    return Translator(page_language(request, order.language), order.workspace_zone)


def reason_text(t: Translator, reason: str | None) -> str | None:
    if not reason:
        return None
    known = REASONS.get(reason)
    return t(known) if known is not None else reason


def heading(t: Translator, catalog: Catalog, order: ProviderOrder) -> str:
    return t(
        "{package} for {workspace}",
        package=package_name(catalog, order.package),
        workspace=order.workspace_name,
    )


def _lines_html(lines: list[Line]) -> str:
    rows = "".join(
        f'<div class="line {line.role.value}"><dt>{e(line.label)}</dt>'
        f"<dd>{e(line.value)}</dd></div>\n"
        for line in lines
    )
    return f"<dl>\n{rows}</dl>\n"


def _facts(t: Translator, shown: ShownOrder) -> list[Line]:
    order = shown.order
    facts = [
        Line(t("Workspace"), order.workspace_name),
        Line(t("Order"), order.reference),
        Line(t("What"), t(KIND_LABELS[order.kind])),
        Line(t("Status"), t(STATUS_LABELS[shown.status])),
    ]
    paid = order.paid_period
    if paid is not None:
        facts.append(paid_period_line(t, *paid))
    elif order.kind is OrderKind.RENEWAL:
        facts.append(paid_period_line(t, order.period_start, order.period_end))
    else:
        facts.append(pending_period_line(t, order.kind is OrderKind.ADD_ACCOUNTS, order.period_end))
    if order.payment_method in METHOD_LABELS:
        facts.append(Line(t("Payment method"), t(METHOD_LABELS[order.payment_method])))
    if shown.payable:
        facts.append(Line(t("Link valid until"), t.when(order.expires_at)))
    if order.status == OrderStatus.PAID and order.closed_at is not None:
        facts.append(Line(t("Paid on"), t.when(order.closed_at)))
    return facts


def summary(t: Translator, catalog: Catalog, shown: ShownOrder) -> str:
    """The order's lines as the chat's review showed them, the formula, then its facts."""
    priced = Priced.of_order(shown.order)
    lines = amount_lines(t, catalog, priced)
    if shown.order.status == OrderStatus.PAID:
        # Paid: what was due is settled; the last line says so instead of "Due now".
        lines = [
            Line(t("Paid"), line.value, LineRole.DUE) if line.role is LineRole.DUE else line
            for line in lines
        ]
    ordered, details = t("Your order"), t("Details")
    return (
        f"<h2>{e(ordered)}</h2>\n{_lines_html(lines)}"
        f'<p class="formula">{e(total_formula(t, priced))}</p>\n'
        f"<h2>{e(details)}</h2>\n{_lines_html(_facts(t, shown))}"
    )


def state_banner(t: Translator, shown: ShownOrder, *, retry_hint: str) -> str:
    """Where the order stands, when that is more than "waiting for payment"; `retry_hint` says
    how to pay again after a failed attempt on this page's provider."""
    order = shown.order
    if shown.status == OrderStatus.PAID:
        when = order.closed_at or order.created_at
        return banner("good", t("Paid"), t("The payment arrived on {date}.", date=t.when(when)))
    if shown.status == OrderStatus.FAILED:
        return banner(
            "bad",
            t("The payment failed, and this order can no longer be paid."),
            reason_text(t, order.close_reason) or "",
            t("Nothing was charged. Start again from the chat to get a new order."),
        )
    if shown.status == OrderStatus.EXPIRED:
        return banner(
            "bad",
            t("This payment link has expired."),
            reason_text(t, order.close_reason) or "",
            t("Nothing was charged. Ask the chat for a new link."),
        )
    if shown.status == OrderStatus.CANCELLED:
        return banner(
            "bad",
            t("This order was cancelled."),
            reason_text(t, order.close_reason) or "",
        )
    failed = order.failed_attempt
    if failed is not None:
        return banner(
            "bad",
            t("The last payment attempt failed."),
            reason_text(t, failed.reason) or "",
            t(
                "Nothing was charged. {retry} The link is valid until {date}.",
                retry=retry_hint,
                date=t.when(order.expires_at),
            ),
        )
    return ""
