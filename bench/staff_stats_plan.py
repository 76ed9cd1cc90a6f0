"""The rows the stats benchmark starts from, and the figures `/staff stats` must find in them.

100,000 subscriptions (three packages per workspace) with ten orders each over the last two
years: a purchase, then renewals, accounts added, downgrades at renewal and a move to a
longer cycle, one order in six left unpaid; each paid order with its payment and its audit
snapshots, one payment in 97 partly refunded; seven subscriptions in ten still Active, one
on Try, two lapsed since. They are generated in chunks and bulk-loaded with each driver's
fastest path (sqlite3's executemany, asyncpg's COPY), and the expected figures are worked out
while generating, so the benchmark can check what it measured.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.engine import make_url

from core.catalog import Catalog, load_catalog
from core.clock import parse_iso
from core.db import Database
from core.model import (
    AuditEntry,
    Base,
    Order,
    Payment,
    Refund,
    Subscription,
    Workspace,
)
from core.mrr import terms_key
from core.pricing import price_per_account

NOW = parse_iso("2026-07-15T10:00:00Z")
TARGET_SUBSCRIPTIONS, ORDERS_EACH = 100_000, 10
PACKAGES, CYCLES = ("cc1", "cc2", "cc3"), (1, 3, 12)
FATES = ("active",) * 7 + ("trial",) + ("inactive",) * 2
CHUNK = 5_000
"""Subscriptions generated and loaded at a time."""
UNPAID_EVERY, REFUND_EVERY = 6, 97
TABLES: dict[str, Table] = {
    model.__tablename__: cast(Table, model.__table__)
    for model in (Workspace, Subscription, Order, Payment, Refund, AuditEntry)
}


def month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


@dataclass
class Expected:
    """What the stats must say about the generated rows; MRR figures scaled by `scale`."""

    scale: int
    mrr: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    accounts: Counter[tuple[str, str]] = field(default_factory=Counter)
    moves: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 4))
    """Month → scaled new, expansion, contraction, churned."""
    collected: Counter[str] = field(default_factory=Counter)
    refunded: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)


class Prices:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.scale = math.lcm(*(c.months for c in catalog.cycles))

    @cache  # noqa: B019 (one Prices per run)
    def price(self, package: str, cycle: int) -> int:
        return price_per_account(self.catalog, package, cycle).minor

    def value(self, terms: tuple[str, int, int], active: bool) -> int:
        package, cycle, quantity = terms
        return self.price(package, cycle) * quantity * (self.scale // cycle) if active else 0


@cache
def snapshot(package: str, cycle: int, quantity: int, state: str) -> str:
    """An audit snapshot as lifecycle.snapshot writes it (JSON text: one per terms)."""
    return json.dumps(
        {
            "package": package,
            "quantity": quantity,
            "cycle_months": cycle,
            "state": state,
            "inactive_reason": None if state != "inactive" else "lapsed",
            "trial_ends_at": None,
            "period_start": None,
            "period_end": None,
            "cancel_at_period_end": False,
            "scheduled": None,
            "grace_until": None,
        }
    )


def _active_terms(terms: tuple[str, int, int], state: str) -> str | None:
    return terms_key(terms[0], terms[1]) if state == "active" else None


@dataclass
class Chunk:
    """Rows of each table for a run of subscriptions, as column → value mappings."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, **values: Any) -> None:
        self.rows[table].append(values)

    def tables(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Each table's rows, those referred to first."""
        for name in TABLES:
            if self.rows.get(name):
                yield name, self.rows[name]


class Generator:
    """Makes the rows subscription by subscription, keeping the expected figures."""

    def __init__(self, count: int, when: Callable[[datetime], Any]) -> None:
        self.count = count
        self.when = when
        """An instant as the driver takes it."""
        self.prices = Prices(load_catalog())
        self.expected = Expected(self.prices.scale)
        self.next_id = Counter[str]()

    def id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def chunks(self) -> Iterator[Chunk]:
        for first in range(0, self.count, CHUNK):
            chunk = Chunk()
            for i in range(first, min(first + CHUNK, self.count)):
                self.subscription(chunk, i)
            for table, rows in chunk.rows.items():
                self.expected.rows[table] += len(rows)
            yield chunk

    def subscription(self, chunk: Chunk, i: int) -> None:
        workspace = i // len(PACKAGES) + 1
        if i % len(PACKAGES) == 0:
            chunk.add(
                "workspaces",
                id=workspace,
                name=f"Bench {workspace}",
                timezone="UTC",
                currency="USD",
                credit_balance=0,
                created_at=self.when(NOW - timedelta(days=800)),
            )
        fate = FATES[i % len(FATES)]
        terms = (PACKAGES[i % 3], CYCLES[(i // 3) % 3], 5 + i % 50)
        start = NOW - timedelta(days=720) + timedelta(seconds=(i * 7919) % (500 * 86_400))
        step = (NOW - start) / (ORDERS_EACH + 1)
        sub_id, state = i + 1, "inactive"
        for k in range(ORDERS_EACH):
            at = start + step * k
            if fate == "trial" or (k and (i + k) % UNPAID_EVERY == 0):
                self.order(chunk, workspace, sub_id, (terms, terms[2], "new"), at, paid=False)
                continue
            ordered = self.next_terms(terms, k)
            new = ordered[0]
            order_id = self.order(chunk, workspace, sub_id, ordered, at, paid=True)
            self.audit(chunk, workspace, sub_id, (terms, state), (new, "active"), at, order_id)
            terms, state = new, "active"
        if fate == "inactive":
            self.audit(chunk, workspace, sub_id, (terms, state), (terms, "inactive"), NOW - step)
            state = "inactive"
        elif fate == "trial":
            state = "trial"
        self.expected.counts[state] += 1
        self.expected.accounts[(state, terms[0])] += terms[2]
        self.expected.mrr += self.prices.value(terms, state == "active")
        chunk.add(
            "subscriptions",
            id=sub_id,
            workspace_id=workspace,
            package=terms[0],
            cycle_months=terms[1],
            quantity=terms[2],
            state=state,
            inactive_reason="lapsed" if state == "inactive" else None,
            registered_at=self.when(start),
            trial_ends_at=self.when(NOW + timedelta(days=5)) if state == "trial" else None,
            due_at=self.when(NOW + timedelta(days=5)) if state != "inactive" else None,
            anchor_months=terms[1],
            cancel_at_period_end=False,
            terms_version=ORDERS_EACH + 1,
        )

    @staticmethod
    def next_terms(terms: tuple[str, int, int], k: int) -> tuple[tuple[str, int, int], int, str]:
        """The terms order `k` leaves, the accounts it charges for, and its kind."""
        package, cycle, quantity = terms
        if k == 0:
            return terms, quantity, "new"
        if k == 5 and cycle != CYCLES[-1]:
            # A longer cycle (P5; each workspace already holds every package).
            return (package, CYCLES[CYCLES.index(cycle) + 1], quantity), quantity, "change"
        if k % 4 == 1:
            return (package, cycle, quantity + 4), 4, "add_accounts"
        if k % 4 == 2:
            fewer = max(1, quantity - 2)
            return (package, cycle, fewer), fewer, "renewal"
        return terms, quantity, "renewal"

    def order(
        self,
        chunk: Chunk,
        workspace: int,
        sub_id: int,
        ordered: tuple[tuple[str, int, int], int, str],
        at: datetime,
        *,
        paid: bool,
    ) -> int:
        terms, charged, kind = ordered
        order_id, stamp = self.id("orders"), self.when(at)
        price = self.prices.price(terms[0], terms[1])
        total = price * charged
        chunk.add(
            "orders",
            id=order_id,
            reference=f"ord_b{order_id}",
            idempotency_key=f"bench:{order_id}",
            workspace_id=workspace,
            subscription_id=sub_id,
            base_version=1,
            kind=kind,
            status="paid" if paid else "expired",
            package=terms[0],
            cycle_months=terms[1],
            new_quantity=terms[2],
            quantity=charged,
            currency="USD",
            price_per_account=price,
            total=total,
            proration=0,
            credit=0,
            balance_applied=0,
            due_now=total,
            balance_after=0,
            period_start=stamp,
            period_end=self.when(at + timedelta(days=30 * terms[1])),
            provider="sandbox",
            placed_by=f"telegram:{workspace}",
            created_at=stamp,
            expires_at=self.when(at + timedelta(minutes=30)),
            closed_at=stamp,
        )
        if paid:
            self.payment(chunk, workspace, order_id, total, (at, stamp))
        return order_id

    def payment(
        self, chunk: Chunk, workspace: int, order_id: int, amount: int, paid: tuple[datetime, Any]
    ) -> None:
        """A payment at `paid` (the instant, and as the driver takes it), maybe refunded."""
        (at, stamp), payment_id = paid, self.id("payments")
        chunk.add(
            "payments",
            id=payment_id,
            order_id=order_id,
            workspace_id=workspace,
            provider="sandbox",
            provider_payment_id=f"pay_b{payment_id}",
            amount=amount,
            currency="USD",
            outcome="applied",
            needs_support=False,
            received_at=stamp,
        )
        self.expected.collected[month(at)] += amount
        refunded_at = at + timedelta(days=2)
        if payment_id % REFUND_EVERY == 0 and refunded_at < NOW:
            refund_id = self.id("refunds")
            chunk.add(
                "refunds",
                id=refund_id,
                payment_id=payment_id,
                workspace_id=workspace,
                provider="sandbox",
                provider_refund_id=f"re_b{refund_id}",
                amount=amount // 10,
                currency="USD",
                reason="bench",
                actor="console:bench",
                at=self.when(refunded_at),
            )
            self.expected.refunded[month(refunded_at)] += amount // 10

    def audit(
        self,
        chunk: Chunk,
        workspace: int,
        sub_id: int,
        before: tuple[tuple[str, int, int], str],
        after: tuple[tuple[str, int, int], str],
        at: datetime,
        order_id: int | None = None,
    ) -> None:
        chunk.add(
            "audit_entries",
            id=self.id("audit_entries"),
            at=self.when(at),
            workspace_id=workspace,
            subscription_id=sub_id,
            actor="system",
            action="order.new" if order_id is not None else "sweep.subscription.suspended",
            before=snapshot(*before[0], before[1]),
            after=snapshot(*after[0], after[1]),
            order_id=order_id,
            # What audit_values keeps beside the snapshots (core.mrr).
            active_terms_before=_active_terms(*before),
            accounts_before=before[0][2],
            active_terms_after=_active_terms(*after),
            accounts_after=after[0][2],
        )
        was = self.prices.value(before[0], before[1] == "active")
        now = self.prices.value(after[0], after[1] == "active")
        moves = self.expected.moves[month(at)]
        if was == 0 and now > 0:
            moves[0] += now
        elif was > 0 and now > was:
            moves[1] += now - was
        elif was > 0 and 0 < now < was:
            moves[2] += was - now
        elif was > 0 and now == 0:
            moves[3] += was


def _sqlite_time(at: datetime) -> str:
    """How SQLAlchemy stores an instant in SQLite: UTC, no zone, microseconds always."""
    return at.isoformat(" ", "microseconds")[:26]


def _records(table: Table, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as tuples in the table's column order."""
    pick, blank = itemgetter(*table.columns.keys()), dict.fromkeys(table.columns.keys())
    return [pick(blank | row) for row in rows]


def _load_sqlite(path: str, generator: Generator) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = OFF")
        for chunk in generator.chunks():
            for name, rows in chunk.tables():
                columns = TABLES[name].columns.keys()
                marks = ", ".join("?" for _ in columns)
                connection.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})",
                    _records(TABLES[name], rows),
                )
            connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()


async def _load_postgres(db: Database, generator: Generator) -> None:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for chunk in generator.chunks():
            for name, rows in chunk.tables():
                await driver.copy_records_to_table(
                    name,
                    records=_records(TABLES[name], rows),
                    columns=TABLES[name].columns.keys(),
                )
        await connection.commit()
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))


async def setup(url: str, count: int) -> tuple[Expected, float]:
    """A fresh schema holding the generated rows; the expected figures and the seconds taken."""
    started = time.perf_counter()
    db = Database.from_url(url)
    generator = Generator(count, (lambda at: at) if db.is_postgres else _sqlite_time)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        if db.is_postgres:
            await _load_postgres(db, generator)
        else:
            database = make_url(url).database
            assert database is not None
            await db.dispose()
            _load_sqlite(database, generator)
    finally:
        await db.dispose()
    return generator.expected, time.perf_counter() - started
