"""Two workers on one database: payments and sweeps take effect once, never lost or doubled.

Each test opens two separate `Database` objects (two engines, so two connection pools) on
the same freshly created schema, and runs the same use case from both at once. On
PostgreSQL the rows are claimed with row locks (`FOR UPDATE`, `SKIP LOCKED` in the sweep);
on SQLite `BEGIN IMMEDIATE` and the busy timeout make the writers queue.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.access import Actor
from core.catalog import Catalog, load_catalog
from core.clock import FixedClock, format_iso, parse_iso
from core.db import Database
from core.model import AuditEntry, BalanceEntry, Order, Payment, Subscription, Workspace
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import PlacedOrder, place_order
from core.services.payments import PaymentResult, apply_payment
from core.services.subscriptions import start_trial
from core.services.sweep import SweepReport, sweep
from core.services.workspaces import create_workspace
from tests.conftest import BACKENDS, START, fresh_database
from tests.fakes import FakeGateway
from tests.integration.helpers import buy, subscription

REPO = Path(__file__).resolve().parents[2]
MONTHLY = Terms("cc1", 1, 2)
DUE_SUBSCRIPTIONS = 60
SMALL_BATCH = 7
PAST_FIRST_PERIOD = START + timedelta(days=32)


@dataclass
class Workers:
    """Two use-case contexts on two engines over one database, sharing catalog and clock."""

    a: Context
    b: Context
    clock: FixedClock

    @property
    def both(self) -> tuple[Context, Context]:
        return (self.a, self.b)


@pytest.fixture(params=BACKENDS)
async def workers(
    request: pytest.FixtureRequest, tmp_path: Path, catalog: Catalog, clock: FixedClock
) -> AsyncIterator[Workers]:
    first = await fresh_database(request.param, tmp_path)
    second = Database.from_url(first.engine.url.render_as_string(hide_password=False))
    yield Workers(
        Context(db=first, catalog=catalog, clock=clock, gateway=FakeGateway()),
        Context(db=second, catalog=catalog, clock=clock, gateway=FakeGateway()),
        clock,
    )
    await second.dispose()
    await first.dispose()


async def _workspace(ctx: Context, n: int) -> tuple[Actor, int]:
    owner = Actor("telegram", f"owner-{n}")
    return owner, await create_workspace(ctx, owner, f"Team {n}")


async def _paid_monthly_subscriptions(ctx: Context, count: int) -> list[int]:
    ids = []
    for n in range(count):
        owner, workspace_id = await _workspace(ctx, n)
        await buy(ctx, owner, workspace_id, MONTHLY)
        ids.append((await subscription(ctx, workspace_id, MONTHLY.package)).id)
    return ids


async def _pay(ctx: Context, placed: PlacedOrder, provider_payment_id: str) -> PaymentResult:
    return await apply_payment(
        ctx,
        provider="fake",
        provider_payment_id=provider_payment_id,
        order_reference=placed.reference,
        amount=placed.quote.due_now,
        currency=placed.quote.currency,
    )


async def _audit_actions(ctx: Context) -> Counter[tuple[int | None, str]]:
    async with ctx.db.unit_of_work() as session:
        rows = await session.execute(select(AuditEntry.subscription_id, AuditEntry.action))
        return Counter((sub_id, action) for sub_id, action in rows)


def _total(reports: Iterable[SweepReport], event: str) -> int:
    return sum(report[event] for report in reports)


async def test_same_payment_from_two_workers_at_once_takes_effect_once(
    workers: Workers,
) -> None:
    ctx = workers.a
    owner, workspace_id = await _workspace(ctx, 1)
    await buy(ctx, owner, workspace_id, MONTHLY)
    before = await subscription(ctx, workspace_id, MONTHLY.package)
    workers.clock.advance(timedelta(days=10))
    placed = await place_order(ctx, owner, workspace_id, Terms("cc1", 1, 5))
    assert placed.status == "pending" and placed.quote.due_now > 0

    results = await asyncio.gather(*(_pay(worker, placed, "pay_same") for worker in workers.both))

    assert sorted((r.outcome, r.duplicate) for r in results) == [
        ("applied", False),
        ("applied", True),
    ]
    async with ctx.db.unit_of_work() as session:
        added = await session.scalar(select(Order).where(Order.reference == placed.reference))
        assert added is not None
        payments = list(await session.scalars(select(Payment).where(Payment.order_id == added.id)))
        balance = await session.scalar(
            select(Workspace.credit_balance).where(Workspace.id == workspace_id)
        )
    assert [(p.provider_payment_id, p.outcome) for p in payments] == [("pay_same", "applied")]
    assert added.status == "paid"
    after = await subscription(ctx, workspace_id, MONTHLY.package)
    assert after.quantity == 5
    assert after.terms_version == before.terms_version + 1
    assert (await _audit_actions(ctx))[(after.id, "order.add_accounts")] == 1
    assert balance == 0


async def test_two_payments_for_one_order_at_once_apply_one_and_credit_the_other(
    workers: Workers,
) -> None:
    ctx = workers.a
    owner, workspace_id = await _workspace(ctx, 1)
    placed = await place_order(ctx, owner, workspace_id, MONTHLY)
    amount = placed.quote.due_now

    results = await asyncio.gather(
        _pay(workers.a, placed, "pay_first"), _pay(workers.b, placed, "pay_second")
    )

    assert sorted(r.outcome for r in results) == ["applied", "credited"]
    assert not any(r.duplicate for r in results)
    async with ctx.db.unit_of_work() as session:
        payments = {p.outcome: p for p in await session.scalars(select(Payment))}
        balance = await session.scalar(
            select(Workspace.credit_balance).where(Workspace.id == workspace_id)
        )
        ledger = list(await session.scalars(select(BalanceEntry.amount)))
        paid = await session.scalar(select(Order).where(Order.reference == placed.reference))
    assert set(payments) == {"applied", "credited"}
    assert payments["credited"].needs_support and not payments["applied"].needs_support
    assert balance == amount and ledger == [amount]
    assert paid is not None and paid.status == "paid"
    sub = await subscription(ctx, workspace_id, MONTHLY.package)
    assert (sub.state, sub.quantity, sub.terms_version) == ("active", MONTHLY.quantity, 2)
    actions = await _audit_actions(ctx)
    assert actions[(sub.id, "order.new")] == 1
    assert actions[(sub.id, "payment.credited")] == 1


async def test_two_sweeps_at_once_renew_each_due_subscription_exactly_once(
    workers: Workers,
) -> None:
    ids = await _paid_monthly_subscriptions(workers.a, DUE_SUBSCRIPTIONS)
    workers.clock.set(PAST_FIRST_PERIOD)

    reports = await asyncio.gather(
        *(sweep(worker, batch_size=SMALL_BATCH) for worker in workers.both)
    )

    assert _total(reports, "renewal.due") == DUE_SUBSCRIPTIONS
    await _assert_renewed_once(workers.a, ids)
    again = await sweep(workers.b, batch_size=SMALL_BATCH)
    assert again["renewal.due"] == 0


async def _assert_renewed_once(ctx: Context, ids: list[int]) -> None:
    async with ctx.db.unit_of_work() as session:
        renewals = list(await session.scalars(select(Order).where(Order.kind == "renewal")))
        subs = list(await session.scalars(select(Subscription)))
    per_subscription = Counter(order.subscription_id for order in renewals)
    assert per_subscription == Counter(ids)
    assert all(order.status == "pending" and order.payment_link for order in renewals)
    assert all(sub.grace_until is not None and sub.state == "active" for sub in subs)
    actions = await _audit_actions(ctx)
    assert all(actions[(sub_id, "sweep.renewal.due")] == 1 for sub_id in ids)


async def test_two_sweeps_at_once_expire_each_trial_exactly_once(workers: Workers) -> None:
    trials = []
    for n in range(30):
        owner, workspace_id = await _workspace(workers.a, n)
        trials.append(await start_trial(workers.a, owner, workspace_id, "cc2"))
    workers.clock.advance(timedelta(days=15))

    reports = await asyncio.gather(
        *(sweep(worker, batch_size=SMALL_BATCH) for worker in workers.both)
    )

    assert _total(reports, "trial.ended") == len(trials)
    async with workers.a.db.unit_of_work() as session:
        subs = list(await session.scalars(select(Subscription)))
    assert {(s.id, s.state, s.inactive_reason) for s in subs} == {
        (sub_id, "inactive", "trial_expired") for sub_id in trials
    }
    actions = await _audit_actions(workers.a)
    assert all(actions[(sub_id, "sweep.trial.ended")] == 1 for sub_id in trials)
    notified = [n for w in workers.both for n in w.notifier.notices]  # type: ignore[attr-defined]
    assert sorted(n.data["subscription_id"] for n in notified) == sorted(trials)


def run_sweep_worker(url: str, now: str, batch_size: int) -> None:
    """One worker process: say ready, wait for the go line, sweep, print the report's counts."""
    ctx = Context(
        db=Database.from_url(url),
        catalog=load_catalog(),
        clock=FixedClock(parse_iso(now)),
        gateway=FakeGateway(),
    )
    print("ready", flush=True)
    sys.stdin.readline()

    async def run() -> dict[str, int]:
        try:
            report = await sweep(ctx, batch_size=batch_size)
        finally:
            await ctx.db.dispose()
        return dict(report.counts)

    print(json.dumps(asyncio.run(run())), flush=True)


async def _start_worker(url: str) -> asyncio.subprocess.Process:
    code = (
        "import sys; from tests.integration.test_concurrency import run_sweep_worker; "
        "run_sweep_worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        url,
        format_iso(PAST_FIRST_PERIOD),
        str(SMALL_BATCH),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    if line.strip() != b"ready":
        _, err = await process.communicate()
        raise AssertionError(f"worker did not start: {line!r} {err.decode()}")
    return process


async def _finish_worker(process: asyncio.subprocess.Process) -> dict[str, int]:
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    counts: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    return counts


async def test_two_worker_processes_sweeping_at_once_neither_lose_nor_duplicate_a_renewal(
    workers: Workers,
) -> None:
    ctx = workers.a
    ids = await _paid_monthly_subscriptions(ctx, DUE_SUBSCRIPTIONS)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    processes = await asyncio.gather(_start_worker(url), _start_worker(url))
    try:
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
        counts = await asyncio.gather(*(_finish_worker(p) for p in processes))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()

    assert sum(c.get("renewal.due", 0) for c in counts) == DUE_SUBSCRIPTIONS
    await _assert_renewed_once(ctx, ids)
