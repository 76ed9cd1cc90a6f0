"""A workspace's orders, payments, audit log and notices in words, each kept to one message."""

from __future__ import annotations

from bot.flows.staff.lookup_text import (
    KINDS,
    NAME_CHARS,
    NOTE_CHARS,
    NOTICE_STATES,
    ORDER_STATUSES,
    cut,
    payment_line,
    terms_words,
    workspace_title,
)
from bot.i18n import Translator
from core.access import tier_name
from core.catalog import Catalog
from core.services.staff.lookup import NoticeLine
from core.services.staff.lookup_history import AuditLine, AuditPage, OrderLine, PaymentLine
from core.services.staff.targets import WorkspaceRef

CHANGES_SHOWN = 4
REFUNDS_SHOWN = 3


def orders_sections(
    t: Translator, catalog: Catalog, ref: WorkspaceRef, found: list[OrderLine]
) -> list[str]:
    title = t("Orders of {workspace}, newest first:", workspace=workspace_title(ref))
    if not found:
        return [t("{workspace} has no orders.", workspace=workspace_title(ref))]
    return [title, *(_order(t, catalog, o) for o in found)]


def _order(t: Translator, catalog: Catalog, order: OrderLine) -> str:
    lines = [
        t(
            "{order} ({kind}) - {status}: {terms}",
            order=order.reference,
            kind=t(KINDS[order.kind]),
            status=t(ORDER_STATUSES[order.status]),
            terms=terms_words(t, catalog, order.terms),
        ),
        t(
            "  total {total}, due now {due}, paid {paid}, refunded {refunded}",
            total=t.money(order.total),
            due=t.money(order.due_now),
            paid=t.money(order.paid),
            refunded=t.money(order.refunded),
        ),
        "  "
        + t(
            "placed {date}, payable until {until}",
            date=t.when(order.created_at),
            until=t.when(order.expires_at),
        )
        + (
            f" - {order.provider} {cut(order.provider_reference, NAME_CHARS)}"
            if order.provider
            else ""
        ),
    ]
    if order.closed_at is not None:
        lines.append(
            "  "
            + t("closed {date}", date=t.when(order.closed_at))
            + (f": {cut(order.close_reason, NOTE_CHARS)}" if order.close_reason else "")
        )
    return "\n".join(lines)


def payments_sections(t: Translator, ref: WorkspaceRef, found: list[PaymentLine]) -> list[str]:
    if not found:
        return [t("{workspace} has no payments.", workspace=workspace_title(ref))]
    title = t("Payments of {workspace}, newest first:", workspace=workspace_title(ref))
    return [title, *(_payment_block(t, p) for p in found)]


def _payment_block(t: Translator, payment: PaymentLine) -> str:
    lines = [payment_line(t, payment)]
    if payment.order_reference:
        lines.append("  " + t("order {order}", order=payment.order_reference))
    if payment.note:
        lines.append("  " + t("Note: {note}", note=cut(payment.note, NOTE_CHARS)))
    for refund in payment.refunds[:REFUNDS_SHOWN]:
        lines.append(
            "  "
            + t(
                "refund {reference}: {amount} on {date} by {actor}: {reason}",
                reference=cut(refund.provider_refund_id, NAME_CHARS),
                amount=t.money(refund.amount),
                date=t.when(refund.at),
                actor=cut(refund.actor, NAME_CHARS),
                reason=cut(refund.reason, NOTE_CHARS),
            )
        )
    if len(payment.refunds) > REFUNDS_SHOWN:
        lines.append("  " + t("and {n} more", n=len(payment.refunds) - REFUNDS_SHOWN))
    return "\n".join(lines)


def audit_sections(t: Translator, ref: WorkspaceRef, page: AuditPage) -> list[str]:
    title = t(
        "Audit of {workspace}, page {page}, newest first:",
        workspace=workspace_title(ref),
        page=page.page,
    )
    if not page.entries:
        return [title, t("No entries on this page.")]
    return [title, *(_audit_entry(t, e) for e in page.entries)]


def _audit_entry(t: Translator, entry: AuditLine) -> str:
    who = cut(entry.actor, NAME_CHARS)
    if entry.tier is not None:
        who += f" ({t(tier_name(entry.tier))})"
    lines = [f"{t.when(entry.at)} - {who} - {cut(entry.action, NAME_CHARS)}"]
    changes = [
        f"{c.name}: {cut(c.before, NAME_CHARS) or '-'} → {cut(c.after, NAME_CHARS) or '-'}"
        for c in entry.changes[:CHANGES_SHOWN]
    ]
    if len(entry.changes) > CHANGES_SHOWN:
        changes.append(t("and {n} more", n=len(entry.changes) - CHANGES_SHOWN))
    if changes:
        lines.append("  " + "; ".join(changes))
    # A staff change keeps its comment (or code) as the one-line reason too: say it once.
    said = entry.reason if entry.reason not in (entry.comment, entry.reason_code) else None
    why = [part for part in (entry.reason_code, cut(said, NOTE_CHARS)) if part]
    if entry.comment:
        why.append(t("comment: {comment}", comment=cut(entry.comment, NOTE_CHARS)))
    if why:
        lines.append("  " + t("reason: {reason}", reason=" - ".join(why)))
    ids = _audit_ids(t, entry)
    if ids:
        lines.append("  " + ids)
    return "\n".join(lines)


def _audit_ids(t: Translator, entry: AuditLine) -> str:
    parts = []
    if entry.order_id is not None:
        parts.append(t("order {order}", order=entry.order_reference or f"#{entry.order_id}"))
    if entry.payment_id is not None:
        parts.append(t("payment #{id}", id=entry.payment_id))
    if entry.refund_id is not None:
        parts.append(t("refund #{id}", id=entry.refund_id))
    return ", ".join(parts)


def notices_sections(t: Translator, ref: WorkspaceRef, found: list[NoticeLine]) -> list[str]:
    if not found:
        return [t("{workspace} has no notices.", workspace=workspace_title(ref))]
    title = t("Notices of {workspace}, newest first:", workspace=workspace_title(ref))
    return [title, *(_notice(t, n) for n in found)]


def _notice(t: Translator, notice: NoticeLine) -> str:
    to = f"{notice.chat_platform or '-'} {cut(notice.chat_id, NAME_CHARS) or '-'}"
    line = t(
        "- {date}: {kind} to {chat} - {state}",
        date=t.when(notice.created_at),
        kind=cut(notice.kind, NAME_CHARS),
        chat=to,
        state=t(NOTICE_STATES[notice.state]),
    )
    if notice.delivered_at is not None:
        line += " " + t("on {date}", date=t.when(notice.delivered_at))
    return line
