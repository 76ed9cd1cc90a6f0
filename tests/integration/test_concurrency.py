"""Two workers on one database: payments and sweeps take effect once, never lost or doubled.

Each test opens two separate `Database` objects (two engines, so two connection pools) on
the same freshly created schema, and runs the same use case from both at once. On
PostgreSQL the rows are claimed with row locks (`FOR UPDATE`, `SKIP LOCKED` in the sweep);
on SQLite `BEGIN IMMEDIATE` and the busy timeout make the writers queue. One test runs the
sweep in two separate worker processes. The last tests force payment/sweep interleavings
on PostgreSQL where the two sides take their row locks in opposite orders.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, select, text

from core import lifecycle
from core.access import Actor
from core.catalog import Catalog, load_catalog
from core.clock import FixedClock, format_iso, parse_iso
from core.db import Database, create_engine
from core.model import AuditEntry, BalanceEntry, Order, Payment, Subscription, Workspace
from core.ports import RecordingNotifier
from core.pricing import Terms
from core.services.context import Context, new_subscription
from core.services.orders import PlacedOrder, place_order
from core.services.payments import PaymentResult, apply_payment
from core.services.subscriptions import start_trial
from core.services.sweep import SweepReport, sweep
from core.services.workspaces import create_workspace
from tests.conftest import BACKENDS, PG_URL, START, fresh_database
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
    notifiers: tuple[RecordingNotifier, RecordingNotifier]

    @property
    def both(self) -> tuple[Context, Context]:
        return (self.a, self.b)


def _workers(first: Database, second: Database, catalog: Catalog, clock: FixedClock) -> Workers:
    notifiers = (RecordingNotifier(), RecordingNotifier())
    a, b = (
        Context(db=db, catalog=catalog, clock=clock, gateway=FakeGateway(), notifier=notifier)
        for db, notifier in zip((first, second), notifiers, strict=True)
    )
    return Workers(a, b, clock, notifiers)


@pytest.fixture(params=BACKENDS)
async def workers(
    request: pytest.FixtureRequest, tmp_path: Path, catalog: Catalog, clock: FixedClock
) -> AsyncIterator[Workers]:
    first = await fresh_database(request.param, tmp_path)
    second = Database.from_url(first.engine.url.render_as_string(hide_password=False))
    yield _workers(first, second, catalog, clock)
    await second.dispose()
    await first.dispose()


async def _workspace(ctx: Context, n: int) -> tuple[Actor, int]:
    owner = Actor("telegram", f"owner-{n}")
    return owner, await create_workspace(ctx, owner, f"Team {n}")


async def _paid_monthly_subscriptions(ctx: Context, count: int) -> list[int]:
    """`count` workspaces, each holding a 1-month subscription paid now (as a payment leaves it)."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        workspaces = [
            Workspace(
                name=f"Team {n}", currency=ctx.catalog.currency, credit_balance=0, created_at=now
            )
            for n in range(count)
        ]
        session.add_all(workspaces)
        await session.flush()
        subs = []
        for workspace in workspaces:
            sub = new_subscription(workspace.id, MONTHLY, now)
            lifecycle.start_paid_period(sub, MONTHLY, now)
            subs.append(sub)
        session.add_all(subs)
        await session.flush()
        return [sub.id for sub in subs]


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
    notified = [notice for n in workers.notifiers for notice in n.notices]
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


# Lock-order races on PostgreSQL. A third connection (the probe) holds a row lock so that
# each worker provably reaches its wait before the next one starts: the test goes on once
# PostgreSQL reports the worker's connection waiting for a lock (or the worker finished).


@dataclass
class Race:
    """Two workers whose connections PostgreSQL can tell apart, and a lock-holding probe."""

    workers: Workers
    probe: Database
    names: tuple[str, str]


def _named_database(name: str) -> Database:
    assert PG_URL is not None
    return Database(
        create_engine(PG_URL, connect_args={"server_settings": {"application_name": name}})
    )


@pytest.fixture
async def race(tmp_path: Path, catalog: Catalog, clock: FixedClock) -> AsyncIterator[Race]:
    probe = await fresh_database("postgres", tmp_path)
    tag = secrets.token_hex(4)
    names = (f"planbot-worker-a-{tag}", f"planbot-worker-b-{tag}")
    first, second = (_named_database(name) for name in names)
    yield Race(_workers(first, second, catalog, clock), probe, names)
    for database in (first, second, probe):
        await database.dispose()


@asynccontextmanager
async def _holding_locks(probe: Database, claim: Select[Any]) -> AsyncIterator[None]:
    """Hold the row locks `claim` takes until the block ends."""
    async with probe.engine.connect() as connection, connection.begin():
        await connection.execute(claim)
        yield


async def _until_waiting(probe: Database, name: str, task: asyncio.Task[Any]) -> None:
    """Return once the connection named `name` waits for a lock, or `task` has finished."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = :name AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(10):
        while not task.done():
            async with probe.engine.connect() as connection:
                if await connection.scalar(waiting, {"name": name}):
                    return
            await asyncio.sleep(0.005)


Step = tuple[int, Callable[[], Awaitable[object]]]


async def _in_order(race: Race, hold: Select[Any], *steps: Step) -> None:
    """While the probe holds `hold`'s locks, start each step once the one before it waits.

    A step is (worker index, use case). Then let go, let every step finish, and raise the
    first failure among them.
    """
    tasks: list[asyncio.Task[object]] = []

    async def run(step: Callable[[], Awaitable[object]]) -> object:
        return await step()

    try:
        async with _holding_locks(race.probe, hold):
            for worker, step in steps:
                tasks.append(asyncio.create_task(run(step)))
                await _until_waiting(race.probe, race.names[worker], tasks[-1])
    finally:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _renewals_per_subscription(ctx: Context) -> Counter[int | None]:
    async with ctx.db.unit_of_work() as session:
        renewals = await session.scalars(
            select(Order.subscription_id).where(Order.kind == "renewal")
        )
        return Counter(renewals)


A, B = 0, 1


@pytest.mark.postgres
async def test_two_sweeps_crossing_two_workspaces_finish_without_a_deadlock(race: Race) -> None:
    workers = race.workers
    subs: dict[str, int] = {}
    owners = [await _workspace(workers.a, n) for n in (1, 2)]
    # Due in this order: W1 cc1, W2 cc1, W2 cc2, W1 cc2; batches of two give each sweep one
    # subscription of each workspace, in opposite workspace order.
    for minute, (index, package) in enumerate(((0, "cc1"), (1, "cc1"), (1, "cc2"), (0, "cc2"))):
        workers.clock.set(START + timedelta(minutes=minute))
        owner, workspace_id = owners[index]
        await buy(workers.a, owner, workspace_id, Terms(package, 1, 2))
        subs[f"{index}-{package}"] = (await subscription(workers.a, workspace_id, package)).id
    workers.clock.set(PAST_FIRST_PERIOD)
    both_workspaces = select(Workspace.id).with_for_update()

    await _in_order(
        race,
        both_workspaces,
        (A, partial(sweep, workers.a, batch_size=2)),
        (B, partial(sweep, workers.b, batch_size=2)),
    )
    await sweep(workers.a)

    assert await _renewals_per_subscription(workers.a) == Counter(subs.values())


@pytest.mark.postgres
async def test_a_payment_racing_the_renewal_sweep_finishes_without_a_deadlock(
    race: Race,
) -> None:
    workers = race.workers
    earlier_owner, earlier_id = await _workspace(workers.a, 1)
    await buy(workers.a, earlier_owner, earlier_id, MONTHLY)
    workers.clock.advance(timedelta(minutes=1))
    owner, workspace_id = await _workspace(workers.a, 2)
    await buy(workers.a, owner, workspace_id, MONTHLY)
    sub = await subscription(workers.a, workspace_id, MONTHLY.package)
    assert sub.period_end is not None
    workers.clock.set(sub.period_end - timedelta(minutes=10))
    more = await place_order(workers.a, owner, workspace_id, Terms("cc1", 1, 5))
    workers.clock.set(sub.period_end + timedelta(minutes=1))
    earlier_workspace = select(Workspace.id).where(Workspace.id == earlier_id).with_for_update()

    pay = partial(
        apply_payment,
        workers.a,
        provider="fake",
        provider_payment_id="pay_more",
        order_reference=more.reference,
        amount=more.quote.due_now,
        currency=more.quote.currency,
        paid_at=sub.period_end - timedelta(minutes=5),
    )

    await _in_order(race, earlier_workspace, (B, partial(sweep, workers.b)), (A, pay))
    await sweep(workers.a)

    renewals = await _renewals_per_subscription(workers.a)
    assert renewals[sub.id] == 1 and sum(renewals.values()) == 2
    async with workers.a.db.unit_of_work() as session:
        paid = list(await session.scalars(select(Payment.provider_payment_id)))
    assert paid.count("pay_more") == 1


@pytest.mark.postgres
async def test_a_renewal_payment_racing_the_suspension_sweep_finishes_without_a_deadlock(
    race: Race,
) -> None:
    workers = race.workers
    ids = []
    for n in (1, 2):
        workers.clock.set(START + timedelta(minutes=n))
        owner, workspace_id = await _workspace(workers.a, n)
        await buy(workers.a, owner, workspace_id, MONTHLY)
        ids.append((await subscription(workers.a, workspace_id, MONTHLY.package)).id)
    workers.clock.set(PAST_FIRST_PERIOD)
    assert (await sweep(workers.a))["renewal.due"] == 2
    async with workers.a.db.unit_of_work() as session:
        renewals = {
            o.subscription_id: o
            for o in await session.scalars(select(Order).where(Order.kind == "renewal"))
        }
    earlier, later = renewals[ids[0]], renewals[ids[1]]
    workers.clock.set(later.expires_at + timedelta(minutes=1))
    earlier_renewal = select(Order.id).where(Order.id == earlier.id).with_for_update()

    pay = partial(
        apply_payment,
        workers.a,
        provider="fake",
        provider_payment_id="pay_renewal",
        order_reference=later.reference,
        amount=later.due_now,
        currency=later.currency,
        paid_at=later.expires_at - timedelta(hours=1),
    )

    await _in_order(race, earlier_renewal, (B, partial(sweep, workers.b)), (A, pay))

    async with workers.a.db.unit_of_work() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.provider_payment_id == "pay_renewal")
        )
        sub = await session.get(Subscription, ids[1])
        balance = await session.scalar(
            select(Workspace.credit_balance).where(Workspace.id == later.workspace_id)
        )
    assert payment is not None and sub is not None
    if payment.outcome == "applied":
        assert (sub.state, sub.grace_until, balance) == ("active", None, 0)
    else:
        assert (payment.outcome, payment.needs_support) == ("credited", True)
        assert (sub.state, balance) == ("inactive", later.due_now)
