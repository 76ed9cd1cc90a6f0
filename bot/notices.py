"""Notices in the user's language: what a chat is told when something happens elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from bot.flow import slash
from bot.i18n import Translator
from bot.render import accounts
from core.catalog import Catalog
from core.clock import parse_iso
from core.ports import Notice


def _package(catalog: Catalog, code: object) -> str:
    text = str(code)
    return catalog.package(text).name if catalog.has_package(text) else text


def notice_text(
    t: Translator, catalog: Catalog, notice: Notice, command: Callable[[str], str] = slash
) -> str:
    """`command` says how a command is typed where the notice goes ("/plans details")."""
    data = notice.data
    package = _package(catalog, data.get("package"))
    if notice.kind == "payment.succeeded":
        until = data.get("period_end")
        text = t(
            "Payment received for order {order}: {package} is Active with {accounts}.",
            order=data.get("order"),
            package=package,
            accounts=accounts(t, int(str(data.get("quantity", 0)))),
        )
        if until:
            text += " " + t("Next payment: {date}.", date=t.when(parse_iso(str(until))))
        return text
    if notice.kind == "payment.failed":
        return t(
            "The payment for order {order} failed. You can try again with {command}.",
            order=data.get("order"),
            command=command("upgrade"),
        )
    if notice.kind == "payment.needs_support":
        return t(
            "A payment for order {order} could not be applied as quoted; its amount was "
            "kept as credit and support has been told.",
            order=data.get("order"),
        )
    if notice.kind == "renewal.charge_failed":
        return t(
            "The renewal of {package} could not be charged to the saved payment method. "
            "Pay it within the grace period: {link}",
            package=package,
            link=data.get("link") or command("subscription"),
        )
    if notice.kind == "renewal.due" and data.get("link"):
        return t(
            "The renewal of {package} is due. Pay it within the grace period: {link}",
            package=package,
            link=data.get("link"),
        )
    if notice.kind == "renewal.due":
        return t(
            "The renewal of {package} is due. Pay it within the grace period to keep it active.",
            package=package,
        )
    if notice.kind == "renewal.charged":
        return t("{package} was renewed from your credit balance.", package=package)
    if notice.kind == "trial.ended":
        return t("The trial of {package} has ended.", package=package)
    if notice.kind == "subscription.ended":
        return t("{package} has ended as you asked.", package=package)
    if notice.kind == "subscription.suspended":
        return t("{package} was suspended: the renewal was not paid in time.", package=package)
    return t(
        "Something changed in your subscriptions. Send {command} for the details.",
        command=command("subscription"),
    )
