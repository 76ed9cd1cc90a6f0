"""The buttons under a look-up: what the staff member's tier may do next and the workspace's
state makes sensible, each a standing `/staff <verb> <argument>` that works however old."""

from __future__ import annotations

from collections.abc import Iterable

from bot.flows.staff.lookup_text import titled
from bot.flows.staff.verbs import run
from bot.i18n import N_, Translator
from bot.vocabulary import Option
from core.access import StaffTier, StaffVerb, staff_may
from core.lifecycle import Status
from core.services.staff.lookup import FlaggedPayment, WorkspaceCard
from core.services.staff.lookup_history import AuditPage

REFUNDS_OFFERED = 5

LOOKUPS = (
    (StaffVerb.AUDIT, N_("Audit log")),
    (StaffVerb.ORDERS, N_("Orders")),
    (StaffVerb.PAYMENTS, N_("Payments")),
    (StaffVerb.NOTICES, N_("Notices")),
)


def _changes(card: WorkspaceCard) -> list[tuple[StaffVerb, str]]:
    """The changes that would do something to this workspace as it stands."""
    held = [s for s in card.subscriptions if s.status is not Status.INACTIVE]
    wanted: list[tuple[StaffVerb, str]] = []
    if any(s.status is Status.TRY for s in held):
        wanted.append((StaffVerb.EXTEND, N_("Extend the trial")))
    if card.open_orders or any(s.grace_until is not None for s in held):
        wanted.append((StaffVerb.RESEND, N_("Send a fresh payment link")))
    if held:
        wanted.append((StaffVerb.GRANT, N_("Grant accounts")))
    if any(not s.cancel_at_period_end for s in held):
        wanted.append((StaffVerb.UNSUBSCRIBE, N_("Unsubscribe")))
    if any(s.cancel_at_period_end for s in held):
        wanted.append((StaffVerb.RESUME, N_("Resume")))
    if held:
        wanted.append((StaffVerb.CANCEL, N_("Cancel now")))
    wanted.append((StaffVerb.CREDIT, N_("Add credit")))
    return wanted


def card_options(t: Translator, tier: StaffTier | None, card: WorkspaceCard) -> tuple[Option, ...]:
    """The other look-ups, then the changes the tier may make and the state calls for."""
    ws = str(card.id)
    options = [
        Option(t(label), run(verb, ws))
        for verb, label in (*LOOKUPS, *_changes(card))
        if staff_may(verb, tier)
    ]
    return (*options, *refund_options(t, tier, card.refundable_orders))


def refund_options(
    t: Translator, tier: StaffTier | None, references: Iterable[str]
) -> tuple[Option, ...]:
    """A refund button per order with money left to give back (managers only)."""
    if not staff_may(StaffVerb.REFUND, tier):
        return ()
    unique = list(dict.fromkeys(references))[:REFUNDS_OFFERED]
    return tuple(
        Option(t("Refund {order}", order=ref), run(StaffVerb.REFUND, ref)) for ref in unique
    )


def back_to_workspace(t: Translator, workspace_id: int) -> Option:
    return Option(t("Back to the workspace"), run(StaffVerb.SHOW, str(workspace_id)))


def audit_options(t: Translator, page: AuditPage) -> tuple[Option, ...]:
    ws = str(page.workspace_id)
    options = []
    if page.has_previous:
        options.append(Option(t("Previous page"), run(StaffVerb.AUDIT, f"{ws} {page.page - 1}")))
    if page.has_more:
        options.append(Option(t("Next page"), run(StaffVerb.AUDIT, f"{ws} {page.page + 1}")))
    return (*options, back_to_workspace(t, page.workspace_id))


def flagged_options(
    t: Translator, tier: StaffTier | None, found: list[FlaggedPayment]
) -> tuple[Option, ...]:
    """Each workspace with a flagged payment, and (for managers) a refund where one can be."""
    seen: dict[int, Option] = {}
    for f in found:
        title = titled(f.workspace_id, f.workspace_name)
        seen.setdefault(f.workspace_id, Option(title, run(StaffVerb.SHOW, str(f.workspace_id))))
    refundable = [
        f.payment.order_reference
        for f in found
        if f.payment.order_reference and f.payment.refundable.minor
    ]
    return (*list(seen.values())[:REFUNDS_OFFERED], *refund_options(t, tier, refundable))
