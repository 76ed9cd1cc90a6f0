"""Product words in the user's language: statuses, notes, terms, details and quote reviews."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.order_lines import Priced, amount_lines, pending_period_line
from bot.order_lines import accounts as accounts
from bot.order_lines import cycle_label as cycle_label
from bot.order_lines import months as months
from core.catalog import Catalog
from core.lifecycle import Note, NoteKind, Status
from core.pricing import Quote, QuoteKind, Terms
from core.services.queries import SubscriptionView
from core.states import InactiveReason

STATUS_LABELS = {
    Status.ACTIVE: N_("Active"),
    Status.TRY: N_("Try"),
    Status.INACTIVE: N_("Inactive"),
}


def status_label(t: Translator, status: Status) -> str:
    return t(STATUS_LABELS[status])


def terms_text(t: Translator, catalog: Catalog, terms: Terms) -> str:
    return t(
        "{package}, {accounts}, {months}",
        package=catalog.package(terms.package).name,
        accounts=accounts(t, terms.quantity),
        months=months(t, terms.cycle_months),
    )


def note_text(t: Translator, catalog: Catalog, note: Note) -> str:
    if note.kind is NoteKind.ENDS_ON:
        return t("ends on {date}", date=t.when(note.at))
    if note.kind is NoteKind.OVERDUE:
        return t("payment overdue, suspends on {date}", date=t.when(note.at))
    assert note.terms is not None
    return t(
        "changes to {terms} on {date}",
        terms=terms_text(t, catalog, note.terms),
        date=t.when(note.at),
    )


INACTIVE_REASONS = {
    InactiveReason.NEVER_PAID: N_("Why: it was never paid for."),
    InactiveReason.TRIAL_EXPIRED: N_("Why: the trial ended."),
    InactiveReason.CANCELLED: N_("Why: it was cancelled."),
    InactiveReason.LAPSED: N_("Why: the renewal was not paid in time."),
}


def subscription_block(t: Translator, catalog: Catalog, view: SubscriptionView) -> str:
    heading = f"{view.package.name} ({view.package.code}) - {status_label(t, view.status)}"
    if view.status is Status.TRY:
        lines = [heading, *_trial_lines(t, view)]
    else:
        lines = [heading, *_paid_lines(t, view)]
    lines.append(t("Registered from: {date}", date=t.when(view.registered_at)))
    lines.extend(t("Note: {note}", note=note_text(t, catalog, note)) for note in view.notes)
    return "\n".join(lines)


def _trial_lines(t: Translator, view: SubscriptionView) -> list[str]:
    """A Try costs nothing: its end, and no price or total as if it would be charged."""
    lines = [t("Accounts: {n}", n=view.quantity)]
    if view.trial_ends_at is not None:
        lines.append(t("Trial ends: {date}", date=t.when(view.trial_ends_at)))
    lines.append(t("Nothing will be charged: the trial ends unless you buy the package."))
    return lines


def _paid_lines(t: Translator, view: SubscriptionView) -> list[str]:
    lines = [
        t(
            "Price: {price} per account for {months}",
            price=t.money(view.price_per_account),
            months=months(t, view.cycle_months),
        ),
        t("Accounts: {n} - Total: {total}", n=view.quantity, total=t.money(view.total)),
        t("Billing cycle: {months}", months=months(t, view.cycle_months)),
    ]
    due = view.renewal_due
    if due is not None:
        lines.append(
            t(
                "Renewal overdue: {amount} to pay by {date}",
                amount=t.money(due.amount),
                date=t.when(due.deadline),
            )
        )
    elif view.next_payment_at is not None:
        lines.append(t("Next payment: {date}", date=t.when(view.next_payment_at)))
    if view.inactive_reason is not None:
        lines.append(t(INACTIVE_REASONS[view.inactive_reason]))
    return lines


def review_lines(t: Translator, catalog: Catalog, quote: Quote) -> tuple[tuple[str, str], ...]:
    """Package, Cycle, Price per account, Quantity, Total, credit, due now, period (section 5),
    in the payment pages' words (bot.order_lines)."""
    lines = [(line.label, line.value) for line in amount_lines(t, catalog, Priced.of_quote(quote))]
    if quote.kind is QuoteKind.DOWNGRADE:
        lines.append((t("Starts at the renewal on"), t.when(quote.period_start)))
    else:
        period = pending_period_line(t, quote.kind is QuoteKind.ADD_ACCOUNTS, quote.period_end)
        lines.append((period.label, period.value))
    return tuple(lines)
