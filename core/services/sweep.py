"""The time-driven sweep: trial ends, period ends, renewals, grace ends and order expiry.

Idempotent, and safe in several processes at once: rows are claimed in batches with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from core import lifecycle
from core.errors import PaymentProviderError
from core.lifecycle import SubscriptionRow
from core.model import InactiveReason, Order, OrderKind, OrderStatus, SubscriptionState
from core.ports import CheckoutRequest, Notice, OffSessionCharger
from core.services.checkouts import checkout_request
from core.services.context import Context, audit_values
from core.services.order_expiry import expire_orders
from core.services.outbox import OutboxNotifier
from core.services.subscriptions import withdraw_links
from core.services.sweep_batch import Batch
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
    """Run every transition due at `at` (default: now) once."""
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
            await _notify(ctx, _told_now(ctx, batch.notices, checkouts))
        await withdraw_links(ctx, withdrawn)
        await _collect(ctx, checkouts, report.counts)
        if not batch.rows:
            break
    await expire_orders(ctx, now, report.counts)
    return report


async def _step(ctx: Context, batch: Batch, row: SubscriptionRow, counts: Counter[str]) -> None:
    """One due subscription's transition, with its audit entry and its chat's notice."""
    before = lifecycle.snapshot(row)
    if row.state == SubscriptionState.TRIAL:
        lifecycle.deactivate(row, InactiveReason.TRIAL_EXPIRED)
        event = "trial.ended"
    elif row.grace_until is not None:
        lifecycle.deactivate(row, InactiveReason.LAPSED)
        batch.lapsed.append(row.id)
        event = "subscription.suspended"
    elif row.cancel_at_period_end:
        lifecycle.deactivate(row, InactiveReason.CANCELLED)
        event = "subscription.ended"
    else:
        event = await renew_row(ctx, batch, row)
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
    chat = batch.chat(row.id)
    batch.notices.append(
        Notice(
            event,
            row.workspace_id,
            chat[0],
            chat[1],
            {"subscription_id": row.id, "package": row.package},
        )
    )


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
        if n.kind != "renewal.due" or n.data.get("subscription_id") not in charged
    ]


async def _notify(ctx: Context, notices: list[Notice]) -> None:
    if isinstance(ctx.notifier, OutboxNotifier):
        # The whole batch's notices in one statement, in the batch's transaction.
        await ctx.notifier.notify_all(notices)
    else:
        await ctx.send(notices)


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
