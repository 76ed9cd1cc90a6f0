"""One claimed batch of due subscriptions, read as plain rows and written back in a few
executemany statements: the per-row ORM bookkeeping was most of the sweep's time."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import order_lifecycle
from core.lifecycle import SubscriptionRow
from core.model import (
    AuditEntry,
    BalanceEntry,
    Order,
    OrderStatus,
    Subscription,
    SubscriptionState,
    Workspace,
)
from core.order_values import OrderValues
from core.ports import Notice
from core.services.sweep_notices import (
    PLACE_COLUMNS,
    Place,
    Recipients,
    addressed,
    place_of,
    subject_of_subscription,
)

GRACE_ENDED = "grace period ended"

# Core tables: the sweep's statements skip the ORM's per-row work.
_SUBSCRIPTIONS = cast(Table, Subscription.__table__)
_ORDERS = cast(Table, Order.__table__)
_WORKSPACES = cast(Table, Workspace.__table__)
_AUDITS = cast(Table, AuditEntry.__table__)
_LEDGER = cast(Table, BalanceEntry.__table__)


_COLUMNS = tuple(f.name for f in fields(SubscriptionRow))
# What any step may change; every swept row writes all of them in one executemany UPDATE.
_STEPPED = (
    "package",
    "cycle_months",
    "quantity",
    "state",
    "inactive_reason",
    "period_start",
    "period_end",
    "anchor_months",
    "cancel_at_period_end",
    "scheduled_package",
    "scheduled_quantity",
    "scheduled_cycle_months",
    "grace_until",
    "due_at",
    "terms_version",
    "remind_at",
)
_WRITE_SUBSCRIPTIONS = (
    update(_SUBSCRIPTIONS)
    .where(_SUBSCRIPTIONS.c.id == bindparam("row_id"))
    .values({name: bindparam(f"new_{name}") for name in _STEPPED})
)
_WRITE_BALANCES = (
    update(_WORKSPACES)
    .where(_WORKSPACES.c.id == bindparam("row_id"))
    .values(credit_balance=bindparam("new_balance"))
)


def _claim_statement(now: datetime, batch_size: int, postgres: bool) -> Any:
    stmt = (
        select(
            *(_SUBSCRIPTIONS.c[name] for name in _COLUMNS),
            _WORKSPACES.c.credit_balance,
            *PLACE_COLUMNS,
        )
        .join(_WORKSPACES, _WORKSPACES.c.id == _SUBSCRIPTIONS.c.workspace_id)
        .where(
            _SUBSCRIPTIONS.c.due_at <= now,
            _SUBSCRIPTIONS.c.state != SubscriptionState.INACTIVE,
        )
        .order_by(_SUBSCRIPTIONS.c.due_at, _SUBSCRIPTIONS.c.id)
        .limit(batch_size)
    )
    if postgres:
        # Claim each subscription with its workspace in one go: a use case locks the
        # workspace first, so the sweep must never hold a subscription and wait for it.
        stmt = stmt.with_for_update(skip_locked=True, of=[_SUBSCRIPTIONS, _WORKSPACES])
    return stmt


@dataclass
class Batch:
    """The claimed rows, what their steps read, and the rows they write, in step order."""

    session: AsyncSession
    now: datetime
    rows: list[SubscriptionRow]
    recipients: Recipients
    # Each workspace's credit balance as this batch's renewals spend it.
    balances: dict[int, int]
    places: dict[int, Place]
    balances_moved: set[int] = field(default_factory=set)
    stepped: dict[int, SubscriptionRow] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    notices: list[Notice] = field(default_factory=list)
    lapsed: list[int] = field(default_factory=list)
    # New renewal orders, audit rows and ledger entries; `order` holds an index into
    # `orders` until write() knows the order's id.
    orders: list[OrderValues] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def claim(
        cls, session: AsyncSession, now: datetime, batch_size: int, postgres: bool
    ) -> Batch:
        rows: list[SubscriptionRow] = []
        balances: dict[int, int] = {}
        places: dict[int, Place] = {}
        width = len(_COLUMNS)
        for values in await session.execute(_claim_statement(now, batch_size, postgres)):
            row = SubscriptionRow(*values[:width])
            balances[row.workspace_id] = values[width]
            places[row.workspace_id] = place_of(*values[width + 1 :])
            rows.append(row)
        recipients = await Recipients.load(session, ((r.id, r.workspace_id) for r in rows))
        return cls(session, now, rows, recipients, balances, places)

    def chat(self, subscription_id: int) -> tuple[str | None, str | None]:
        """The chat of the subscription's last order (a renewal order starts there too)."""
        return self.recipients.chats.get(subscription_id, (None, None))

    def tell(
        self,
        row: SubscriptionRow,
        payload: object,
        due_at: datetime,
        deadline: datetime | None = None,
        send_after: datetime | None = None,
    ) -> None:
        """Queue a notice about `row` for each of its recipients, out of quiet hours."""
        self.notices.extend(
            addressed(
                payload,
                row.workspace_id,
                self.recipients.of(row.id, row.workspace_id),
                self.places[row.workspace_id],
                self.now,
                subject=subject_of_subscription(row.id),
                due_at=due_at,
                deadline=deadline,
                send_after=send_after,
            )
        )

    def move_balance(self, workspace_id: int, amount: int) -> None:
        """A ledger movement on the batch's balance, written back once in write()."""
        self.balances[workspace_id] += amount
        self.balances_moved.add(workspace_id)

    async def write(self) -> list[int]:
        """Everything the steps produced; returns the new orders' ids, in `orders` order."""
        connection = await self.session.connection()
        ids: list[int] = []
        if self.orders:
            await connection.execute(insert(_ORDERS), [order.columns() for order in self.orders])
            written = select(_ORDERS.c.reference, _ORDERS.c.id).where(
                _ORDERS.c.reference.in_([order.reference for order in self.orders])
            )
            by_reference = dict((await connection.execute(written)).tuples().all())
            ids = [by_reference[order.reference] for order in self.orders]
            for entry in (*self.audits, *self.ledger):
                if entry["order_id"] is not None:
                    entry["order_id"] = ids[entry["order_id"]]
        if self.audits:
            await connection.execute(insert(_AUDITS), self.audits)
        if self.ledger:
            await connection.execute(insert(_LEDGER), self.ledger)
        if self.balances_moved:
            await connection.execute(
                _WRITE_BALANCES,
                [
                    {"row_id": wid, "new_balance": self.balances[wid]}
                    for wid in sorted(self.balances_moved)
                ],
            )
        if self.stepped:
            await connection.execute(
                _WRITE_SUBSCRIPTIONS,
                [
                    {"row_id": row.id} | {f"new_{name}": getattr(row, name) for name in _STEPPED}
                    for row in self.stepped.values()
                ],
            )
        return ids

    async def expire_lapsed_renewals(self) -> list[str]:
        """The pending orders of subscriptions whose grace period ended lapse with them;
        returns their links' provider references, to withdraw once this commits."""
        if not self.lapsed:
            return []
        closed = await self.session.scalars(
            update(Order)
            .where(
                Order.subscription_id.in_(self.lapsed),
                Order.status.in_(order_lifecycle.reached_from(OrderStatus.EXPIRED)),
            )
            .values(order_lifecycle.closing(OrderStatus.EXPIRED, self.now, GRACE_ENDED).columns())
            .returning(Order.provider_reference)
            .execution_options(synchronize_session=False)
        )
        return [reference for reference in closed if reference]
