"""The customer notices' words, one function per kind of DESIGN section 14's catalogue, each
reading its typed payload and ending with the one-tap action that resolves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.flow import standing
from bot.i18n import Translator
from bot.order_lines import accounts, months
from bot.vocabulary import Choices, Link, Option, Reply, Text
from core import notice_kinds as k
from core.catalog import Catalog

Command = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Words:
    """What every renderer needs: the language, the catalogue's names, how commands are typed."""

    t: Translator
    catalog: Catalog
    command: Command

    def package(self, code: str) -> str:
        return self.catalog.package(code).name if self.catalog.has_package(code) else code

    def amount(self, amount: int | None, currency: str | None) -> str | None:
        return None if amount is None or not currency else self.t.minor(amount, currency)

    def details(self) -> str:
        return self.t("Send {command} for the details.", command=self.command("subscription"))


def one_tap(question: str, *options: Option) -> Choices:
    """A notice's buttons: standing values, so version 0 serves however old it is."""
    return Choices(question, options, 0)


def _pay(w: Words, link: str) -> Link:
    return Link(w.t("Pay"), link)


def _renew(w: Words, subscription_id: int, package: str) -> Choices:
    """Renewing what ended is buying it again (P8, P7)."""
    option = Option(w.t("Renew"), standing("upgrade", str(subscription_id)))
    return one_tap(w.t("Renew {package}?", package=package), option)


def _buy(w: Words, question: str) -> Choices:
    return one_tap(question, Option(w.t("Upgrade or buy"), standing("upgrade")))


def payment_succeeded(w: Words, p: k.PaymentSucceeded) -> list[Reply]:
    t = w.t
    text = t(
        "Payment received for order {order}: {package} is Active with {accounts}.",
        order=p.order,
        package=w.package(p.package),
        accounts=accounts(t, p.quantity),
    )
    if (paid := w.amount(p.amount, p.currency)) is not None:
        text += " " + t("Amount paid: {amount}.", amount=paid)
    if p.period_end is not None:
        text += " " + t("Next payment: {date}.", date=t.when(p.period_end))
    return [Text(text)]


def payment_failed(w: Words, p: k.PaymentFailed) -> list[Reply]:
    t = w.t
    text = t(
        "The payment for order {order} failed. You can try again with {command}.",
        order=p.order,
        command=w.command("upgrade"),
    )
    upgrade = Option(t("Upgrade"), standing("upgrade"))
    return [Text(text), one_tap(t("Try the payment again?"), upgrade)]


def payment_needs_support(w: Words, p: k.PaymentNeedsSupport) -> list[Reply]:
    """Credited: the money is in the balance; a mismatch was not applied at all."""
    if p.outcome == "credited":
        text = w.t(
            "A payment for order {order} could not be applied as quoted; its amount "
            "was kept as credit and support has been told.",
            order=p.order,
        )
    else:
        text = w.t(
            "A payment for order {order} did not match the order, so it was not applied; "
            "support has been told.",
            order=p.order,
        )
    return [Text(text)]


def order_replaced(w: Words, p: k.OrderReplaced) -> list[Reply]:
    t = w.t
    if p.replaced_by is None:
        text = t(
            "The payment link of order {order} ({package}) no longer works: a newer order "
            "replaced it.",
            order=p.order,
            package=w.package(p.package),
        )
    else:
        text = t(
            "The payment link of order {order} ({package}) no longer works: order {new} "
            "replaced it.",
            order=p.order,
            package=w.package(p.package),
            new=p.replaced_by,
        )
    if p.link:
        return [Text(text + " " + t("Pay the new order instead.")), _pay(w, p.link)]
    return [Text(text + " " + w.details())]


def order_expired(w: Words, p: k.OrderExpired) -> list[Reply]:
    text = w.t(
        "Order {order} for {package} expired unpaid; its payment link no longer works.",
        order=p.order,
        package=w.package(p.package),
    )
    return [Text(text), _buy(w, w.t("Order it again?"))]


def renewal_reminder(w: Words, p: k.RenewalReminder) -> list[Reply]:
    t, package = w.t, w.package(p.package)
    price = w.amount(p.amount, p.currency)
    if price is None:
        text = t("{package} renews on {date}.", package=package, date=t.when(p.period_end))
    else:
        text = t(
            "{package} renews on {date} for {amount}.",
            package=package,
            date=t.when(p.period_end),
            amount=price,
        )
    if p.quantity and p.cycle_months:
        text += " " + t(
            "Terms: {accounts}, every {months}.",
            accounts=accounts(t, p.quantity),
            months=months(t, p.cycle_months),
        )
    return [Text(text + " " + w.details())]


def _to_pay(w: Words, amount: int | None, currency: str | None, by: datetime | None) -> str:
    """ "Amount: $30.00. Due by …": what is known of the renewal's bill."""
    t, parts = w.t, []
    if (price := w.amount(amount, currency)) is not None:
        parts.append(t("Amount: {amount}.", amount=price))
    if by is not None:
        parts.append(t("Due by {date}.", date=t.when(by)))
    return "".join(" " + part for part in parts)


def _with_link(w: Words, text: str, link: str | None) -> list[Reply]:
    """The Pay link; none yet: the details command, which shows the renewal's link."""
    if link:
        return [Text(text), _pay(w, link)]
    return [
        Text(
            text
            + " "
            + w.t(
                "Send {command} for the payment link.",
                command=w.command("subscription"),
            )
        )
    ]


def renewal_due(w: Words, p: k.RenewalDue) -> list[Reply]:
    text = w.t(
        "The renewal of {package} is due. Pay it within the grace period to keep it active.",
        package=w.package(p.package),
    )
    return _with_link(w, text + _to_pay(w, p.amount, p.currency, p.deadline), p.link)


def renewal_charge_failed(w: Words, p: k.RenewalChargeFailed) -> list[Reply]:
    package = w.package(p.package)
    bill = _to_pay(w, p.amount, p.currency, p.deadline)
    if not p.link:
        text = w.t(
            "The renewal of {package} could not be charged to the saved payment "
            "method. Pay it within the grace period: {link}",
            package=package,
            link=w.command("subscription"),
        )
        return [Text(text + bill)]
    text = w.t(
        "The renewal of {package} could not be charged to the saved payment method. "
        "Pay it within the grace period.",
        package=package,
    )
    return [Text(text + bill), _pay(w, p.link)]


def renewal_charged(w: Words, p: k.RenewalCharged) -> list[Reply]:
    text = w.t("{package} was renewed from your credit balance.", package=w.package(p.package))
    if p.period_end is not None:
        text += " " + w.t("Next payment: {date}.", date=w.t.when(p.period_end))
    return [Text(text)]


def grace_reminder(w: Words, p: k.GraceReminder) -> list[Reply]:
    t = w.t
    text = t(
        "The renewal of {package} is still unpaid. Pay it by {date}, or it will be suspended.",
        package=w.package(p.package),
        date=t.when(p.grace_until),
    )
    return _with_link(w, text + _to_pay(w, p.amount, p.currency, None), p.link)


def subscription_suspended(w: Words, p: k.SubscriptionSuspended) -> list[Reply]:
    package = w.package(p.package)
    text = w.t("{package} was suspended: the renewal was not paid in time.", package=package)
    return [Text(text), _renew(w, p.subscription_id, package)]


def trial_reminder(w: Words, p: k.TrialReminder) -> list[Reply]:
    t = w.t
    text = t(
        "The trial of {package} ends on {date}.",
        package=w.package(p.package),
        date=t.when(p.trial_ends_at),
    )
    return [Text(text), _buy(w, t("Keep it after the trial?"))]


def trial_ended(w: Words, p: k.TrialEnded) -> list[Reply]:
    text = w.t("The trial of {package} has ended.", package=w.package(p.package))
    return [Text(text), _buy(w, w.t("Buy it now?"))]


def cancellation_requested(w: Words, p: k.CancellationRequested) -> list[Reply]:
    t, package = w.t, w.package(p.package)
    if p.ends_at is None:
        text = t("{package} is set to end at its period end.", package=package)
    else:
        text = t(
            "{package} will end on {date}. You can resume it until then.",
            package=package,
            date=t.when(p.ends_at),
        )
    resume = Option(t("Resume"), standing("resume", str(p.subscription_id)))
    return [Text(text), one_tap(t("Keep {package}?", package=package), resume)]


def cancellation_effective(w: Words, p: k.CancellationEffective) -> list[Reply]:
    package = w.package(p.package)
    text = w.t("{package} has ended as you asked.", package=package)
    return [Text(text), _renew(w, p.subscription_id, package)]


def change_scheduled(w: Words, p: k.ChangeScheduled) -> list[Reply]:
    t = w.t
    terms = t(
        "{package}, {accounts}, {months}",
        package=w.package(p.new_package),
        accounts=accounts(t, p.new_quantity),
        months=months(t, p.new_cycle_months),
    )
    package = w.package(p.package)
    if p.at is None:
        text = t("{package} changes to {terms} at its next renewal.", package=package, terms=terms)
    else:
        text = t(
            "{package} changes to {terms} on {date}, at its next renewal.",
            package=package,
            terms=terms,
            date=t.when(p.at),
        )
    withdraw = Option(t("Withdraw the change"), standing("withdraw", str(p.subscription_id)))
    return [Text(text), one_tap(t("Keep it as it is?"), withdraw)]


def change_applied(w: Words, p: k.ChangeApplied) -> list[Reply]:
    t = w.t
    text = t(
        "{package} now has {accounts}, every {months}.",
        package=w.package(p.package),
        accounts=accounts(t, p.quantity),
        months=months(t, p.cycle_months),
    )
    if p.period_end is not None:
        text += " " + t("Next payment: {date}.", date=t.when(p.period_end))
    return [Text(text)]


Renderer = Callable[[Words, Any], list[Reply]]

WORDS: dict[type[Any], Renderer] = {
    k.PaymentSucceeded: payment_succeeded,
    k.PaymentFailed: payment_failed,
    k.PaymentNeedsSupport: payment_needs_support,
    k.OrderReplaced: order_replaced,
    k.OrderExpired: order_expired,
    k.RenewalReminder: renewal_reminder,
    k.RenewalDue: renewal_due,
    k.RenewalCharged: renewal_charged,
    k.RenewalChargeFailed: renewal_charge_failed,
    k.GraceReminder: grace_reminder,
    k.SubscriptionSuspended: subscription_suspended,
    k.TrialReminder: trial_reminder,
    k.TrialEnded: trial_ended,
    k.CancellationRequested: cancellation_requested,
    k.CancellationEffective: cancellation_effective,
    k.ChangeScheduled: change_scheduled,
    k.ChangeApplied: change_applied,
}
"""One renderer per payload type of the catalogue."""
