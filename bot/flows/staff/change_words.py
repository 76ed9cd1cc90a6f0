"""A staff change in words: what the preview shows (before → after, the money, the open
orders), the reasons to choose from and the result, in the staff's language and the customer
workspace's time zone."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import N_, Translator
from bot.render import accounts, status_label
from core.catalog import Catalog
from core.money import Money
from core.services.staff.actions import ChangeResult
from core.services.staff.preview import Fate, OrderFate, Picture, Place, Preview
from core.services.staff.requests import (
    Cancel,
    Credit,
    CreditPayment,
    Extend,
    Grant,
    ReasonCode,
    Refund,
    RefundMode,
    Resend,
    Resume,
    StaffRequest,
    Unsubscribe,
)

REASONS = {
    ReasonCode.COURTESY: N_("Courtesy"),
    ReasonCode.BILLING_ERROR: N_("Billing error"),
    ReasonCode.REQUESTED_BY_CUSTOMER: N_("Requested by the customer"),
    ReasonCode.DUPLICATE: N_("Duplicate"),
    ReasonCode.FRAUDULENT: N_("Fraudulent"),
    ReasonCode.OTHER: N_("Other"),
}
MODES = {
    RefundMode.PRORATED: N_("Prorated: refund the unused time"),
    RefundMode.FULL: N_("Full: refund the last payment"),
    RefundMode.CREDIT: N_("Credit: unused time to the balance"),
    RefundMode.NONE: N_("None: no money back"),
}
CANCELLING = {
    RefundMode.PRORATED: N_("cancel now, refunding the unused time"),
    RefundMode.FULL: N_("cancel now, refunding the last payment"),
    RefundMode.CREDIT: N_("cancel now, crediting the unused time to the balance"),
    RefundMode.NONE: N_("cancel now, with no money back"),
}
FATES = {
    Fate.KEPT: N_("stays open"),
    Fate.CANCELLED: N_("cancelled, its payment link withdrawn"),
    Fate.NEW_LINK: N_("a fresh payment link; the old one is withdrawn"),
}


def in_zone(t: Translator, place: Place) -> Translator:
    """The staff's language with the customer workspace's time zone, for the change's dates."""
    return Translator(t.language, place.timezone)


def reason_label(t: Translator, code: ReasonCode) -> str:
    return t(REASONS[code])


def what(t: Translator, catalog: Catalog, request: StaffRequest) -> str:
    """The change in a few words: "extend the trial by 7 days"."""
    if isinstance(request, Extend):
        return t.plural("extend the trial by {n} day", "extend the trial by {n} days", request.days)
    if isinstance(request, Grant):
        if request.accounts > 0:
            return t("add {accounts} without charge", accounts=accounts(t, request.accounts))
        return t("remove {accounts} without charge", accounts=accounts(t, -request.accounts))
    if isinstance(request, Unsubscribe):
        return t("unsubscribe")
    if isinstance(request, Resume):
        return t("resume")
    if isinstance(request, Cancel):
        return t(CANCELLING[request.mode])
    if isinstance(request, Refund):
        return t("refund a payment")
    if isinstance(request, Credit):
        return t("add {amount} to the credit balance", amount=t.money(request.amount))
    if isinstance(request, CreditPayment):
        return t("credit flagged payment #{id}", id=request.payment_id)
    assert isinstance(request, Resend)
    return t("send a fresh payment link for order {order}", order=request.order_reference)


def _package(catalog: Catalog, code: str | None) -> str | None:
    if code is None:
        return None
    return catalog.package(code).name if catalog.has_package(code) else code


def title(t: Translator, catalog: Catalog, preview: Preview) -> str:
    package = _package(catalog, preview.package)
    change = what(t, catalog, preview.request)
    if package is None:
        return t("{workspace}: {change}?", workspace=preview.workspace.name, change=change)
    return t(
        "{workspace}, {package}: {change}?",
        workspace=preview.workspace.name,
        package=package,
        change=change,
    )


def _moved(before: str, after: str) -> str:
    return before if before == after else f"{before} → {after}"


def _when(t: Translator, at: datetime | None) -> str:
    return "-" if at is None else t.when(at)


def _status(t: Translator, picture: Picture) -> str:
    if picture.status is None:
        return "-"
    shown = status_label(t, picture.status)
    return (
        t("{status}, ending at the period end", status=shown)
        if picture.ends_at_period_end
        else shown
    )


def picture_lines(t: Translator, before: Picture, after: Picture) -> list[tuple[str, str]]:
    """Each customer-visible field the change moves, as "before → after"."""
    pairs = [
        (t("Status"), _status(t, before), _status(t, after)),
        (
            t("Accounts"),
            "-" if before.accounts is None else str(before.accounts),
            "-" if after.accounts is None else str(after.accounts),
        ),
        (t("Trial ends"), _when(t, before.trial_end), _when(t, after.trial_end)),
        (t("Period ends"), _when(t, before.period_end), _when(t, after.period_end)),
        (t("Credit balance"), t.money(before.balance), t.money(after.balance)),
        (t("Refunded on the payment"), t.money(before.refunded), t.money(after.refunded)),
    ]
    return [(label, _moved(b, a)) for label, b, a in pairs if b != a]


def _order_line(t: Translator, catalog: Catalog, fate: OrderFate) -> tuple[str, str]:
    kind = t("renewal") if fate.renewal else _package(catalog, fate.package) or fate.package
    label = t(
        "Order {order} ({kind}, {due} due)", order=fate.reference, kind=kind, due=t.money(fate.due)
    )
    return label, t(FATES[fate.fate])


def _money_lines(t: Translator, preview: Preview) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if preview.refund is not None:
        left = preview.refundable
        shown = t.money(preview.refund)
        if left is not None:
            shown = t("{amount} of {left} refundable", amount=shown, left=t.money(left))
        lines.append((t("Refund through the payment provider"), shown))
    if preview.credit is not None:
        lines.append((t("Added to the credit balance"), t.money(preview.credit)))
    if preview.balance_taken is not None:
        lines.append((t("Taken back out of the credit balance"), t.money(preview.balance_taken)))
    if preview.renewal_price is not None:
        lines.append((t("Charged now"), t.money(Money.zero(preview.renewal_price.currency))))
        lines.append((t("Next renewal or purchase costs"), t.money(preview.renewal_price)))
    return lines


def preview_lines(t: Translator, catalog: Catalog, preview: Preview) -> tuple[tuple[str, str], ...]:
    """The preview's lines; `t` speaks in the customer workspace's time zone."""
    lines = [(t("Workspace"), f"{preview.workspace.name} (#{preview.workspace.id})")]
    if preview.order_reference is not None:
        lines.append((t("Order"), preview.order_reference))
    lines.extend(picture_lines(t, preview.before, preview.after))
    lines.extend(_money_lines(t, preview))
    if preview.reminders_move:
        lines.append((t("Reminders"), t("move with the new end")))
    if preview.clears_flag:
        lines.append((t("Support flag on the payment"), t("cleared")))
    lines.extend(_order_line(t, catalog, fate) for fate in preview.orders)
    if not preview.orders:
        lines.append((t("Open orders"), t("none")))
    return tuple(lines)


def approval_note(t: Translator, over: Money) -> str:
    return t(
        "Above {amount}: a second manager must approve it before anything moves.",
        amount=t.money(over),
    )


def result_text(t: Translator, catalog: Catalog, result: ChangeResult, *, again: bool) -> str:
    """What ran (or, `again`, had already run): the change, what moved, who was told."""
    preview = result.preview
    head = (
        t("Already done (action #{id}):", id=result.action_id)
        if again
        else t("Done (action #{id}):", id=result.action_id)
    )
    lines = [f"{head} {what(t, catalog, preview.request)}."]
    lines.extend(
        f"{label}: {value}" for label, value in picture_lines(t, preview.before, result.after)
    )
    if preview.refund is not None:
        lines.append(t("Refunded: {amount}.", amount=t.money(preview.refund)))
    if result.link is not None:
        lines.append(t("New payment link: {link}", link=result.link))
    if result.approved_by is not None:
        lines.append(t("Approved by {who}.", who=result.approved_by))
    lines.append(t("The workspace's billing admins were told."))
    return "\n".join(lines)
