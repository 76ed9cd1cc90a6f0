"""Support staff's look-ups in words: found workspaces, a workspace's card and the flagged
payments, each kept to one chat message; and the words the other look-ups share."""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import N_, Translator
from bot.render import accounts, months, note_text, status_label, terms_text
from bot.vocabulary import Text
from core.catalog import Catalog
from core.lifecycle import Status
from core.pricing import Terms
from core.services.staff.lookup import (
    FlaggedPayment,
    Holding,
    MemberLine,
    OpenOrder,
    SubscriptionLine,
    WorkspaceCard,
)
from core.services.staff.lookup_find import FindRoute, FoundWorkspaces, WorkspaceHit
from core.services.staff.lookup_history import PaymentLine
from core.services.staff.targets import WorkspaceRef
from core.states import NoticeState, OrderKind, OrderStatus, PaymentOutcome, Role

MESSAGE_BUDGET = 3500
"""Characters a look-up's answer may fill: one Telegram message (4096) with its buttons."""
NAME_CHARS = 40
NOTE_CHARS = 120

ROUTES = {
    FindRoute.ID: N_("by id"),
    FindRoute.ORDER: N_("by order reference"),
    FindRoute.SLACK_TEAM: N_("by Slack team id"),
    FindRoute.TELEGRAM_USER: N_("by Telegram user id"),
    FindRoute.TELEGRAM_CHAT: N_("by Telegram chat id"),
    FindRoute.EXACT_NAME: N_("by its whole name"),
    FindRoute.NAME: N_("by name"),
}
KINDS = {
    OrderKind.NEW: N_("new purchase"),
    OrderKind.ADD_ACCOUNTS: N_("added accounts"),
    OrderKind.CHANGE: N_("change"),
    OrderKind.RENEWAL: N_("renewal"),
}
ORDER_STATUSES = {
    OrderStatus.PENDING: N_("pending"),
    OrderStatus.PAID: N_("paid"),
    OrderStatus.EXPIRED: N_("expired"),
    OrderStatus.CANCELLED: N_("cancelled"),
    OrderStatus.FAILED: N_("failed"),
}
OUTCOMES = {
    PaymentOutcome.APPLIED: N_("applied"),
    PaymentOutcome.CREDITED: N_("credited to the balance"),
    PaymentOutcome.MISMATCH: N_("amount mismatch"),
}
ROLES = {Role.OWNER: N_("owner"), Role.ADMIN: N_("admin"), Role.MEMBER: N_("member")}
NOTICE_STATES = {
    NoticeState.PENDING: N_("pending"),
    NoticeState.SENDING: N_("sending"),
    NoticeState.SENT: N_("sent"),
    NoticeState.SUPPRESSED: N_("suppressed"),
    NoticeState.FAILED: N_("failed"),
    NoticeState.UNKNOWN: N_("unknown (no answer came)"),
}


def cut(text: str | None, limit: int) -> str:
    """A free text (a name, a note) kept to one short line."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fitted(t: Translator, sections: Iterable[str]) -> tuple[Text, ...]:
    """Sections as texts, cut where they would overflow one message (said at the cut)."""
    out: list[Text] = []
    left = MESSAGE_BUDGET
    for section in sections:
        if len(section) > left:
            kept = section[:left].rsplit("\n", 1)[0] if left > 0 else ""
            out.append(Text((kept + "\n" if kept else "") + t("(cut short to fit one message)")))
            break
        out.append(Text(section))
        left -= len(section) + 2
    return tuple(out)


def titled(workspace_id: int, name: str) -> str:
    """A workspace as staff name it: its id, then its name."""
    return f"#{workspace_id} {cut(name, NAME_CHARS)}"


def workspace_title(ref: WorkspaceRef | WorkspaceCard | WorkspaceHit) -> str:
    return titled(ref.id, ref.name)


def terms_words(t: Translator, catalog: Catalog, terms: Terms) -> str:
    if catalog.has_package(terms.package):
        return terms_text(t, catalog, terms)
    return f"{terms.package}, {accounts(t, terms.quantity)}, {months(t, terms.cycle_months)}"


def _holdings(t: Translator, holdings: tuple[Holding, ...]) -> str:
    if not holdings:
        return t("holds nothing")
    return ", ".join(f"{h.package} × {h.quantity} {status_label(t, h.status)}" for h in holdings)


def found_text(t: Translator, typed: str, found: FoundWorkspaces) -> str:
    lines = [t("Workspaces for '{text}':", text=cut(typed, NAME_CHARS))]
    for hit in found.hits:
        lines.append(
            t(
                "{workspace} ({platform}) - {how} - {holdings} - {admins}",
                workspace=workspace_title(hit),
                platform=hit.platform or "-",
                how=t(ROUTES[hit.matched]),
                holdings=_holdings(t, hit.holdings),
                admins=t.plural("{n} billing admin", "{n} billing admins", hit.billing_admins),
            )
        )
    if found.more:
        lines.append(t("More match: type more of the name, or an id."))
    return "\n".join(lines)


def card_sections(t: Translator, catalog: Catalog, card: WorkspaceCard) -> list[str]:
    """The card: the workspace, then each part that has something in it."""
    where = card.platform or "-"
    if card.external_id:
        where += f" {card.external_id}"
    head = [
        t("Workspace {workspace} ({where})", workspace=workspace_title(card), where=where),
        t(
            "Time zone: {zone} - credit balance: {balance}",
            zone=card.timezone,
            balance=t.money(card.credit_balance),
        ),
    ]
    sections = ["\n".join(head)]
    subs = [_subscription(t, catalog, s) for s in card.subscriptions]
    sections.append("\n".join([t("Subscriptions:"), *subs]) if subs else t("No subscriptions."))
    if card.open_orders:
        orders = [_open_order(t, catalog, o) for o in card.open_orders]
        sections.append("\n".join([t("Open orders:"), *orders]))
    if card.payments:
        paid = [payment_line(t, p) for p in card.payments]
        sections.append("\n".join([t("Last payments:"), *paid]))
    if card.flags:
        flags = [_flag(t, p) for p in card.flags]
        sections.append("\n".join([t("Payments that need support:"), *flags]))
    sections.append(_members(t, card.members, card.members_total))
    return sections


def _subscription(t: Translator, catalog: Catalog, sub: SubscriptionLine) -> str:
    terms = terms_words(t, catalog, Terms(sub.package, sub.cycle_months, sub.quantity))
    line = f"- {terms} - {status_label(t, sub.status)}"
    if sub.trial_ends_at is not None:
        line += " - " + t("trial ends {date}", date=t.when(sub.trial_ends_at))
    elif sub.period_end is not None and sub.status is not Status.INACTIVE:
        # An Inactive subscription keeps its last period's dates, but no period runs.
        line += " - " + t("period ends {date}", date=t.when(sub.period_end))
    notes = ["  " + t("Note: {note}", note=note_text(t, catalog, note)) for note in sub.notes]
    return "\n".join([line, *notes])


def _open_order(t: Translator, catalog: Catalog, order: OpenOrder) -> str:
    if order.link is None:
        link = t("no payment link yet")
    elif order.link_valid:
        link = t("link valid until {date}", date=t.when(order.expires_at))
    else:
        link = t("link expired on {date}", date=t.when(order.expires_at))
    return t(
        "- {order} ({kind}): {terms} - due now {due} - {link}",
        order=order.reference,
        kind=t(KINDS[order.kind]),
        terms=terms_words(t, catalog, order.terms),
        due=t.money(order.due_now),
        link=link,
    )


def payment_line(t: Translator, payment: PaymentLine) -> str:
    line = t(
        "- {date}: {amount} {outcome} - {provider} {reference}",
        date=t.when(payment.received_at),
        amount=t.money(payment.amount),
        outcome=t(OUTCOMES[payment.outcome]),
        provider=payment.provider,
        reference=cut(payment.provider_payment_id, NAME_CHARS),
    )
    if payment.refunded.minor:
        line += " - " + t("refunded {amount}", amount=t.money(payment.refunded))
    return line


def _flag(t: Translator, payment: PaymentLine) -> str:
    return t(
        "- {order}: {amount} {outcome} - {note}",
        order=payment.order_reference or "-",
        amount=t.money(payment.amount),
        outcome=t(OUTCOMES[payment.outcome]),
        note=cut(payment.note, NOTE_CHARS),
    )


def _members(t: Translator, members: tuple[MemberLine, ...], total: int) -> str:
    lines = [t("Members ({n}):", n=total)]
    for m in members:
        line = f"- {m.platform} {cut(m.user_id, NAME_CHARS)} - {t(ROLES[m.role])}"
        lines.append(line + (f" - {cut(m.display_name, NAME_CHARS)}" if m.display_name else ""))
    if total > len(members):
        lines.append(t("and {n} more", n=total - len(members)))
    return "\n".join(lines)


def flagged_sections(t: Translator, found: list[FlaggedPayment]) -> list[str]:
    if not found:
        return [t("No payment needs support.")]
    lines = [
        t(
            "- {date}: {workspace} - {flag}",
            date=t.when(f.payment.received_at),
            workspace=titled(f.workspace_id, f.workspace_name),
            flag=_flag(t, f.payment).removeprefix("- "),
        )
        for f in found
    ]
    return [t("Payments that need support, oldest first:"), *lines]
