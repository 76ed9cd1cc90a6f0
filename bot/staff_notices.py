"""What the staff chats are shown: a flagged payment with Refund / Credit / Show, a refund
or credit waiting for a second manager with Approve / Reject (DESIGN section 13)."""

from __future__ import annotations

from collections.abc import Callable

from bot.flow import standing
from bot.i18n import Translator
from bot.vocabulary import Choices, Option, Reply, Text
from core.access import StaffVerb
from core.catalog import Catalog
from core.money import MoneyError
from core.ports import Notice
from core.staff_notices import ApprovalVerb, FlaggedPayment, FlagReason, PendingApproval

REJECT = "reject"
"""The verb that turns a pending approval down (built beside approve)."""


def staff_run(verb: str, argument: str) -> str:
    """A standing button that runs `/staff <verb> <argument>` (as bot.flows.staff.verbs.run)."""
    return standing("staff", f"{verb} {argument}")


def _amount(t: Translator, minor: int, currency: str) -> str:
    """Per locale; a currency Babel does not know is shown as the provider gave it."""
    try:
        return t.minor(minor, currency)
    except MoneyError:
        return f"{minor} {currency}"


def _why(t: Translator, flagged: FlaggedPayment, amount: str) -> str:
    if flagged.outcome is FlagReason.CREDITED:
        return t(
            "Payment {payment} of {amount} for order {order} could not be applied as "
            "quoted: it went to the credit balance.",
            payment=flagged.payment,
            amount=amount,
            order=flagged.order,
        )
    return t(
        "Payment {payment} of {amount} for order {order} does not match the order, so it "
        "was not applied.",
        payment=flagged.payment,
        amount=amount,
        order=flagged.order,
    )


def staff_flagged(
    t: Translator, _: Catalog, notice: Notice, __: Callable[[str], str]
) -> list[Reply]:
    """The facts, and one tap to refund it, credit it or look at the workspace."""
    flagged = FlaggedPayment.from_data(notice.data)
    lines = [
        t(
            "Flagged payment in {workspace} (#{id}).",
            workspace=flagged.workspace,
            id=flagged.workspace_id,
        ),
        _why(t, flagged, _amount(t, flagged.amount, flagged.currency)),
    ]
    if flagged.note:
        lines.append(t("Note: {note}", note=flagged.note))
    ws = str(flagged.workspace_id)
    options = (
        Option(t("Refund"), staff_run(StaffVerb.REFUND, flagged.order)),
        Option(t("Credit"), staff_run(StaffVerb.CREDIT, f"{ws} payment:{flagged.payment}")),
        Option(t("Show"), staff_run(StaffVerb.SHOW, ws)),
    )
    return [Text("\n".join(lines)), Choices(t("What should support do?"), options, 0)]


def _request(t: Translator, pending: PendingApproval, amount: str) -> str:
    if pending.verb is ApprovalVerb.REFUND:
        return t(
            "{requester} asks to refund {amount} of order {order} in {workspace} (#{id}).",
            requester=pending.requester,
            amount=amount,
            order=pending.order or "-",
            workspace=pending.workspace,
            id=pending.workspace_id,
        )
    if pending.verb is ApprovalVerb.CANCEL:
        return t(
            "{requester} asks to cancel {workspace} (#{id}) now, giving back {amount}.",
            requester=pending.requester,
            amount=amount,
            workspace=pending.workspace,
            id=pending.workspace_id,
        )
    return t(
        "{requester} asks to credit {amount} to {workspace} (#{id}).",
        requester=pending.requester,
        amount=amount,
        workspace=pending.workspace,
        id=pending.workspace_id,
    )


def staff_approval(
    t: Translator, _: Catalog, notice: Notice, __: Callable[[str], str]
) -> list[Reply]:
    """What a second manager approves or rejects; nothing moves until one does."""
    pending = PendingApproval.from_data(notice.data)
    lines = [
        _request(t, pending, _amount(t, pending.amount, pending.currency)),
        t("Reason: {reason}", reason=pending.reason_code),
    ]
    if pending.comment:
        lines.append(t("Comment: {comment}", comment=pending.comment))
    action = str(pending.action)
    options = (
        Option(t("Approve"), staff_run(StaffVerb.APPROVE, action)),
        Option(t("Reject"), staff_run(REJECT, action)),
    )
    return [
        Text("\n".join(lines)),
        Choices(t("A second manager must approve it."), options, 0),
    ]
