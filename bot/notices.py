"""Notices in the user's language: what a chat is told when something happens elsewhere,
as replies with the one-tap action that resolves them (DESIGN section 14)."""

from __future__ import annotations

from collections.abc import Callable

from bot.flow import slash, standing
from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.render import accounts
from bot.staff_change_notices import staff_changed, staff_decided
from bot.staff_notices import staff_approval, staff_flagged
from bot.vocabulary import Choices, Link, Option, Reply, Text
from core.catalog import Catalog
from core.clock import parse_iso
from core.ports import Notice
from core.staff import StaffDirectory

Command = Callable[[str], str]
NoticeRenderer = Callable[[Translator, Catalog, Notice, Command], list[Reply]]
"""Turns one kind of notice into replies; `command` says how a command is typed there."""


def _package(catalog: Catalog, code: object) -> str:
    text = str(code)
    return catalog.package(text).name if catalog.has_package(text) else text


def _one_tap(question: str, *options: Option) -> Choices:
    """A notice's buttons: standing values, so version 0 serves however old it is."""
    return Choices(question, options, 0)


def payment_succeeded(t: Translator, catalog: Catalog, notice: Notice, _: Command) -> list[Reply]:
    data = notice.data
    text = t(
        "Payment received for order {order}: {package} is Active with {accounts}.",
        order=data.get("order"),
        package=_package(catalog, data.get("package")),
        accounts=accounts(t, int(str(data.get("quantity", 0)))),
    )
    if until := data.get("period_end"):
        text += " " + t("Next payment: {date}.", date=t.when(parse_iso(str(until))))
    return [Text(text)]


def payment_failed(t: Translator, _: Catalog, notice: Notice, command: Command) -> list[Reply]:
    text = t(
        "The payment for order {order} failed. You can try again with {command}.",
        order=notice.data.get("order"),
        command=command("upgrade"),
    )
    upgrade = Option(t("Upgrade"), standing("upgrade"))
    return [Text(text), _one_tap(t("Try the payment again?"), upgrade)]


def payment_needs_support(t: Translator, _: Catalog, notice: Notice, __: Command) -> list[Reply]:
    """Credited: the money is in the balance; a mismatch was not applied at all."""
    order = notice.data.get("order")
    if notice.data.get("outcome") == "credited":
        return [
            Text(
                t(
                    "A payment for order {order} could not be applied as quoted; its amount "
                    "was kept as credit and support has been told.",
                    order=order,
                )
            )
        ]
    return [
        Text(
            t(
                "A payment for order {order} did not match the order, so it was not applied; "
                "support has been told.",
                order=order,
            )
        )
    ]


def _pay(t: Translator, link: str) -> Link:
    return Link(t("Pay"), link)


def renewal_charge_failed(
    t: Translator, catalog: Catalog, notice: Notice, command: Command
) -> list[Reply]:
    package, link = _package(catalog, notice.data.get("package")), notice.data.get("link")
    if not link:
        return [
            Text(
                t(
                    "The renewal of {package} could not be charged to the saved payment "
                    "method. Pay it within the grace period: {link}",
                    package=package,
                    link=command("subscription"),
                )
            )
        ]
    text = t(
        "The renewal of {package} could not be charged to the saved payment method. "
        "Pay it within the grace period.",
        package=package,
    )
    return [Text(text), _pay(t, str(link))]


def renewal_due(t: Translator, catalog: Catalog, notice: Notice, _: Command) -> list[Reply]:
    package, link = _package(catalog, notice.data.get("package")), notice.data.get("link")
    text = t(
        "The renewal of {package} is due. Pay it within the grace period to keep it active.",
        package=package,
    )
    return [Text(text), _pay(t, str(link))] if link else [Text(text)]


def renewal_charged(t: Translator, catalog: Catalog, notice: Notice, _: Command) -> list[Reply]:
    package = _package(catalog, notice.data.get("package"))
    return [Text(t("{package} was renewed from your credit balance.", package=package))]


def trial_ended(t: Translator, catalog: Catalog, notice: Notice, _: Command) -> list[Reply]:
    package = _package(catalog, notice.data.get("package"))
    buy = Option(t("Upgrade or buy"), standing("upgrade"))
    return [
        Text(t("The trial of {package} has ended.", package=package)),
        _one_tap(t("Buy it now?"), buy),
    ]


def subscription_ended(t: Translator, catalog: Catalog, notice: Notice, _: Command) -> list[Reply]:
    package = _package(catalog, notice.data.get("package"))
    return [Text(t("{package} has ended as you asked.", package=package))]


def subscription_suspended(
    t: Translator, catalog: Catalog, notice: Notice, _: Command
) -> list[Reply]:
    """Renewing a suspended subscription is buying it again (P8, P7)."""
    package = _package(catalog, notice.data.get("package"))
    subscription = str(notice.data.get("subscription_id") or "")
    renew = Option(t("Renew"), standing("upgrade", subscription))
    return [
        Text(t("{package} was suspended: the renewal was not paid in time.", package=package)),
        _one_tap(t("Renew {package}?", package=package), renew),
    ]


def something_changed(t: Translator, _: Catalog, __: Notice, command: Command) -> list[Reply]:
    """A kind nobody registered a renderer for still tells the chat where to look."""
    return [
        Text(
            t(
                "Something changed in your subscriptions. Send {command} for the details.",
                command=command("subscription"),
            )
        )
    ]


NOTICE_RENDERERS: dict[str, NoticeRenderer] = {
    "payment.succeeded": payment_succeeded,
    "payment.failed": payment_failed,
    "payment.needs_support": payment_needs_support,
    "renewal.charge_failed": renewal_charge_failed,
    "renewal.due": renewal_due,
    "renewal.charged": renewal_charged,
    "trial.ended": trial_ended,
    "subscription.ended": subscription_ended,
    "subscription.suspended": subscription_suspended,
    "staff.flagged": staff_flagged,
    "staff.approval": staff_approval,
    "staff.changed": staff_changed,
    "staff.decided": staff_decided,
}


def notice_replies(
    t: Translator, catalog: Catalog, notice: Notice, command: Command = slash
) -> list[Reply]:
    """The notice as replies: its text, and the buttons or the link that resolve it."""
    render = NOTICE_RENDERERS.get(notice.kind, something_changed)
    return render(t, catalog, notice, command)


def notice_text(t: Translator, catalog: Catalog, notice: Notice, command: Command = slash) -> str:
    """The notice as plain text, for places that show no buttons (links written out)."""
    parts: list[str] = []
    for reply in notice_replies(t, catalog, notice, command):
        if isinstance(reply, Link):
            parts.append(f"{reply.text}: {reply.url}")
        elif isinstance(reply, Text):
            parts.append(reply.text)
    return "\n".join(parts)


def notice_translator(
    staff: StaffDirectory, notice: Notice, locale: str | None, zone: str
) -> Translator:
    """A customer's chat reads its workspace's language; a staff chat the default one, with
    dates in the zone of the workspace the notice is about."""
    platform, chat = notice.chat_platform, notice.chat_id
    if platform is not None and chat is not None and staff.is_staff_chat(platform, chat):
        return Translator(DEFAULT_LANGUAGE, zone)
    return Translator(locale or DEFAULT_LANGUAGE, zone)
