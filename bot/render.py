"""Product words in the user's language: statuses, notes, terms, details and quote reviews."""

from __future__ import annotations

from bot.i18n import N_, Translator
from core.catalog import Catalog, Cycle
from core.lifecycle import Note, NoteKind, Status
from core.pricing import Quote, QuoteKind, Terms
from core.services.queries import SubscriptionView

STATUS_LABELS = {
    Status.ACTIVE: N_("Active"),
    Status.TRY: N_("Try"),
    Status.INACTIVE: N_("Inactive"),
}


def months(t: Translator, n: int) -> str:
    return t.plural("{n} month", "{n} months", n)


def accounts(t: Translator, n: int) -> str:
    return t.plural("{n} account", "{n} accounts", n)


def cycle_label(t: Translator, cycle: Cycle) -> str:
    if cycle.discount_percent == 0:
        return months(t, cycle.months)
    return t(
        "{months} (-{discount})",
        months=months(t, cycle.months),
        discount=t.percent(cycle.discount_percent),
    )


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


def subscription_block(t: Translator, catalog: Catalog, view: SubscriptionView) -> str:
    lines = [
        f"{view.package.name} ({view.package.code}) - {status_label(t, view.status)}",
        t(
            "Price: {price} per account for {months}",
            price=t.money(view.price_per_account),
            months=months(t, view.cycle_months),
        ),
        t("Accounts: {n} - Total: {total}", n=view.quantity, total=t.money(view.total)),
        t("Billing cycle: {months}", months=months(t, view.cycle_months)),
    ]
    if view.next_payment_at is not None:
        lines.append(t("Next payment: {date}", date=t.when(view.next_payment_at)))
    lines.append(t("Registered from: {date}", date=t.when(view.registered_at)))
    lines.extend(t("Note: {note}", note=note_text(t, catalog, note)) for note in view.notes)
    return "\n".join(lines)


def review_lines(t: Translator, catalog: Catalog, quote: Quote) -> tuple[tuple[str, str], ...]:
    """Package, Cycle, Price per account, Quantity, Total, credit, due now, period (section 5)."""

    def money(amount: int) -> str:
        return t.minor(amount, quote.currency)

    lines = [
        (t("Package"), catalog.package(quote.terms.package).name),
        (t("Cycle"), cycle_label(t, catalog.cycle(quote.terms.cycle_months))),
        (t("Price per account"), money(quote.price_per_account)),
        (t("Quantity"), accounts(t, quote.quantity)),
        (t("Total"), money(quote.total)),
    ]
    if quote.proration:
        lines.append((t("Part of the period already passed"), "-" + money(quote.proration)))
    if quote.credit:
        lines.append(
            (t("Credit for the unused part of your current terms"), "-" + money(quote.credit))
        )
    if quote.balance_applied:
        lines.append((t("Credit balance used"), "-" + money(quote.balance_applied)))
    lines.append((t("Due now"), money(quote.due_now)))
    if quote.kind is QuoteKind.DOWNGRADE:
        lines.append((t("Starts at the renewal on"), t.when(quote.period_start)))
    elif quote.kind is QuoteKind.ADD_ACCOUNTS:
        lines.append((t("Renewal date"), t.when(quote.period_end)))
    else:
        lines.append(
            (t("New period"), t("from payment until about {date}", date=t.day(quote.period_end)))
        )
    return tuple(lines)
