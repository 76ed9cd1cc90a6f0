"""Reminders in the sweep (DESIGN 14): subscriptions whose `remind_at` has come are claimed in
batches, their due reminder stored for each recipient, and `remind_at` moved to the next one.

The outbox key (kind, subject, due instant, chat) makes any number of sweeps, concurrent or
repeated, store one row per reminder; a use case that moves a schedule withdraws the reminders
still pending for the old one (`reschedule`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle, reminders
from core.clock import as_utc
from core.model import Order, OrderKind, OrderStatus, OutboxNotice, Subscription, Workspace
from core.notice_kinds import NoticeKind
from core.ports import Notice
from core.pricing import Terms, price_per_account
from core.reminders import Bill
from core.services.context import Context
from core.services.sweep_notices import (
    PLACE_COLUMNS,
    Place,
    Recipients,
    addressed,
    place_of,
    store_notices,
    subject_of_subscription,
    workspace_place,
)
from core.states import NoticeState, SubscriptionState

_SUBSCRIPTIONS = cast(Table, Subscription.__table__)
_WORKSPACES = cast(Table, Workspace.__table__)
ALWAYS_SENT = frozenset({NoticeKind.GRACE_REMINDER})
"""Dunning reminders go out whether or not the workspace turned reminders off."""


@dataclass(slots=True)
class ReminderRow:
    """What a subscription's reminders are computed from, read without the ORM."""

    id: int
    workspace_id: int
    package: str
    quantity: int
    cycle_months: int
    state: SubscriptionState
    trial_ends_at: datetime | None
    period_end: datetime | None
    grace_until: datetime | None
    cancel_at_period_end: bool
    scheduled_package: str | None
    scheduled_quantity: int | None
    scheduled_cycle_months: int | None


_COLUMNS = tuple(f.name for f in fields(ReminderRow))
_MOVE = (
    update(_SUBSCRIPTIONS)
    .where(_SUBSCRIPTIONS.c.id == bindparam("row_id"))
    .values(remind_at=bindparam("new_remind_at"))
)


def _claim_statement(now: datetime, batch_size: int, postgres: bool) -> Any:
    stmt = (
        select(*(_SUBSCRIPTIONS.c[name] for name in _COLUMNS), *PLACE_COLUMNS)
        .join(_WORKSPACES, _WORKSPACES.c.id == _SUBSCRIPTIONS.c.workspace_id)
        .where(
            _SUBSCRIPTIONS.c.remind_at <= now,
            _SUBSCRIPTIONS.c.state != SubscriptionState.INACTIVE,
        )
        .order_by(_SUBSCRIPTIONS.c.remind_at, _SUBSCRIPTIONS.c.id)
        .limit(batch_size)
    )
    if postgres:
        # With their workspaces, as the due rows are: a use case locks the workspace first,
        # and storing a notice checks its workspace key, so holding a subscription and then
        # waiting for its workspace could deadlock.
        stmt = stmt.with_for_update(skip_locked=True, of=[_SUBSCRIPTIONS, _WORKSPACES])
    return stmt


async def sweep_reminders(
    ctx: Context, now: datetime, batch_size: int, counts: Counter[str]
) -> None:
    """Store every reminder due at `now`, a batch at a time, each batch in one transaction."""
    while True:
        async with ctx.db.unit_of_work() as session:
            claimed = await _claim(session, now, batch_size, ctx.db.is_postgres)
            if not claimed:
                return
            notices, moves = await _reminders(ctx, session, claimed, now, counts)
            await store_notices(ctx, notices)
            connection = await session.connection()
            await connection.execute(_MOVE, moves)


async def _claim(
    session: AsyncSession, now: datetime, batch_size: int, postgres: bool
) -> list[tuple[ReminderRow, Place]]:
    width = len(_COLUMNS)
    return [
        (ReminderRow(*values[:width]), place_of(*values[width:]))
        for values in await session.execute(_claim_statement(now, batch_size, postgres))
    ]


async def _reminders(
    ctx: Context,
    session: AsyncSession,
    claimed: list[tuple[ReminderRow, Place]],
    now: datetime,
    counts: Counter[str],
) -> tuple[list[Notice], list[dict[str, Any]]]:
    """The batch's due reminders, one per recipient, and each row's next `remind_at`."""
    in_grace = [row.id for row, _ in claimed if row.grace_until is not None]
    bills = _Bills(ctx, await _overdue_orders(session, in_grace))
    due: list[tuple[ReminderRow, Place, reminders.Reminder]] = []
    moves: list[dict[str, Any]] = []
    for row, place in claimed:
        reminder, next_look = reminders.look(
            row, row.id, place.zone, place.quiet, now, bills.of(row)
        )
        if reminder is not None and (place.reminders_on or reminder.kind in ALWAYS_SENT):
            due.append((row, place, reminder))
        moves.append({"row_id": row.id, "new_remind_at": next_look})
    recipients = await Recipients.load(session, ((r.id, r.workspace_id) for r, _, _ in due))
    notices: list[Notice] = []
    for row, place, reminder in due:
        chats = recipients.of(row.id, row.workspace_id)
        counts[reminder.kind if chats else "reminder.unreachable"] += 1
        notices.extend(
            addressed(
                reminder.payload,
                row.workspace_id,
                chats,
                place,
                now,
                subject=subject_of_subscription(row.id),
                due_at=reminder.due_at,
                deadline=reminder.deadline,
                send_after=reminder.send_after,
            )
        )
    return notices, moves


async def _overdue_orders(session: AsyncSession, ids: list[int]) -> dict[int, Bill]:
    """The pending renewal order of each subscription in grace: what a grace reminder asks.

    Read by subscription (its index), the status checked here: filtering on the status in
    SQL lets SQLite scan every pending order of the table for each batch."""
    found: dict[int, Bill] = {}
    if not ids:
        return found
    rows = await session.execute(
        select(Order.subscription_id, Order.reference, Order.due_now, Order.currency, Order.status)
        .where(Order.subscription_id.in_(ids), Order.kind == OrderKind.RENEWAL)
        .order_by(Order.id)
    )
    for sub_id, reference, due_now, currency, status in rows:
        if sub_id is not None and status == OrderStatus.PENDING:
            found[sub_id] = Bill(due_now, currency, reference)
    return found


class _Bills:
    """What each reminder's subscription will cost: its overdue order, or the renewal's
    price at the terms it renews on (a scheduled change included)."""

    def __init__(self, ctx: Context, overdue: dict[int, Bill]) -> None:
        self.ctx = ctx
        self.overdue = overdue
        self.prices: dict[tuple[str, int], int | None] = {}

    def of(self, row: ReminderRow) -> Bill | None:
        if row.grace_until is not None:
            return self.overdue.get(row.id)
        if row.state != SubscriptionState.ACTIVE:
            return None
        terms = _renewal_terms(row)
        price = self._price(terms.package, terms.cycle_months)
        return None if price is None else Bill(price * terms.quantity, self.ctx.catalog.currency)

    def _price(self, package: str, cycle_months: int) -> int | None:
        key = (package, cycle_months)
        if key not in self.prices:
            try:
                self.prices[key] = price_per_account(self.ctx.catalog, package, cycle_months).minor
            except KeyError:
                self.prices[key] = None  # a package or cycle no longer sold: no amount shown
        return self.prices[key]


def _renewal_terms(row: ReminderRow) -> Terms:
    if row.scheduled_package is not None:
        assert row.scheduled_quantity is not None and row.scheduled_cycle_months is not None
        return Terms(row.scheduled_package, row.scheduled_cycle_months, row.scheduled_quantity)
    return Terms(row.package, row.cycle_months, row.quantity)


async def reschedule(session: AsyncSession, sub: Subscription, now: datetime, reason: str) -> int:
    """After a use case moved the schedule (a trial extended, a cancellation set or taken
    back, a new period): look again before its first reminder, and withdraw the reminders
    still pending for the old one; returns how many were withdrawn."""
    lifecycle.refresh_remind_at(sub)
    place = await workspace_place(session, sub.workspace_id)
    keep = {(p.kind.value, p.due_at) for p in reminders.planned(sub, place.zone)}
    pending = await session.execute(
        select(OutboxNotice.id, OutboxNotice.kind, OutboxNotice.due_at).where(
            OutboxNotice.subject == subject_of_subscription(sub.id),
            OutboxNotice.kind.in_([k.value for k in reminders.REMINDER_KINDS]),
            OutboxNotice.state == NoticeState.PENDING,
        )
    )
    stale = [nid for nid, kind, due_at in pending if (kind, as_utc(due_at)) not in keep]
    if stale:
        await session.execute(
            update(OutboxNotice)
            .where(OutboxNotice.id.in_(stale), OutboxNotice.state == NoticeState.PENDING)
            .values(state=NoticeState.SUPPRESSED, error=reason[:200], delivered_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(stale)
