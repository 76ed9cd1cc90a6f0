"""Scale-out (DESIGN 9, 11): real `planbot serve` worker processes on one PostgreSQL, one
worker and then two, the same load in the same run, with each worker's CPU seconds per step.

Two loads, each flat out from many senders at once:

- Slack HTTP steps: signed slash commands and button taps (block_actions) to /slack/events
  from many users, each user waiting for its answer before the next step; a step ends when
  the worker's chat.postEphemeral reaches the fake Slack Web API. Every step is a whole
  engine step (load the conversation, run the upgrade flow, save it, render Block Kit).
- Stripe webhook events: signed checkout.session.completed deliveries to /stripe/webhook
  for orders made beforehand through the core use cases; each must fulfil its order once.

With two workers the requests go to them in turn (a user's consecutive steps alternate
between the workers, so nothing may live in a worker's memory). Each worker's CPU time is
utime + stime from /proc/<pid>/stat before and after the measured part, divided by the steps
it served; the bench process (the load and the fake Slack Web API) and the database's
backends are shown beside. Before the measured part, each user's first step is taken once on
every worker of the round (users.info and the member's role are cached per worker) and a few
steps warm every worker up; rounds run 1, 2, 2, 1 workers so a drift in the machine's load
falls on both alike.

The fake Slack Web API and the fake Stripe run in this process on 127.0.0.1; the workers
talk to them and to nothing else. The database is a scratch one: its tables are dropped and
migrated afresh. Without PLANBOT_TEST_DATABASE_URL or --postgres the bench is skipped.

    python -m bench.scaleout [--quick] [--postgres URL]

PLANBOT_BENCH_PROFILE=DIR profiles the workers: with py-spy (next to this Python or on PATH)
each measured part of each worker is sampled into DIR/<load>-<n>w-<round>-<worker>.txt
(collapsed stacks, `py-spy record --format raw`); without it each worker runs under cProfile
and writes DIR/worker-<name>.prof when it stops. The CPU figures then include the profiler's
overhead: profile, do not measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.exc import DBAPIError

from bench.stripe_webhooks import BenchGateway, _event, _orders
from bench.stripe_webhooks import sign as stripe_sign
from bench.table import Row, print_table
from core.catalog import load_catalog
from core.clock import FixedClock, parse_iso
from core.db import Database
from core.migrate import upgrade
from core.model import Order, Payment, PaymentOutcome
from core.ports import RecordingNotifier
from core.services.context import Context
from tests.slack.conftest import sign as slack_sign
from tests.slack.fake_api import TEAM, TOKEN, FakeSlackApi
from tests.slack.fake_api import running as slack_running
from tests.stripe.fake_stripe import API_KEY as STRIPE_KEY
from tests.stripe.fake_stripe import FakeStripe
from tests.stripe.fake_stripe import running as stripe_running

ROOT = Path(__file__).resolve().parent.parent
CLOCK = "2026-07-15T10:00:00Z"
SLACK_SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "whsec_bench"
CHANNEL = "CSCALE"
EVENTS_PATH, WEBHOOK_PATH = "/slack/events", "/stripe/webhook"
CPU_TARGET = 1.10
SPEED_TARGET = 1.5
CORES_FOR_SPEED = 4
START_TIMEOUT_S = 45.0
STEP_TIMEOUT_S = 30.0
PHASE_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 2.0
# The measured processes take nothing from this environment but what is set for them.
SCRUBBED = ("DATABASE_URL", "PLANBOT_", "STRIPE_", "TELEGRAM_", "SLACK_", "PYTHONPATH")
PROXIES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})
TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A worker did not start or did not answer as expected; the message says how."""


@dataclass(frozen=True)
class Load:
    users: int
    """Slack users stepping at once."""
    steps: int
    """Measured Slack steps per user (a slash command every fifth, taps between)."""
    orders: int
    """Paid orders (one checkout.session.completed each) per Stripe round."""
    senders: int
    """Concurrent webhook senders."""
    rounds: int
    """Rounds of (1 worker, 2 workers); an even number runs them 1, 2, 2, 1."""


FULL = Load(users=100, steps=8, orders=500, senders=16, rounds=2)
QUICK = Load(users=40, steps=6, orders=300, senders=16, rounds=1)
WARM_USERS, WARM_STEPS, WARM_EVENTS = 10, 5, 30


# --- CPU time ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def sessions(db: Database) -> int | None:
    """Connections opened to this database so far (PostgreSQL 14 and later)."""
    async with db.engine.connect() as connection:
        try:
            found = await connection.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            )
        except DBAPIError:
            return None
        return None if found is None else int(found)


async def backend_pids(db: Database) -> list[int]:
    """The PostgreSQL backends serving this database (the workers' pooled connections)."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [int(pid) for (pid,) in rows]


@dataclass
class CpuWindow:
    """CPU seconds of the workers, this process and the database's backends over a window."""

    workers: Sequence[Worker]
    db: Database
    start_workers: list[float] = field(default_factory=list)
    start_own: float = 0.0
    start_backends: dict[int, float] = field(default_factory=dict)
    workers_s: list[float] = field(default_factory=list)
    own_s: float = 0.0
    backends_s: float | None = None
    start_sessions: int | None = None
    connections: int | None = None
    """Connections opened to the database within the window (by anyone: the workers)."""

    async def open(self) -> None:
        self.start_sessions = await sessions(self.db)
        self.start_backends = await self._backends()
        self.start_workers = [w.cpu() for w in self.workers]
        self.start_own = own_cpu_seconds()

    async def close(self) -> None:
        self.own_s = own_cpu_seconds() - self.start_own
        self.workers_s = [
            w.cpu() - s for w, s in zip(self.workers, self.start_workers, strict=True)
        ]
        after = await self._backends()
        opened = await sessions(self.db)
        if opened is not None and self.start_sessions is not None:
            self.connections = opened - self.start_sessions
        if after:
            # A backend started within the window counts from zero; one that ended is lost.
            self.backends_s = sum(t - self.start_backends.get(pid, 0.0) for pid, t in after.items())

    async def _backends(self) -> dict[int, float]:
        found = {pid: cpu_seconds(pid) for pid in await backend_pids(self.db)}
        return {pid: t for pid, t in found.items() if t is not None}


# --- profiling (PLANBOT_BENCH_PROFILE=DIR) -----------------------------------------------------


def profile_folder() -> Path | None:
    folder = os.environ.get("PLANBOT_BENCH_PROFILE")
    return Path(folder).resolve() if folder else None


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _spy(spy: str, pid: int, output: Path) -> subprocess.Popen[bytes]:
    command = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    return subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.asynccontextmanager
async def sampled(group: Sequence[Worker], label: str | None) -> AsyncIterator[None]:
    """py-spy on every worker of `group` while the block runs (when profiling with py-spy)."""
    folder, spy = profile_folder(), py_spy()
    if folder is None or spy is None or label is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    samplers = [_spy(spy, w.pid, folder / f"{label}-{w.name}.txt") for w in group]
    try:
        await asyncio.sleep(0.5)  # attached before the load starts
        yield
    finally:
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for sampler in samplers:
            try:
                await asyncio.to_thread(sampler.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                sampler.kill()
                await asyncio.to_thread(sampler.wait)


# --- the worker processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    """One `planbot serve` process on a port of 127.0.0.1."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        seconds = cpu_seconds(self.pid)
        if seconds is None:
            raise BenchError(f"worker {self.name} is gone:\n{self.tail()}")
        return seconds

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self, env: dict[str, str], folder: Path) -> None:
        command = [sys.executable, "-m", "adapters.cli", "serve"]
        profile = profile_folder()
        if profile is not None and py_spy() is None:
            output = profile / f"worker-{self.name}.prof"
            output.parent.mkdir(parents=True, exist_ok=True)
            command[1:1] = ["-m", "cProfile", "-o", str(output)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=folder,  # no .env of the checkout's is read
                env={**env, "PLANBOT_PORT": str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C on the bench reaches it only through stop()
            )

    async def ready(self, http: aiohttp.ClientSession) -> None:
        """Until /readyz answers 200 with the database and Slack ready (bounded)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"worker {self.name} exited at start:\n{self.tail()}")
            try:
                async with http.get(f"{self.url}/readyz") as response:
                    state = await response.json(content_type=None)
                    last = json.dumps(state)
                    platforms = state.get("platforms", {})
                    slack = platforms.get("slack", {}).get("state")
                    if response.status == 200 and slack == "ready":
                        return
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.1)
        raise BenchError(f"worker {self.name} not ready in {START_TIMEOUT_S:.0f} s: {last}")

    async def stop(self) -> None:
        """SIGINT (uvicorn stops gracefully, cProfile writes its file), then harder."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sent in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sent)
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                continue


def worker_env(database: str, slack_api: str, stripe_api: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SCRUBBED) and k.upper() not in PROXIES
    }
    env.update(
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
        DATABASE_URL=database,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        SLACK_API_URL=slack_api,
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_api,
        PLANBOT_PUBLIC_URL="http://127.0.0.1:9",
        PLANBOT_HOST="127.0.0.1",
        PLANBOT_CLOCK=CLOCK,
    )
    return env


@contextlib.asynccontextmanager
async def workers(
    names: Sequence[str], env: dict[str, str], folder: Path
) -> AsyncIterator[list[Worker]]:
    """Start the workers side by side and wait until each is ready; stop all however it ends."""
    started = [Worker(name, free_port(), folder / f"worker-{name}.log") for name in names]
    try:
        for worker in started:
            worker.start(env, folder)
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(w.ready(http) for w in started))
        yield started
    finally:
        await asyncio.gather(*(w.stop() for w in started), return_exceptions=True)


# --- the fake Slack Web API, telling each user's answer ----------------------------------------


class AnsweringSlackApi(FakeSlackApi):
    """The fake Slack Web API, resolving a future per user when their answer is posted."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, user: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[user] = future
        return future

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postEphemeral":
            future = self.waiting.pop(str(args.get("user")), None)
            if future is not None and not future.done():
                future.set_result(None)
        return super()._answer(method, args)

    def value(self, user: str, label: str) -> str:
        """The value of the button labelled `label` in the user's newest answer."""
        message = self.last.get((CHANNEL, user), {})
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("text", {}).get("text") == label:
                    return str(element["value"])
        raise BenchError(f"no {label!r} button for {user}: {str(message.get('text'))[:300]}")


def _command(user: str, text_: str) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNEL,
            "user_id": user,
            "command": "/plans",
            "text": text_,
            "trigger_id": "t",
        }
    )


def _tap(user: str, value: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "bench"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "ABENCH",
        "trigger_id": "t",
        "container": {
            "type": "message",
            "message_ts": "1.1",
            "channel_id": CHANNEL,
            "is_ephemeral": True,
        },
        "channel": {"id": CHANNEL},
        "actions": [
            {"type": "button", "action_id": "planbot_tap:0", "block_id": "b", "value": value}
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def slack_step(
    http: aiohttp.ClientSession, api: AnsweringSlackApi, worker: Worker, user: str, n: int
) -> None:
    """Step `n` of a user's cycle: /plans upgrade, then Contact Center 2, Back, twice."""
    position = n % 5
    if position == 0:
        body = _command(user, "upgrade")
    else:
        body = _tap(user, api.value(user, "Contact Center 2" if position % 2 else "Back"))
    answered = api.expect(user)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_sign(body, SLACK_SECRET),
    }
    async with http.post(f"{worker.url}{EVENTS_PATH}", data=body, headers=headers) as response:
        if response.status != 200:
            raise BenchError(f"{worker.name} answered {response.status}: {await response.text()}")
    try:
        await asyncio.wait_for(answered, STEP_TIMEOUT_S)
    except TimeoutError as exc:
        raise BenchError(f"no answer for {user} from {worker.name}:\n{worker.tail()}") from exc


# --- the loads --------------------------------------------------------------------------------


def client() -> aiohttp.ClientSession:
    """Connections kept idle 2 s at most: one left idle past uvicorn's keep-alive timeout
    (5 s) may be closed by the worker just as it is reused (a reset, not a benchmark)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEP_ALIVE_S)
    )


@dataclass(frozen=True)
class Measured:
    steps: int
    seconds: float
    served: list[int]
    """Steps each worker served."""
    workers_s: list[float]
    own_s: float
    backends_s: float | None
    connections: int | None


async def _window(
    group: Sequence[Worker],
    db: Database,
    label: str | None,
    run: Callable[[], Awaitable[list[int]]],
) -> Measured:
    async with sampled(group, label):
        window = CpuWindow(group, db)
        await window.open()
        started = time.perf_counter()
        served = await asyncio.wait_for(run(), PHASE_TIMEOUT_S)
        seconds = time.perf_counter() - started
        await window.close()
    return Measured(
        sum(served),
        seconds,
        served,
        window.workers_s,
        window.own_s,
        window.backends_s,
        window.connections,
    )


async def slack_round(
    api: AnsweringSlackApi,
    db: Database,
    group: Sequence[Worker],
    users: Sequence[str],
    steps: int,
    label: str | None = None,
) -> Measured:
    """Each user's first step on every worker (not measured), then `steps` each flat out."""
    async with client() as http:

        async def first(user: str) -> None:
            for worker in group:
                await slack_step(http, api, worker, user, 0)

        await asyncio.wait_for(asyncio.gather(*(first(u) for u in users)), PHASE_TIMEOUT_S)
        return await _window(group, db, label, lambda: _slack_load(http, api, group, users, steps))


async def _slack_load(
    http: aiohttp.ClientSession,
    api: AnsweringSlackApi,
    group: Sequence[Worker],
    users: Sequence[str],
    steps: int,
) -> list[int]:
    """Every user's `steps` steps, user u's n-th to worker (u + n) mod len(group)."""
    served = [0] * len(group)

    async def user(u: int, name: str) -> None:
        for n in range(steps):
            w = (u + n) % len(group)
            await slack_step(http, api, group[w], name, n)
            served[w] += 1

    await asyncio.gather(*(user(u, name) for u, name in enumerate(users)))
    return served


async def stripe_round(
    db: Database,
    group: Sequence[Worker],
    events: Sequence[bytes],
    senders: int,
    label: str | None = None,
) -> Measured:
    """Every event once, the k-th to worker k mod n, from `senders` at once."""
    outcomes: dict[str, int] = {}

    async def run() -> list[int]:
        served = [0] * len(group)
        queue = list(enumerate(events))
        queue.reverse()

        async def sender() -> None:
            while queue:
                k, body = queue.pop()
                w = k % len(group)
                headers = {
                    "Stripe-Signature": stripe_sign(body, WEBHOOK_SECRET),
                    "Content-Type": "application/json",
                }
                async with http.post(
                    f"{group[w].url}{WEBHOOK_PATH}", data=body, headers=headers
                ) as response:
                    if response.status != 200:
                        raise BenchError(
                            f"{group[w].name} answered {response.status}: {await response.text()}"
                        )
                    outcome = str((await response.json()).get("outcome"))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                served[w] += 1

        await asyncio.gather(*(sender() for _ in range(senders)))
        return served

    async with client() as http:
        measured = await _window(group, db, label, run)
    if set(outcomes) != {PaymentOutcome.APPLIED.value}:
        raise BenchError(f"webhook outcomes: {outcomes} (each event should apply once)")
    return measured


async def warm_up(
    api: AnsweringSlackApi,
    db: Database,
    group: Sequence[Worker],
    events: Sequence[bytes],
) -> None:
    """A few steps and events on every worker: connections, caches and lazy imports."""
    for worker in group:
        users = [f"UWARM{worker.name}{u:02d}" for u in range(WARM_USERS)]
        await slack_round(api, db, [worker], users, WARM_STEPS)
    await stripe_round(db, group, events, 4)


# --- the run ----------------------------------------------------------------------------------


async def fresh_database(url: str) -> Database:
    """Drop every table of the scratch database (planbot's, Slack's, Alembic's), migrate."""
    db = Database.from_url(url)
    if not db.is_postgres:
        await db.dispose()
        raise BenchError(f"the scale-out bench needs PostgreSQL, not {db.engine.dialect.name}")

    def drop(connection: Any) -> None:
        tables = MetaData()
        tables.reflect(connection)
        tables.drop_all(connection)

    async with db.engine.begin() as connection:
        await connection.run_sync(drop)
    await asyncio.to_thread(upgrade, url)
    return db


@dataclass
class Totals:
    """One load's figures for one group size, summed over the rounds."""

    steps: int = 0
    seconds: float = 0.0
    workers_s: float = 0.0
    own_s: float = 0.0
    backends_s: float | None = 0.0
    connections: int | None = 0
    per_worker: list[tuple[int, float]] = field(default_factory=list)

    def add(self, m: Measured) -> None:
        self.steps += m.steps
        self.seconds += m.seconds
        self.workers_s += sum(m.workers_s)
        self.own_s += m.own_s
        self.connections = (
            None
            if self.connections is None or m.connections is None
            else self.connections + m.connections
        )
        self.backends_s = (
            None
            if self.backends_s is None or m.backends_s is None
            else self.backends_s + m.backends_s
        )
        if not self.per_worker:
            self.per_worker = [(0, 0.0)] * len(m.served)
        self.per_worker = [
            (steps + served, cpu + spent)
            for (steps, cpu), served, spent in zip(
                self.per_worker, m.served, m.workers_s, strict=True
            )
        ]

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.workers_s / self.steps


async def measure(url: str, load: Load, folder: Path) -> dict[str, dict[int, Totals]]:
    db = await fresh_database(url)
    clock = FixedClock(parse_iso(CLOCK))
    ctx = Context(db, load_catalog(), clock, BenchGateway(), RecordingNotifier())
    api = AnsweringSlackApi()
    stripe = FakeStripe(lambda: datetime.now(UTC))
    sizes = [1, 2, 2, 1] * (load.rounds // 2) + [1, 2] * (load.rounds % 2)
    warm = 2 * WARM_EVENTS
    try:
        orders = await _orders(ctx, warm + len(sizes) * load.orders)
        bodies = [json.dumps(_event(n, order)).encode() for n, order in enumerate(orders)]
        random.Random(42).shuffle(bodies)
        api.admins.update(f"U{r}{u:04d}" for r in range(len(sizes)) for u in range(load.users))
        api.admins.update(f"UWARM{w}{u:02d}" for w in "AB" for u in range(WARM_USERS))
        results: dict[str, dict[int, Totals]] = {"slack": {}, "stripe": {}}
        async with (
            slack_running(api) as slack_url,
            stripe_running(stripe) as stripe_url,
        ):
            env = worker_env(url, f"{slack_url}/api/", stripe_url)
            async with workers(["A", "B"], env, folder) as (a, b):
                await warm_up(api, db, [a, b], bodies[:warm])
                offset = warm
                for r, size in enumerate(sizes):
                    group = [a, b][:size]
                    users = [f"U{r}{u:04d}" for u in range(load.users)]
                    label = f"slack-{size}w-r{r}"
                    measured = await slack_round(api, db, group, users, load.steps, label)
                    results["slack"].setdefault(size, Totals()).add(measured)
                for r, size in enumerate(sizes):
                    group = [a, b][:size]
                    events = bodies[offset : offset + load.orders]
                    offset += load.orders
                    label = f"stripe-{size}w-r{r}"
                    measured = await stripe_round(db, group, events, load.senders, label)
                    results["stripe"].setdefault(size, Totals()).add(measured)
            if stripe.requests:
                raise BenchError(f"the workers called Stripe {len(stripe.requests)} times")
        async with db.unit_of_work() as session:
            applied = await session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.outcome == PaymentOutcome.APPLIED.value)
            )
            paid = await session.scalar(
                select(func.count()).select_from(Order).where(Order.status == "paid")
            )
        if not applied == paid == len(orders):
            raise BenchError(f"{applied} fulfilments for {paid} paid of {len(orders)} orders")
        return results
    finally:
        await db.dispose()


def rows(results: dict[str, dict[int, Totals]], cores: int) -> list[Row]:
    table = [Row("cores (os.cpu_count())", cores, "cores", digits=0)]
    speed_target = SPEED_TARGET if cores >= CORES_FOR_SPEED else None
    speed_note = "" if speed_target else f" (reported: target with >= {CORES_FOR_SPEED} cores)"
    for key, name, unit in (
        ("slack", "Slack HTTP", "steps/s"),
        ("stripe", "Stripe webhook", "events/s"),
    ):
        one, two = results[key][1], results[key][2]
        split = ", ".join(
            f"{w} {1000 * cpu / steps:.2f}"
            for w, (steps, cpu) in zip("AB", two.per_worker, strict=True)
        )
        table += [
            Row(f"{name}: 1 worker", one.rate, unit),
            Row(f"{name}: 2 workers", two.rate, unit),
            Row(
                f"{name}: 2 workers / 1, {unit}{speed_note}",
                two.rate / one.rate,
                "x",
                speed_target,
                digits=2,
            ),
            Row(f"{name}: worker CPU per step, 1 worker", one.cpu_ms, "ms", None, False, 2),
            Row(
                f"{name}: worker CPU per step, 2 workers ({split})",
                two.cpu_ms,
                "ms",
                None,
                False,
                2,
            ),
            Row(
                f"{name}: worker CPU per step, 2 workers / 1",
                two.cpu_ms / one.cpu_ms,
                "x",
                CPU_TARGET,
                False,
                2,
            ),
        ]
        for size, totals in ((1, one), (2, two)):
            workers_name = "1 worker" if size == 1 else "2 workers"
            table.append(
                Row(
                    f"{name}: bench process CPU per step, {workers_name}",
                    1000 * totals.own_s / totals.steps,
                    "ms",
                    None,
                    False,
                    2,
                )
            )
            if totals.connections is not None:
                table.append(
                    Row(
                        f"{name}: PostgreSQL connections opened per 100 steps, {workers_name}",
                        100 * totals.connections / totals.steps,
                        "conn",
                        None,
                        False,
                        2,
                    )
                )
            if totals.backends_s is not None:
                table.append(
                    Row(
                        f"{name}: PostgreSQL backends CPU per step, {workers_name}",
                        1000 * totals.backends_s / totals.steps,
                        "ms",
                        None,
                        False,
                        2,
                    )
                )
        table.append(Row(f"{name}: steps measured per worker count", one.steps, "steps", digits=0))
    return table


def main(quick: bool = False, postgres: str | None = None) -> None:
    title = "Scale-out: planbot serve workers on one PostgreSQL, 1 then 2, same load, same run"
    url = postgres or os.environ.get("PLANBOT_TEST_DATABASE_URL")
    if not url:
        print(f"\n{title}\n  skipped: set PLANBOT_TEST_DATABASE_URL or pass --postgres URL")
        return
    load = QUICK if quick else FULL
    cores = os.cpu_count() or 1
    try:
        with tempfile.TemporaryDirectory(prefix="planbot-scaleout-") as folder:
            results = asyncio.run(measure(url, load, Path(folder)))
    except BenchError as error:
        raise SystemExit(f"scale-out bench: {error}") from error
    print_table(
        f"{title} ({load.users} Slack users x {load.steps} steps, {load.orders} webhook events, "
        f"{load.senders} senders, per round; {load.rounds} round"
        f"{'s' if load.rounds > 1 else ''} of each)",
        rows(results, cores),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    main(args.quick, args.postgres)
