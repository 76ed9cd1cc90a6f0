"""The due subscriptions the sweep benchmark starts from: a planned mix of cases, and their
rows bulk-inserted with SQLAlchemy core (one use case call each would take longer than the
sweep being measured)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.catalog import load_catalog
from core.clock import format_iso, parse_iso
from core.db import Database
from core.model import BalanceEntry, Base, Member, Order, Subscription, Workspace
from core.periods import add_months
from core.pricing import price_per_account

NOW = parse_iso("2026-07-15T10:00:00Z")
TARGET_SUBSCRIPTIONS, TARGET_SECONDS = 100_000, 30.0
PACKAGES = ("cc1", "cc2", "cc3")
CYCLES = (1, 3, 12)
CHUNK = 5_000
CREDIT = 10**9
# One workspace in ten has credit enough to pay its renewals from the balance.
CREDIT_EVERY = 10
# Each case's share of the due subscriptions, twenty slots in all.
MIX = ("renewal",) * 7 + ("downgrade",) * 3 + ("trial",) * 4 + ("cancel",) * 3 + ("lapse",) * 3
# The sweep's event for each case, and the state it leaves: (state, reason, overdue).
OUTCOMES = {
    "renewal": ("renewal.due", ("active", None, True)),
    "downgrade": ("renewal.due", ("active", None, True)),
    "charged": ("renewal.charged", ("active", None, False)),
    "trial": ("trial.ended", ("inactive", "trial_expired", False)),
    "cancel": ("cancellation.effective", ("inactive", "cancelled", False)),
    "lapse": ("subscription.suspended", ("inactive", "lapsed", False)),
}


@dataclass
class Plan:
    """The rows to insert and what the sweep must make of them."""

    workspaces: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    balance: list[dict[str, Any]]
    cases: Counter[str]
    # The workspaces' owners: the chats of the notices about subscriptions with no order.
    members: list[dict[str, Any]] = field(default_factory=list)


def order_row(n: int, sub: dict[str, Any], price: int, **values: Any) -> dict[str, Any]:
    total = price * sub["quantity"]
    return {
        "id": n,
        "reference": f"ord_bench{n}",
        "idempotency_key": f"bench:{n}",
        "workspace_id": sub["workspace_id"],
        "subscription_id": sub["id"],
        "base_version": 1,
        "package": sub["package"],
        "cycle_months": sub["cycle_months"],
        "new_quantity": sub["quantity"],
        "quantity": sub["quantity"],
        "currency": "USD",
        "price_per_account": price,
        "total": total,
        "proration": 0,
        "credit": 0,
        "balance_applied": 0,
        "due_now": total,
        "balance_after": 0,
        "chat_platform": "telegram",
        "chat_id": f"chat-{sub['workspace_id']}",
        "placed_by": f"telegram:{sub['workspace_id']}",
        **values,
    }


def owner_row(workspace_id: int) -> dict[str, Any]:
    """The workspace's owner, reachable in a private chat with the bot."""
    return {
        "workspace_id": workspace_id,
        "platform": "telegram",
        "user_id": f"owner-{workspace_id}",
        "role": "owner",
        "created_at": NOW - timedelta(days=400),
    }


def plan(count: int) -> Plan:
    """Three packages per workspace, each subscription due by one case of MIX."""
    catalog = load_catalog()
    workspaces: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    balance: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    cases: Counter[str] = Counter()
    for i in range(count):
        w, package = i // len(PACKAGES) + 1, PACKAGES[i % len(PACKAGES)]
        credit = CREDIT if w % CREDIT_EVERY == 0 else 0
        if i % len(PACKAGES) == 0:
            workspaces.append(
                {
                    "id": w,
                    "name": f"Bench {w}",
                    "timezone": "UTC",
                    "currency": "USD",
                    "credit_balance": credit,
                    "created_at": NOW - timedelta(days=400),
                }
            )
            members.append(owner_row(w))
            if credit:
                balance.append(
                    {"workspace_id": w, "amount": credit, "reason": "bench credit", "at": NOW}
                )
        case = MIX[(i * 7) % len(MIX)]
        cycle = CYCLES[i % len(CYCLES)]
        # Spread over the last two days, inside the three-day grace period.
        ended = NOW - timedelta(seconds=1 + (i * 7919) % (2 * 86_400))
        sub: dict[str, Any] = {
            "id": i + 1,
            "workspace_id": w,
            "package": package,
            "quantity": 10 + i % 90,
            "cycle_months": cycle,
            "registered_at": NOW - timedelta(days=400),
            "anchor_months": 0,
            "cancel_at_period_end": False,
            "terms_version": 1,
            "inactive_reason": None,
        }
        if case == "trial":
            sub.update(state="trial", quantity=10, trial_ends_at=ended, due_at=ended)
            cases[case] += 1
            subs.append(sub)
            continue
        if case == "lapse":
            ended -= timedelta(days=catalog.grace_days)
        anchor = ended - relativedelta(months=cycle)
        sub.update(
            state="active",
            anchor_at=anchor,
            anchor_months=cycle,
            period_start=anchor,
            period_end=add_months(anchor, cycle),
            due_at=add_months(anchor, cycle),
        )
        price = price_per_account(catalog, package, cycle).minor
        orders.append(
            order_row(
                len(orders) + 1,
                sub,
                price,
                kind="new",
                status="paid",
                period_start=anchor,
                period_end=sub["period_end"],
                provider="sandbox",
                created_at=anchor,
                expires_at=anchor + timedelta(minutes=30),
                closed_at=anchor,
            )
        )
        if case == "cancel":
            sub["cancel_at_period_end"] = True
        elif case == "downgrade":
            sub.update(
                scheduled_package=package,
                scheduled_quantity=max(1, sub["quantity"] // 2),
                scheduled_cycle_months=1,
            )
        elif case == "lapse":
            grace = sub["period_end"] + timedelta(days=catalog.grace_days)
            sub.update(grace_until=grace, due_at=grace)
            orders.append(
                order_row(
                    len(orders) + 1,
                    sub,
                    price,
                    idempotency_key=f"renewal:{i + 1}:{format_iso(sub['period_end'])}",
                    kind="renewal",
                    status="pending",
                    period_start=sub["period_end"],
                    period_end=add_months(anchor, 2 * cycle),
                    provider="sandbox",
                    placed_by="system",
                    created_at=sub["period_end"],
                    expires_at=grace,
                )
            )
        if credit and case in ("renewal", "downgrade"):
            case = "charged"
        cases[case] += 1
        subs.append(sub)
    return Plan(workspaces, subs, orders, balance, cases, members)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _insert(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Executemany in chunks; rows of one table share their keys, so fill the missing ones."""
    keys = {key for row in rows for key in row}
    for chunk in _chunks(rows):
        await connection.execute(insert(table), [dict.fromkeys(keys) | row for row in chunk])
    if connection.dialect.name == "postgresql" and "id" in keys:
        # Explicit ids leave the sequence behind; the sweep's own inserts come after them.
        sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
        await connection.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table.name}"))


async def setup(url: str, planned: Plan) -> float:
    """A fresh schema holding the planned rows; returns the seconds it took."""
    started = time.perf_counter()
    db = Database.from_url(url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        for model, rows in (
            (Workspace, planned.workspaces),
            (Subscription, planned.subscriptions),
            (Order, planned.orders),
            (BalanceEntry, planned.balance),
            (Member, planned.members),
        ):
            async with db.engine.begin() as connection:
                if rows:
                    await _insert(connection, model.__table__, rows)  # type: ignore[arg-type]
        if db.is_postgres:
            async with db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
        return time.perf_counter() - started
    finally:
        await db.dispose()
