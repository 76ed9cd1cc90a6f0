"""Workers killed mid-checkout, and two workers on one PostgreSQL (DESIGN 9 and 10).

Every worker here is a real process: `planbot serve` itself, or
`tests.integration.killable_worker`, which is `planbot serve` with one hook that kills it
with SIGKILL at a named step of a checkout. Its python-telegram-bot and stripe SDKs talk
HTTP to the fake Bot API and the fake Stripe the test serves on 127.0.0.1; updates and
events are posted to its webhooks as Telegram and Stripe post them, and what got no answer
is delivered again, as they do. Each test has a brand-new database that the workers
migrate, and every process is stopped at the end, whatever happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from adapters.telegram.webhook import SECRET_HEADER
from core.access import Actor
from core.catalog import load_catalog
from core.clock import FixedClock, format_iso
from core.db import Database, create_engine
from core.migrate import upgrade
from core.model import (
    AuditEntry,
    BalanceEntry,
    Conversation,
    Order,
    OutboxNotice,
    Payment,
    ProviderEvent,
    Subscription,
    Workspace,
)
from core.services.context import Context, get_workspace
from core.services.fulfilment import move_balance
from core.services.outbox import OutboxNotifier
from core.services.subscriptions import start_trial
from core.services.workspaces import create_workspace
from tests.conftest import PG_URL, START
from tests.integration.killable_worker import (
    CHECKOUT_CREATED,
    KILL_AT,
    ORDER_COMMITTED,
    PAYMENT_CLAIMED,
    POINTS,
)
from tests.integration.test_concurrency import PAST_FIRST_PERIOD, _paid_monthly_subscriptions
from tests.stripe.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, sign
from tests.stripe.fake_stripe import running as stripe_running
from tests.telegram.fake_api import TOKEN, FakeBotApi
from tests.telegram.fake_api import running as telegram_running

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
TELEGRAM_SECRET = "fault-test-Secret_token"
OWNER = 1001
CREDIT = 5_000
"""50.00 USD already on the workspace's balance: the order uses it, and must use it once."""
DUE_NOW = 25_500_00 - CREDIT  # Contact Center 2, 12 months, 100 accounts, less the balance
READY_SECONDS = 40
PUBLIC_URL = "http://planbot.test"
"""Where people reach planbot (a load balancer): the same for every worker."""
RESTART = timedelta(minutes=1)
"""How long a restart takes on planbot's clock (the quote, binding 30 minutes, still is)."""
CHECKOUT_STEPS = (ORDER_COMMITTED, CHECKOUT_CREATED)
SERVE = ("-m", "adapters.cli", "serve")
KILLABLE = ("-m", "tests.integration.killable_worker")


# --- processes --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Worker:
    name: str
    process: asyncio.subprocess.Process
    url: str
    out: Path
    err: Path
    files: tuple[IO[bytes], IO[bytes]]

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


class Fleet:
    """Starts processes with their output in files; all are stopped at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.workers: list[Worker] = []

    async def spawn(self, name: str, args: tuple[str, ...], url: str = "", **env: str) -> Worker:
        out, err = self.tmp_path / f"{name}.out", self.tmp_path / f"{name}.err"
        files = (out.open("wb"), err.open("wb"))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=self.tmp_path,  # no .env of the checkout is read
            env={**self.env, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=files[0],
            stderr=files[1],
        )
        worker = Worker(name, process, url, out, err, files)
        self.workers.append(worker)
        return worker

    async def serve(self, *, kill_at: str | None = None, clock: datetime = START) -> Worker:
        """A web worker whose clock stands at `clock`, returned once /readyz says the
        database and Telegram are ready."""
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        extra = {KILL_AT: kill_at} if kill_at else {}
        worker = await self.spawn(
            f"worker-{len(self.workers) + 1}",
            KILLABLE if kill_at else SERVE,
            url,
            PLANBOT_PORT=str(port),
            PLANBOT_CLOCK=format_iso(clock),
            **extra,
        )
        async with httpx.AsyncClient(base_url=url) as http, asyncio.timeout(READY_SECONDS):
            while True:
                if worker.process.returncode is not None:
                    raise AssertionError(f"{worker.name} ended at start:\n{worker.stderr()}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return worker
                except httpx.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(0.05)

    async def killed(self, worker: Worker, point: str) -> None:
        """The worker died by SIGKILL at `point`, and only there."""
        await asyncio.wait_for(worker.process.wait(), 10)
        self._close(worker)
        assert worker.process.returncode == -signal.SIGKILL, worker.stderr()
        assert worker.stderr().rstrip().endswith(f"killed at {point}"), worker.stderr()

    async def stop(self, worker: Worker) -> None:
        """Ctrl-C's signal, as an operator stops a worker; it must end cleanly."""
        if worker.process.returncode is None:
            worker.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(worker.process.wait(), 15)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
        self._close(worker)
        assert worker.process.returncode == 0, worker.stderr()

    @staticmethod
    def _close(worker: Worker) -> None:
        for file in worker.files:
            file.close()

    async def close(self) -> None:
        for worker in self.workers:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
            self._close(worker)


def _clean(worker: Worker) -> None:
    """No traceback and no error line in what the worker logged."""
    err = worker.stderr()
    assert "Traceback" not in err, err
    assert not re.search(r"\bERROR\b", err), err


# --- the stage: a fresh database, the fake platforms, the workers -----------------------------


@asynccontextmanager
async def _fresh_postgres() -> AsyncIterator[str]:
    """A brand-new PostgreSQL database, migrated, dropped again afterwards."""
    assert PG_URL is not None
    server = make_url(PG_URL)
    name = f"planbot_faults_{secrets.token_hex(6)}"
    admin = create_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _base_env(url: str) -> dict[str, str]:
    """The test's environment without any planbot, platform or database setting."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLANBOT_", "TELEGRAM_", "STRIPE_", "SLACK_")) and k != "DATABASE_URL"
    }
    return {
        **keep,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "PLANBOT_HOST": "127.0.0.1",
        "PLANBOT_PUBLIC_URL": PUBLIC_URL,
        "PLANBOT_CLOCK": format_iso(START),
    }


@dataclass
class Stage:
    url: str
    db: Database
    ctx: Context
    """Seeds the database; its clock is the fake Stripe's."""
    fleet: Fleet
    api: FakeBotApi
    stripe: FakeStripe
    http: httpx.AsyncClient
    answers: list[int] = field(default_factory=list)
    """The status of every answered delivery."""

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.ctx.clock, FixedClock)
        return self.ctx.clock

    async def workspace(self, user: int) -> int:
        """A workspace owned by Telegram user `user`, with CREDIT on its balance."""
        workspace_id = await create_workspace(
            self.ctx, Actor("telegram", str(user)), f"Team {user}"
        )
        async with self.db.unit_of_work() as session:
            workspace = await get_workspace(session, workspace_id, lock=True)
            move_balance(session, workspace, CREDIT, "courtesy credit", START)
        return workspace_id

    async def post_update(self, worker: Worker, update: dict[str, Any]) -> httpx.Response:
        response = await self.http.post(
            f"{worker.url}/telegram/webhook",
            json=update,
            headers={SECRET_HEADER: TELEGRAM_SECRET},
        )
        self.answers.append(response.status_code)
        return response

    async def post_event(self, worker: Worker, event: dict[str, Any]) -> httpx.Response:
        payload = json.dumps(event).encode()
        response = await self.http.post(
            f"{worker.url}/stripe/webhook",
            content=payload,
            headers={
                "Stripe-Signature": sign(payload, WEBHOOK_SECRET),
                "Content-Type": "application/json",
            },
        )
        self.answers.append(response.status_code)
        return response

    async def unanswered(self, delivery: Awaitable[httpx.Response]) -> None:
        """A delivery whose worker died before answering."""
        with pytest.raises(httpx.TransportError):
            await delivery

    async def told(self, chat: int, words: str) -> None:
        """Wait until the chat has been sent a text containing `words`."""
        async with asyncio.timeout(10), self.api.changed:
            await self.api.changed.wait_for(lambda: self.count(chat, words) > 0)

    def count(self, chat: int, words: str) -> int:
        return sum(words in said for said in self.api.texts(chat))


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    clock = FixedClock(START)
    api, stripe = FakeBotApi(), FakeStripe(clock.now)
    async with (
        _fresh_postgres() as url,
        telegram_running(api) as api_url,
        stripe_running(stripe) as stripe_url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        env = {
            **_base_env(url),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": api_url,
            "STRIPE_SECRET_KEY": API_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_url,
        }
        db = Database.from_url(url)
        ctx = Context(
            db=db, catalog=load_catalog(), clock=clock, notifier=OutboxNotifier(db, clock)
        )
        fleet = Fleet(tmp_path, env)
        try:
            yield Stage(url, db, ctx, fleet, api, stripe, http)
        finally:
            await fleet.close()
            await db.dispose()


# --- one person in a private chat with the bot -----------------------------------------------


@dataclass
class Person:
    """A Telegram user whose updates are made as Telegram makes them (ids from the fake)."""

    api: FakeBotApi
    user: int

    def _from(self) -> dict[str, Any]:
        return {"id": self.user, "is_bot": False, "first_name": f"User{self.user}"}

    def says(self, words: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": len(self.api.updates) + 1,
            "from": {**self._from(), "language_code": "en"},
            "chat": {"id": self.user, "type": "private", "first_name": f"User{self.user}"},
            "date": 1768471200,
            "text": words,
        }
        if words.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(words)}]
        self.api.queue({"message": message})
        return self.api.updates[-1]

    def taps(self, label: str) -> dict[str, Any]:
        """Tap the button whose label starts with `label` on the chat's newest menu."""
        message_id, buttons = self.api.menu(self.user)
        data = next((d for text, d in buttons.items() if text.startswith(label)), None)
        assert data is not None, f"{label!r} not in {list(buttons)}"
        self.api.queue(
            {
                "callback_query": {
                    "id": f"cb{len(self.api.updates) + 1}",
                    "from": self._from(),
                    "chat_instance": "ci",
                    "message": self.api.messages[(self.user, message_id)],
                    "data": data,
                }
            }
        )
        return self.api.updates[-1]


async def _answered(response: Awaitable[httpx.Response]) -> None:
    got = await response
    assert got.status_code == 200, got.text


async def _up_to_payment_method(stage: Stage, person: Person, worker: Worker) -> None:
    """/upgrade, Contact Center 2, 12 months, 100 accounts, Next: the payment-method menu."""
    await _answered(stage.post_update(worker, person.says("/upgrade")))
    await _answered(stage.post_update(worker, person.taps("Contact Center 2")))
    await _answered(stage.post_update(worker, person.taps("12 months")))
    await _answered(stage.post_update(worker, person.says("100")))
    await _answered(stage.post_update(worker, person.taps("Next")))
    assert "How would you like to pay?" in stage.api.texts(person.user)[-1]


# --- what the database holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A workspace's money-moving rows, as plain values to compare."""

    orders: list[tuple[str, bool]]
    payments: list[tuple[str, int]]
    events: int
    subscriptions: list[tuple[str, str, int, int]]
    balance: int
    ledger: list[int]
    notices: list[str]
    audit: Counter[str]


async def _held(db: Database, workspace_id: int) -> Held:
    async with db.read() as session:
        orders = list(
            await session.scalars(select(Order).where(Order.workspace_id == workspace_id))
        )
        payments = list(
            await session.scalars(select(Payment).where(Payment.workspace_id == workspace_id))
        )
        subs = list(
            await session.scalars(
                select(Subscription).where(Subscription.workspace_id == workspace_id)
            )
        )
        balance = await session.scalar(
            select(Workspace.credit_balance).where(Workspace.id == workspace_id)
        )
        ledger = list(
            await session.scalars(
                select(BalanceEntry.amount)
                .where(BalanceEntry.workspace_id == workspace_id)
                .order_by(BalanceEntry.id)
            )
        )
        notices = list(
            await session.scalars(
                select(OutboxNotice.kind)
                .where(OutboxNotice.workspace_id == workspace_id)
                .order_by(OutboxNotice.id)
            )
        )
        audit = Counter(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.workspace_id == workspace_id)
            )
        )
        events = await session.scalar(select(func.count()).select_from(ProviderEvent))
    assert balance is not None and events is not None
    return Held(
        orders=[(o.status.value, o.payment_link is not None) for o in orders],
        payments=[(p.outcome.value, p.amount) for p in payments],
        events=events,
        subscriptions=[(s.package, s.state.value, s.quantity, s.cycle_months) for s in subs],
        balance=balance,
        ledger=ledger,
        notices=notices,
        audit=audit,
    )


async def _order(db: Database, workspace_id: int) -> Order:
    async with db.read() as session:
        (order,) = await session.scalars(select(Order).where(Order.workspace_id == workspace_id))
        return order


async def _conversation(db: Database, user: int) -> tuple[str | None, int]:
    async with db.read() as session:
        (row,) = await session.execute(
            select(Conversation.step, Conversation.version).where(Conversation.user_id == str(user))
        )
        return row.step, row.version


def _paid_once(held: Held) -> None:
    """One order paid, one payment applied, the package bought once, the balance used once,
    the chat told once."""
    assert held.orders == [("paid", True)]
    assert held.payments == [("applied", DUE_NOW)]
    assert held.subscriptions == [("cc2", "active", 100, 12)]
    assert held.balance == sum(held.ledger) == 0
    assert held.ledger == [CREDIT, -CREDIT]
    assert held.audit["order.new"] == 1
    assert Counter(held.notices)["payment.succeeded"] == 1


# --- 1. a worker killed at each step of a checkout ----------------------------------------------


@dataclass
class Checkout:
    """One person's checkout, whose worker dies at `point`."""

    point: str
    person: Person
    workspace_id: int
    card: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def sessions(self, stripe: FakeStripe) -> list[str]:
        """The Checkout Sessions made at Stripe for this workspace."""
        return [
            sid
            for sid, made in stripe.sessions.items()
            if made["metadata"].get("workspace") == str(self.workspace_id)
        ]


async def _events_claimed(db: Database, events: list[dict[str, Any]]) -> int:
    async with db.read() as session:
        claimed = await session.scalar(
            select(func.count())
            .select_from(ProviderEvent)
            .where(ProviderEvent.event_id.in_([e["id"] for e in events]))
        )
    assert claimed is not None
    return claimed


async def _to_the_brink(stage: Stage, case: Checkout, worker: Worker) -> None:
    """Everything up to the delivery that reaches `case.point`."""
    await _up_to_payment_method(stage, case.person, worker)
    case.card = case.person.taps("Card")
    if case.point in CHECKOUT_STEPS:
        return
    await _answered(stage.post_update(worker, case.card))
    order = await _order(stage.db, case.workspace_id)
    assert order.provider_reference is not None
    case.events = stage.stripe.pay(order.provider_reference)


async def _killed(stage: Stage, case: Checkout, worker: Worker) -> None:
    """The delivery that kills the worker, and what it left behind."""
    fatal = case.card if case.point in CHECKOUT_STEPS else case.events[0]
    post = stage.post_update if case.point in CHECKOUT_STEPS else stage.post_event
    await stage.unanswered(post(worker, fatal))
    await stage.fleet.killed(worker, case.point)
    held = await _held(stage.db, case.workspace_id)
    if case.point in CHECKOUT_STEPS:
        # The order row committed; no link was stored (the checkout exists after the call).
        assert held.orders == [("pending", False)], case.point
        assert len(case.sessions(stage.stripe)) == (case.point == CHECKOUT_CREATED), case.point
        assert await _conversation(stage.db, case.person.user) == ("method", 5), case.point
    elif case.point == PAYMENT_CLAIMED:
        # The open transaction died with the worker: no claim, nothing applied.
        assert (held.orders, held.payments) == ([("pending", True)], []), case.point
        assert (held.subscriptions, held.ledger) == ([], [CREDIT]), case.point
        assert "payment.succeeded" not in held.notices, case.point
        assert await _events_claimed(stage.db, case.events) == 0, case.point
    else:
        _paid_once(held)
        assert await _events_claimed(stage.db, case.events) == 1, case.point


async def _redelivered(stage: Stage, case: Checkout, worker: Worker) -> None:
    """What got no answer is delivered again to the restarted worker, then the payment's
    events once more (Stripe may repeat any of them)."""
    if case.point in CHECKOUT_STEPS:
        await _answered(stage.post_update(worker, case.card))
        order = await _order(stage.db, case.workspace_id)
        assert order.provider_reference is not None, case.point
        case.events = stage.stripe.pay(order.provider_reference)
    for event in [*case.events, *case.events]:
        await _answered(stage.post_event(worker, event))
    await stage.told(case.person.user, "Payment received")


async def test_workers_killed_at_each_step_of_a_checkout_then_restarted_end_as_if_never_killed(
    stage: Stage,
) -> None:
    cases = [
        Checkout(point, Person(stage.api, OWNER + n), await stage.workspace(OWNER + n))
        for n, point in enumerate(POINTS)
    ]
    first = await asyncio.gather(*(stage.fleet.serve(kill_at=case.point) for case in cases))
    # The replacement starts meanwhile (as a supervisor would bring it up), its clock a
    # minute on: a call it makes again is made at another time than the one that was lost.
    # It is given nothing until every first worker is dead.
    later = START + RESTART
    restarting = asyncio.create_task(stage.fleet.serve(clock=later))
    try:
        await asyncio.gather(
            *(_to_the_brink(stage, c, w) for c, w in zip(cases, first, strict=True))
        )
        # One after the other, so no worker dies holding a notice another one committed.
        for case, worker in zip(cases, first, strict=True):
            await _killed(stage, case, worker)
        stage.clock.set(later)
        restarted = await restarting
    finally:
        restarting.cancel()
    await asyncio.gather(*(_redelivered(stage, case, restarted) for case in cases))
    await stage.fleet.stop(restarted)

    for case in cases:
        order = await _order(stage.db, case.workspace_id)
        _paid_once(await _held(stage.db, case.workspace_id))
        assert await _events_claimed(stage.db, case.events) == len(case.events)
        # The link shown is the session paid. The retried calls reused their keys: one
        # session, except that a call made after a lost one at another time makes its own
        # (the lost one was never shown and lapses by itself).
        *lost, shown = case.sessions(stage.stripe)
        assert shown == order.provider_reference, case.point
        assert len(lost) == (case.point == CHECKOUT_CREATED), case.point
        for sid in lost:
            assert stage.stripe.sessions[sid]["status"] == "open"
            assert stage.count(case.person.user, sid) == 0
        # The person saw the link once and was told of the payment once.
        assert stage.count(case.person.user, f"Order {order.reference}:") == 1, case.point
        assert stage.count(case.person.user, "Payment received") == 1, case.point
        assert await _conversation(stage.db, case.person.user) == (None, 6), case.point
    # One customer per workspace, one coupon (the balance used) per session.
    assert len(stage.stripe.customers) == len(cases)
    assert len(stage.stripe.coupons) == len(stage.stripe.sessions)
    _clean(restarted)


# --- 2. two workers given the same updates and events at once -----------------------------------

PEOPLE = 3


async def _both(stage: Stage, workers: tuple[Worker, Worker], update: dict[str, Any]) -> None:
    answers = await asyncio.gather(*(stage.post_update(w, update) for w in workers))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]


async def _journey(stage: Stage, workers: tuple[Worker, Worker], user: int, workspace: int) -> None:
    """One person's purchase, every update delivered to one worker or to both at once."""
    a, b = workers
    person = Person(stage.api, user)
    # A new person's first update at both: the conversation is created once.
    await _both(stage, workers, person.says("/upgrade"))
    assert await _conversation(stage.db, user) == ("package", 1)
    await _both(stage, workers, person.taps("Contact Center 2"))
    assert await _conversation(stage.db, user) == ("cycle", 2)
    # The winner's menu stays on screen: the loser answered the tap quietly.
    assert "Choose a billing cycle" in stage.api.texts(user)[-1]
    assert "12 months" in " ".join(stage.api.menu(user)[1])
    await _answered(stage.post_update(a, person.taps("12 months")))
    await _answered(stage.post_update(b, person.says("100")))
    await _answered(stage.post_update(a, person.taps("Next")))
    assert await _conversation(stage.db, user) == ("method", 5)
    # The Card tap at both: one order, one checkout, the link shown once.
    await _both(stage, workers, person.taps("Card"))
    assert await _conversation(stage.db, user) == (None, 6)
    order = await _order(stage.db, workspace)
    assert order.provider_reference is not None
    # Both events of the payment, each to both workers at once.
    events = stage.stripe.pay(order.provider_reference)
    answers = await asyncio.gather(*(stage.post_event(w, e) for e in events for w in workers))
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    outcomes = Counter(r.json()["outcome"] for r in answers)
    assert outcomes == {"applied": 1, "duplicate": 3}, outcomes
    await stage.told(user, "Payment received")


async def test_two_workers_given_the_same_updates_and_events_at_once_act_on_each_once(
    stage: Stage,
) -> None:
    users = [OWNER + n for n in range(PEOPLE)]
    workspaces = [await stage.workspace(user) for user in users]
    workers = await asyncio.gather(stage.fleet.serve(), stage.fleet.serve())
    pair = (workers[0], workers[1])

    await asyncio.gather(
        *(_journey(stage, pair, user, ws) for user, ws in zip(users, workspaces, strict=True))
    )
    await asyncio.gather(*(stage.fleet.stop(worker) for worker in pair))

    for user, workspace in zip(users, workspaces, strict=True):
        order = await _order(stage.db, workspace)
        held = await _held(stage.db, workspace)
        _paid_once(held)
        assert stage.count(user, f"Order {order.reference}:") == 1
        assert stage.count(user, "Payment received") == 1
        assert stage.count(user, "Choose a package.") == 1  # the first update answered once
    assert len(stage.stripe.sessions) == PEOPLE
    assert set(stage.answers) == {200}
    for worker in pair:
        _clean(worker)


# --- 3. two `planbot tick` at once ----------------------------------------------------------

DUE_RENEWALS, ENDING_TRIALS = 20, 10


@asynccontextmanager
async def _table_locked(db: Database, table: str) -> AsyncIterator[Database]:
    """Hold an exclusive lock on `table` (every statement on it waits) until the block ends."""
    async with db.engine.connect() as connection, connection.begin():
        await connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        yield db


async def _until_waiting(db: Database, table: str, count: int, workers: list[Worker]) -> None:
    """Return once `count` connections wait for `table`'s lock; fail if a worker ended."""
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    async with asyncio.timeout(READY_SECONDS):
        while True:
            for worker in workers:
                assert worker.process.returncode is None, worker.stderr()
            async with db.engine.connect() as connection:
                if await connection.scalar(waiting, {"t": table}) >= count:
                    return
            await asyncio.sleep(0.02)


async def test_two_planbot_ticks_at_once_handle_each_due_row_once(stage: Stage) -> None:
    ctx = stage.ctx
    renewing = await _paid_monthly_subscriptions(ctx, DUE_RENEWALS)
    trials = []
    for n in range(ENDING_TRIALS):
        owner = Actor("telegram", f"trial-{n}")
        workspace_id = await create_workspace(ctx, owner, f"Trial {n}")
        trials.append(await start_trial(ctx, owner, workspace_id, "cc2"))
    at = format_iso(PAST_FIRST_PERIOD)
    tick = ("-m", "adapters.cli", "tick", "--at", at)
    env = {"PLANBOT_CLOCK": at, "STRIPE_SECRET_KEY": ""}  # renewal links from the sandbox

    async with _table_locked(stage.db, "subscriptions"):
        ticks = await asyncio.gather(*(stage.fleet.spawn(f"tick-{n}", tick, **env) for n in (1, 2)))
        # Both wait on their first claim; they go on together once the lock is let go.
        await _until_waiting(stage.db, "subscriptions", 2, ticks)
    for worker in ticks:
        assert await asyncio.wait_for(worker.process.wait(), 60) == 0, worker.stderr()
        Fleet._close(worker)

    counts: Counter[str] = Counter()
    for worker in ticks:
        (summary,) = [line for line in worker.out.read_text().splitlines() if "sweep done" in line]
        for part in summary.split(":", 1)[1].split(","):
            if ":" in part:
                name, value = part.split(":")
                counts[name.strip()] += int(value)
        _clean(worker)
    assert counts["renewal.due"] == DUE_RENEWALS
    assert counts["trial.ended"] == ENDING_TRIALS
    async with stage.db.read() as session:
        renewals = list(await session.scalars(select(Order).where(Order.kind == "renewal")))
        renewed = list(
            await session.scalars(select(Subscription).where(Subscription.id.in_(renewing)))
        )
        ended = list(await session.scalars(select(Subscription).where(Subscription.id.in_(trials))))
        audit = Counter(
            await session.execute(select(AuditEntry.subscription_id, AuditEntry.action))
        )
        notices = Counter(
            (kind, data.get("subscription_id"))
            for kind, data in await session.execute(select(OutboxNotice.kind, OutboxNotice.data))
        )
    assert Counter(o.subscription_id for o in renewals) == Counter(renewing)
    assert all(o.status.value == "pending" and o.payment_link for o in renewals)
    assert all(s.state.value == "active" and s.grace_until is not None for s in renewed)
    assert all(audit[(sub_id, "sweep.renewal.due")] == 1 for sub_id in renewing)
    assert {(s.state.value, s.inactive_reason) for s in ended} == {("inactive", "trial_expired")}
    assert all(audit[(sub_id, "sweep.trial.ended")] == 1 for sub_id in trials)
    assert [n for n in notices.values() if n != 1] == []
    assert sum(notices[("trial.ended", sub_id)] for sub_id in trials) == ENDING_TRIALS
