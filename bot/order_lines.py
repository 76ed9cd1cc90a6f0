"""The lines of a quote or an order in one wording, for the chat's review and the payment pages.

The chat's review (bot.render) and the checkout, success and cancel pages (adapters) show the
same labels in the same order, so what the person confirmed reads the same where they pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.i18n import N_, Translator
from core.catalog import Catalog, Cycle
from core.pricing import Quote, QuoteKind
from core.services.provider_orders import ProviderOrder
from core.states import OrderKind

PACKAGE = N_("Package")
CYCLE = N_("Cycle")
LIST_PRICE = N_("List price per account")
PRICE = N_("Price per account")
QUANTITY = N_("Quantity")
TOTAL = N_("Total")
PRORATION = N_("Proration: part of the period already passed")
CREDIT = N_("Credit for the unused part of your current terms")
BALANCE = N_("Credit balance used")
DUE_NOW = N_("Due now")


class LineRole(Enum):
    """How a line weighs: a term of the order, a deduction from the total, or what is due."""

    TERM = "term"
    TOTAL = "total"
    DEDUCTION = "deduction"
    DUE = "due"


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    value: str
    role: LineRole = LineRole.TERM


@dataclass(frozen=True, slots=True)
class Priced:
    """What a quote or an order charges, in minor units of `currency`.

    `quantity` is what the order buys (the added accounts when adding), `in_all` the
    accounts held once it is paid."""

    package: str
    cycle_months: int
    currency: str
    price_per_account: int
    quantity: int
    in_all: int
    adding: bool
    total: int
    proration: int
    credit: int
    balance_applied: int
    due_now: int

    @classmethod
    def of_quote(cls, quote: Quote) -> Priced:
        return cls(
            package=quote.terms.package,
            cycle_months=quote.terms.cycle_months,
            currency=quote.currency,
            price_per_account=quote.price_per_account,
            quantity=quote.quantity,
            in_all=quote.terms.quantity,
            adding=quote.kind is QuoteKind.ADD_ACCOUNTS,
            total=quote.total,
            proration=quote.proration,
            credit=quote.credit,
            balance_applied=quote.balance_applied,
            due_now=quote.due_now,
        )

    @classmethod
    def of_order(cls, order: ProviderOrder) -> Priced:
        return cls(
            package=order.package,
            cycle_months=order.cycle_months,
            currency=order.currency,
            price_per_account=order.price_per_account,
            quantity=order.quantity,
            in_all=order.new_quantity,
            adding=order.kind is OrderKind.ADD_ACCOUNTS,
            total=order.total,
            proration=order.proration,
            credit=order.credit,
            balance_applied=order.balance_applied,
            due_now=order.due_now,
        )


def months(t: Translator, n: int) -> str:
    return t.plural("{n} month", "{n} months", n)


def accounts(t: Translator, n: int) -> str:
    return t.plural("{n} account", "{n} accounts", n)


def quantity_text(t: Translator, priced: Priced) -> str:
    """ "20 more accounts, 120 in all" when adding; else "100 accounts"."""
    if priced.adding:
        return t.plural(
            "{n} more account, {in_all} in all",
            "{n} more accounts, {in_all} in all",
            priced.quantity,
            in_all=priced.in_all,
        )
    return accounts(t, priced.quantity)


def package_name(catalog: Catalog, code: str) -> str:
    return catalog.package(code).name if catalog.has_package(code) else code


def cycle_label(t: Translator, cycle: Cycle) -> str:
    """ "12 months (-15%)": the cycle with its discount, as the cycle menu shows it."""
    if cycle.discount_percent == 0:
        return months(t, cycle.months)
    return t(
        "{months} (-{discount})",
        months=months(t, cycle.months),
        discount=t.percent(cycle.discount_percent),
    )


def cycle_text(t: Translator, catalog: Catalog, cycle_months: int) -> str:
    """The cycle with its discount; a cycle the catalog no longer sells, by its months."""
    if not catalog.has_cycle(cycle_months):
        return months(t, cycle_months)
    return cycle_label(t, catalog.cycle(cycle_months))


def _list_price(catalog: Catalog, priced: Priced) -> int | None:
    """The price per account before the cycle's discount, when there is a discount."""
    if not (catalog.has_package(priced.package) and catalog.has_cycle(priced.cycle_months)):
        return None
    if catalog.cycle(priced.cycle_months).discount_percent == 0:
        return None
    listed = catalog.package(priced.package).monthly_price * priced.cycle_months
    return listed.minor if listed.currency == priced.currency else None


def deduction_lines(t: Translator, priced: Priced) -> list[Line]:
    """Proration, credit and the credit balance used: what comes off the total."""

    def less(amount: int) -> str:
        return "-" + t.minor(amount, priced.currency)

    found = [
        (PRORATION, priced.proration),
        (CREDIT, priced.credit),
        (BALANCE, priced.balance_applied),
    ]
    return [Line(t(label), less(amount), LineRole.DEDUCTION) for label, amount in found if amount]


def amount_lines(t: Translator, catalog: Catalog, priced: Priced) -> list[Line]:
    """Package, Cycle, (List price), Price per account, Quantity, Total, deductions, Due now."""

    def money(amount: int) -> str:
        return t.minor(amount, priced.currency)

    lines = [
        Line(t(PACKAGE), package_name(catalog, priced.package)),
        Line(t(CYCLE), cycle_text(t, catalog, priced.cycle_months)),
    ]
    listed = _list_price(catalog, priced)
    if listed is not None:
        lines.append(Line(t(LIST_PRICE), money(listed)))
    lines += [
        Line(t(PRICE), money(priced.price_per_account)),
        Line(t(QUANTITY), quantity_text(t, priced)),
        Line(t(TOTAL), money(priced.total), LineRole.TOTAL),
        *deduction_lines(t, priced),
        Line(t(DUE_NOW), money(priced.due_now), LineRole.DUE),
    ]
    return lines


def total_formula(t: Translator, priced: Priced) -> str:
    """Total = Price per account × Quantity, multiplied out."""
    return t(
        "Total = Price per account × Quantity = {price} × {quantity} = {total}",
        price=t.minor(priced.price_per_account, priced.currency),
        quantity=priced.quantity,
        total=t.minor(priced.total, priced.currency),
    )


def pending_period_line(t: Translator, adding: bool, period_end: datetime) -> Line:
    """The period an unpaid order pays for: added accounts run to the renewal; anything
    else starts a new period at the payment."""
    if adding:
        return Line(t("Renewal date"), t.when(period_end))
    return Line(t("New period"), t("from payment until about {date}", date=t.day(period_end)))


def paid_period_line(t: Translator, start: datetime, end: datetime) -> Line:
    """The period a paid order (or a renewal) covers, start to end."""
    return Line(t("Period"), t("{start} to {end}", start=t.when(start), end=t.when(end)))
