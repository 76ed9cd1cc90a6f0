"""`planbot sandbox pay` and `planbot serve`, run in-process against a migrated SQLite file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from adapters import cli, launch
from adapters.launch import Launch
from adapters.sandbox import SandboxGateway
from adapters.settings import Settings
from core.access import Actor
from core.catalog import load_catalog
from core.clock import FixedClock
from core.db import Database
from core.migrate import upgrade
from core.pricing import Terms
from core.services.context import Context
from core.services.orders import PlacedOrder, place_order
from core.services.outbox import OutboxNotifier
from core.services.workspaces import create_workspace
from tests.conftest import START
from tests.integration.helpers import CHAT

OWNER = Actor("telegram", "1001")
PUBLIC_URL = "http://127.0.0.1:8000"
CC2_12_100 = Terms("cc2", 12, 100)
NOW = "2026-01-15T10:05:00Z"  # five minutes after the orders below are placed


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database the command line is pointed at, from an empty directory."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PLANBOT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    path = tmp_path / "planbot.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PLANBOT_CLOCK", NOW)
    return path


def place(path: Path, terms: Terms = CC2_12_100) -> PlacedOrder:
    """Place an order through the services, as a chat would, on the command line's database."""

    async def go() -> PlacedOrder:
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        clock = FixedClock(START)
        ctx = Context(
            db=db,
            catalog=load_catalog(),
            clock=clock,
            gateway=SandboxGateway(PUBLIC_URL),
            notifier=OutboxNotifier(db, clock),
        )
        try:
            ws = await create_workspace(ctx, OWNER, "Acme Support")
            return await place_order(ctx, OWNER, ws, terms, chat=CHAT)
        finally:
            await db.dispose()

    return asyncio.run(go())


def query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return list(connection.execute(sql, params))


def sandbox_pay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["sandbox", "pay", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_paying_twice_fulfils_once_by_reference_or_by_link(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    placed = place(db_file)
    assert placed.payment_link == f"{PUBLIC_URL}/sandbox/checkout/{placed.reference}"
    first = sandbox_pay(capsys, placed.reference)
    again = sandbox_pay(capsys, f"  {placed.payment_link}/ ")
    assert first[0] == 0 and first[2] == ""
    assert first[1].count("\n") == 1 and "payment applied" in first[1]
    assert again[0] == 0 and again[2] == ""
    assert again[1].count("\n") == 1 and "already paid" in again[1]
    assert query(db_file, "SELECT provider, provider_payment_id, amount FROM payments") == [
        ("sandbox", f"sandbox-{placed.reference}", 2_550_000)
    ]
    assert query(db_file, "SELECT status FROM orders") == [("paid",)]
    assert query(
        db_file, "SELECT state, quantity, terms_version, period_start FROM subscriptions"
    ) == [("active", 100, 2, "2026-01-15 10:05:00.000000")]
    assert query(db_file, "SELECT kind, chat_platform, chat_id FROM outbox") == [
        ("payment.succeeded", CHAT.platform, CHAT.chat_id)
    ]


def test_fail_leaves_the_order_payable_and_paying_it_then_works(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    placed = place(db_file)
    status, out, err = sandbox_pay(capsys, placed.reference, "--fail")
    assert (status, err) == (0, "")
    assert out.count("\n") == 1 and "payment failed" in out and "the same link" in out
    assert query(db_file, "SELECT status FROM orders") == [("pending",)]
    assert query(db_file, "SELECT count(*) FROM payments") == [(0,)]
    assert query(db_file, "SELECT count(*) FROM subscriptions") == [(0,)]
    assert query(db_file, "SELECT kind FROM outbox") == [("payment.failed",)]
    # The same order is paid on a second attempt.
    status, out, err = sandbox_pay(capsys, placed.payment_link or "")
    assert (status, err) == (0, "")
    assert "payment applied" in out
    assert query(db_file, "SELECT status FROM orders") == [("paid",)]
    assert query(db_file, "SELECT count(*) FROM payments") == [(1,)]


@pytest.mark.parametrize(
    "order",
    ["ord_0000000000000000", f"{PUBLIC_URL}/sandbox/checkout/ord_0000000000000000"],
)
def test_an_unknown_order_is_one_error_line(
    db_file: Path, capsys: pytest.CaptureFixture[str], order: str
) -> None:
    status, out, err = sandbox_pay(capsys, order)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("planbot sandbox pay: error: ") and "no sandbox order" in err


@pytest.mark.parametrize(
    "args",
    [
        ["not a reference"],
        [f"{PUBLIC_URL}/elsewhere/ord_0000000000000000"],
        [""],
        [],
        ["ord_1", "--bogus"],
    ],
)
def test_malformed_arguments_are_one_error_line(
    db_file: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    status, out, err = sandbox_pay(capsys, *args)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and "error" in err


def test_an_expired_order_is_not_payable(
    db_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = place(db_file)
    monkeypatch.setenv("PLANBOT_CLOCK", "2026-01-15T11:00:00Z")
    for extra in ([], ["--fail"]):
        status, out, err = sandbox_pay(capsys, placed.reference, *extra)
        assert (status, out) == (2, "")
        assert err.count("\n") == 1 and "expired" in err
    assert query(db_file, "SELECT status FROM orders") == [("pending",)]
    assert query(db_file, "SELECT count(*) FROM payments") == [(0,)]
    assert query(db_file, "SELECT count(*) FROM outbox") == [(0,)]


def test_serve_migrates_announces_the_clock_and_serves_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PLANBOT_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    path = tmp_path / "fresh.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("PLANBOT_CLOCK", NOW)
    monkeypatch.setenv("PLANBOT_HOST", "0.0.0.0")
    monkeypatch.setenv("PLANBOT_PORT", "8123")
    monkeypatch.setenv("PLANBOT_PUBLIC_URL", "https://billing.example.test/")
    served: list[tuple[Context, str, int, list[Launch]]] = []

    async def fake_run(
        ctx: Context, settings: Settings, launches: list[Launch], *, quiet: bool = True
    ) -> None:
        served.append((ctx, settings.PLANBOT_HOST, settings.PLANBOT_PORT, launches))

    monkeypatch.setattr(launch, "run_launches", fake_run)
    assert cli.main(["serve"]) == 0
    _, err = capsys.readouterr()
    assert "PLANBOT_CLOCK is set: planbot's clock is frozen at 2026-01-15T10:05:00Z" in err
    ((ctx, host, port, launches),) = served
    assert (host, port, launches) == ("0.0.0.0", 8123, [])
    assert isinstance(ctx.gateway, SandboxGateway)
    assert ctx.gateway.link("ord_1") == "https://billing.example.test/sandbox/checkout/ord_1"
    assert isinstance(ctx.notifier, OutboxNotifier)
    tables = {row[0] for row in query(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"orders", "payments", "outbox"} <= tables
