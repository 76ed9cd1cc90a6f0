"""The time-driven sweep: trial ends, period ends, renewals, grace ends, reminders, expiry.

Idempotent, and safe in several processes at once: rows are claimed in batches with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select

from core import lifecycle, reminders
from core.errors import PaymentProviderError
from core.lifecycle import SubscriptionRow
from core.model import InactiveReason, Order, OrderKind, OrderStatus, SubscriptionState
from core.notice_kinds import (
    CancellationEffective,
    ChangeApplied,
    NoticeKind,
    RenewalCharged,
    RenewalDue,
    SubscriptionSuspended,
    TrialEnded,
)
from core.ports import CheckoutRequest, Notice, OffSessionCharger
from core.services.checkouts import checkout_request
from core.services.context import Context, audit_values
from core.services.order_expiry import expire_orders
from core.services.subscriptions import withdraw_links
from core.services.sweep_batch import Batch
from core.services.sweep_notices import store_notices
from core.services.sweep_reminders import ALWAYS_SENT, sweep_reminders
from core.services.sweep_renewals import (
    SYSTEM,
    attach_renewal_links,
    collect_renewal,
    pending_renewals,
    renew_row,
)

log = logging.getLogger("planbot.sweep")
LINK_RETRIES_PER_SWEEP = 500


@dataclass
class SweepReport:
    counts: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


async def sweep(ctx: Context, at: datetime | None = None, batch_size: int = 500) -> SweepReport:
    """Run every transition due at `at` (default: now) once, then store the reminders due."""
    now = at or ctx.clock.now()
    report = SweepReport()
    await _complete_links(ctx, now, report.counts)
    while True:
        async with ctx.db.unit_of_work() as session:
            batch = await Batch.claim(session, now, batch_size, ctx.db.is_postgres)
            for row in batch.rows:
                if row.id not in batch.deleted:
                    await _step(ctx, batch, row, report.counts)
            renewals = pending_renewals(batch, await batch.write())
            withdrawn = await batch.expire_lapsed_renewals()
            checkouts = [(order, checkout_request(ctx, order, "")) for order in renewals]
            # Stored with the batch, so a crash after the commit cannot lose them.
            await store_notices(ctx, _told_now(ctx, batch.notices, checkouts))
        await withdraw_links(ctx, withdrawn)
        await _collect(ctx, checkouts, report.counts)
        if not batch.rows:
            break
    await sweep_reminders(ctx, now, batch_size, report.counts)
    await expire_orders(ctx, now, report.counts)
    return report


async def _step(ctx: Context, batch: Batch, row: SubscriptionRow, counts: Counter[str]) -> None:
    """One due subscription's transition, with its audit entry and its recipients' notices."""
    before = lifecycle.snapshot(row)
    old = replace(row)
    if row.state == SubscriptionState.TRIAL:
        lifecycle.deactivate(row, InactiveReason.TRIAL_EXPIRED)
        event = NoticeKind.TRIAL_ENDED
    elif row.grace_until is not None:
        lifecycle.deactivate(row, InactiveReason.LAPSED)
        batch.lapsed.append(row.id)
        event = NoticeKind.SUBSCRIPTION_SUSPENDED
    elif row.cancel_at_period_end:
        lifecycle.deactivate(row, InactiveReason.CANCELLED)
        event = NoticeKind.CANCELLATION_EFFECTIVE
    else:
        event = NoticeKind(await renew_row(ctx, batch, row))
    batch.stepped[row.id] = row
    counts[event] += 1
    batch.audits.append(
        audit_values(
            at=batch.now,
            workspace_id=row.workspace_id,
            subscription_id=row.id,
            actor=SYSTEM,
            action=f"sweep.{event}",
            before=before,
            after=lifecycle.snapshot(row),
        )
    )
    _tell(batch, event, old, row)
    _remind(batch, event, row, counts)


def _remind(batch: Batch, event: NoticeKind, row: SubscriptionRow, counts: Counter[str]) -> None:
    """The stepped row's new schedule, computed here in its zone: a reminder already due
    (grace a day old when the sweep ran late) is stored with the batch, and the reminder pass
    does not claim the row again before its next one."""
    place = batch.places[row.workspace_id]
    bill = None
    if event == NoticeKind.RENEWAL_DUE:
        order = batch.orders[-1]
        bill = reminders.Bill(order.due_now, order.currency, order.reference)
    reminder, row.remind_at = reminders.look(row, row.id, place.zone, place.quiet, batch.now, bill)
    if reminder is not None and (place.reminders_on or reminder.kind in ALWAYS_SENT):
        counts[reminder.kind] += 1
        batch.tell(row, reminder.payload, reminder.due_at, reminder.deadline, reminder.send_after)


def _tell(batch: Batch, event: NoticeKind, old: SubscriptionRow, row: SubscriptionRow) -> None:
    """The transition's notices: keyed by the instant it was due, so a rerun stores none."""
    sub_id, package = row.id, old.package
    if event == NoticeKind.TRIAL_ENDED:
        assert old.trial_ends_at is not None
        batch.tell(row, TrialEnded(sub_id, package, old.trial_ends_at), old.trial_ends_at)
        return
    assert old.period_end is not None
    if event == NoticeKind.SUBSCRIPTION_SUSPENDED:
        assert old.grace_until is not None
        batch.tell(row, SubscriptionSuspended(sub_id, package, old.grace_until), old.grace_until)
    elif event == NoticeKind.CANCELLATION_EFFECTIVE:
        batch.tell(row, CancellationEffective(sub_id, package, old.period_end), old.period_end)
    else:
        _tell_renewal(batch, event, old, row)


def _tell_renewal(
    batch: Batch, event: NoticeKind, old: SubscriptionRow, row: SubscriptionRow
) -> None:
    """renewal.due with what to pay and by when (the link is read when it is sent), or
    renewal.charged from the balance, with change.applied when a scheduled change took."""
    assert old.period_end is not None
    order = batch.orders[-1]
    if event == NoticeKind.RENEWAL_DUE:
        due = RenewalDue(
            row.id,
            order.package,
            order=order.reference,
            amount=order.due_now,
            currency=order.currency,
            deadline=row.grace_until,
            quantity=order.quantity,
            cycle_months=order.cycle_months,
        )
        batch.tell(row, due, old.period_end, deadline=row.grace_until)
        return
    charged = RenewalCharged(
        row.id,
        row.package,
        row.period_end,
        order=order.reference,
        amount=order.total,
        currency=order.currency,
        quantity=row.quantity,
        cycle_months=row.cycle_months,
    )
    batch.tell(row, charged, old.period_end)
    if row.terms != old.terms:
        applied = ChangeApplied(
            row.id,
            row.package,
            row.quantity,
            row.cycle_months,
            row.period_end,
            old_package=old.package,
            old_quantity=old.quantity,
            old_cycle_months=old.cycle_months,
        )
        batch.tell(row, applied, old.period_end)


def _told_now(
    ctx: Context, notices: list[Notice], checkouts: list[tuple[Order, CheckoutRequest]]
) -> list[Notice]:
    """A chat whose renewal is charged off-session hears how the charge went instead of
    "renewal due" (collect_renewal tells it once the charge is done)."""
    if not isinstance(ctx.gateway, OffSessionCharger):
        return notices
    charged = {order.subscription_id for order, _ in checkouts}
    return [
        n
        for n in notices
        if n.kind != NoticeKind.RENEWAL_DUE or n.data.get("subscription_id") not in charged
    ]


async def _collect(
    ctx: Context, checkouts: list[tuple[Order, CheckoutRequest]], counts: Counter[str]
) -> None:
    """After the commit (these are calls to the provider): charge or hand out links."""
    if ctx.gateway is None or not checkouts:
        return
    if isinstance(ctx.gateway, OffSessionCharger):
        for order, request in checkouts:
            try:
                await collect_renewal(ctx, order, request, counts)
            except PaymentProviderError as exc:
                _link_failed(order, exc, counts)
    else:
        await attach_renewal_links(ctx, checkouts, lambda o, e: _link_failed(o, e, counts))


def _link_failed(order: Order, error: PaymentProviderError, counts: Counter[str]) -> None:
    """One renewal the provider could not serve does not hold up the others; the next sweep
    completes it (`_complete_links`) with the same idempotency keys."""
    counts["renewal.link_failed"] += 1
    log.warning("renewal %s got no payment link yet: %s", order.reference, error.template)


async def _complete_links(ctx: Context, now: datetime, counts: Counter[str]) -> None:
    """Renewal orders a provider failed on in an earlier sweep get their charge or link now."""
    if ctx.gateway is None:
        return
    async with ctx.db.read() as session:
        missing = list(
            await session.scalars(
                select(Order)
                .where(
                    Order.kind == OrderKind.RENEWAL,
                    Order.status == OrderStatus.PENDING,
                    Order.payment_link.is_(None),
                    Order.expires_at > now,
                )
                .order_by(Order.id)
                .limit(LINK_RETRIES_PER_SWEEP)
            )
        )
    if missing:
        counts["renewal.link_retried"] += len(missing)
        await _collect(ctx, [(o, checkout_request(ctx, o, "")) for o in missing], counts)
