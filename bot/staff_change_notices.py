"""Notices of staff changes in the recipient's language: what support changed and why, told
to the customer's billing admins (`staff.changed`), and a second manager's decision told to
the staff member who asked (`staff.decided`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.flows.staff.change_words import REASONS
from bot.i18n import Translator
from bot.render import accounts
from bot.vocabulary import Link, Reply, Text
from core.catalog import Catalog
from core.clock import parse_iso
from core.money import Money
from core.ports import Notice
from core.services.staff.requests import ReasonCode


def _package(catalog: Catalog, code: object) -> str:
    text = str(code or "")
    return catalog.package(text).name if catalog.has_package(text) else text


def _balance(side: dict[str, Any]) -> Money:
    return Money(int(side.get("balance") or 0), str(side.get("currency") or "USD"))


def _date(t: Translator, value: object) -> str:
    return t.when(parse_iso(str(value))) if value else "-"


def _moved(before: dict[str, Any], after: dict[str, Any], field: str) -> int:
    return int(after.get(field) or 0) - int(before.get(field) or 0)


def _what(t: Translator, catalog: Catalog, data: dict[str, Any]) -> str:
    verb, package = str(data.get("verb")), _package(catalog, data.get("package"))
    after = dict(data.get("after") or {})
    if verb == "extend":
        return t(
            "Support extended your trial of {package}: it now ends on {date}.",
            package=package,
            date=_date(t, after.get("trial_end")),
        )
    if verb == "grant":
        return t(
            "Support changed {package} to {accounts}, at no charge.",
            package=package,
            accounts=accounts(t, int(after.get("accounts") or 0)),
        )
    if verb == "unsubscribe" and after.get("status") == "Inactive":
        return t("Support unsubscribed {package}: it has ended.", package=package)
    if verb == "unsubscribe":
        return t(
            "Support unsubscribed {package}: it ends on {date}.",
            package=package,
            date=_date(t, after.get("period_end")),
        )
    if verb == "resume":
        return t(
            "Support resumed {package}: it renews as usual on {date}.",
            package=package,
            date=_date(t, after.get("period_end")),
        )
    if verb == "cancel":
        return t("Support cancelled {package} now.", package=package)
    if verb == "resend":
        return t("Support sent a fresh payment link for {package}.", package=package)
    if verb == "refund":
        return t("Support refunded a payment.")
    return t("Support changed your credit balance.")


def _money_moves(t: Translator, data: dict[str, Any]) -> list[str]:
    before, after = dict(data.get("before") or {}), dict(data.get("after") or {})
    currency = str(after.get("currency") or "USD")
    said = []
    refunded = _moved(before, after, "refunded")
    if refunded > 0:
        said.append(
            t(
                "{amount} goes back to your payment method.",
                amount=t.money(Money(refunded, currency)),
            )
        )
    balance = _moved(before, after, "balance")
    now = t.money(_balance(after))
    moved = t.money(Money(abs(balance), currency))
    if balance > 0:
        said.append(
            t(
                "{amount} was added to your credit balance; it is now {balance}.",
                amount=moved,
                balance=now,
            )
        )
    elif balance < 0:
        said.append(
            t(
                "{amount} was taken back from your credit balance; it is now {balance}.",
                amount=moved,
                balance=now,
            )
        )
    return said


def staff_changed(
    t: Translator, catalog: Catalog, notice: Notice, command: Callable[[str], str]
) -> list[Reply]:
    """What support changed and why (the staff's comment stays internal)."""
    data = notice.data
    lines = [_what(t, catalog, data), *_money_moves(t, data)]
    code = str(data.get("reason_code") or "")
    if code in {c.value for c in ReasonCode}:
        lines.append(t("Reason: {reason}.", reason=t(REASONS[ReasonCode(code)])))
    lines.append(t("Send {command} for the details.", command=command("subscription")))
    replies: list[Reply] = [Text(" ".join(lines))]
    link = data.get("link")
    if link:
        replies.append(Link(t("Pay with the new link"), str(link)))
    return replies


def staff_decided(
    t: Translator, catalog: Catalog, notice: Notice, command: Callable[[str], str]
) -> list[Reply]:
    """A second manager's decision on the refund or credit this chat asked for."""
    data = notice.data
    amount = t.money(Money(int(data.get("amount") or 0), str(data.get("currency") or "USD")))
    values = {
        "id": data.get("action"),
        "verb": data.get("verb"),
        "amount": amount,
        "workspace": data.get("workspace"),
        "who": data.get("by"),
    }
    decision = data.get("decision")
    if decision == "approved":
        text = t(
            "Action #{id} ({verb} of {amount} for {workspace}) was approved by {who}.", **values
        )
    elif decision == "rejected":
        text = t(
            "Action #{id} ({verb} of {amount} for {workspace}) was rejected by {who}: nothing "
            "moved.",
            **values,
        )
    else:
        text = t(
            "Action #{id} ({verb} of {amount} for {workspace}) lapsed: the workspace changed "
            "before {who} approved it, so nothing moved. Preview it again with {command} if it "
            "still stands.",
            command=command("staff"),
            **values,
        )
    return [Text(text)]
