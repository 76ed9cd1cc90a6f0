"""Reminders made by the sweep (DESIGN 14): at their instants in the workspace's zone, out of
quiet hours, to the order's chat or else the billing admins, once whatever the sweeps; moved
or withdrawn when the schedule changes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from core.access import Actor
from core.catalog import Catalog
from core.clock import FixedClock
from core.db import Database
from core.model import Member, OutboxNotice, Workspace
from core.notice_kinds import NoticeKind, RenewalDue, TrialReminder, payload_of
from core.ports import Notice
from core.pricing import Terms, price_per_account
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.staff.requests import Extend, ReasonCode
from core.services.subscriptions import resume, start_trial, unsubscribe
from core.services.sweep import sweep
from core.services.workspaces import create_workspace
from core.states import NoticeState, Role
from tests.conftest import PG_URL, START, fresh_database
from tests.fakes import FakeGateway
from tests.integration.helpers import CHAT, buy, pending_renewal, subscription
from tests.integration.staff import change

TRIAL_END = START + timedelta(days=14)
MONTHLY = Terms("cc1", 1, 2)
OWNER_CHAT = ("telegram", "1001")
ADMIN_CHAT = ("slack", "U-ADMIN")


@pytest.fixture
def outbox(ctx: Context, clock: FixedClock) -> Context:
    return Context(ctx.db, ctx.catalog, clock, ctx.gateway, OutboxNotifier(ctx.db, clock))


async def _rows(ctx: Context, kind: str | None = None) -> list[OutboxNotice]:
    async with ctx.db.read() as session:
        stmt = select(OutboxNotice).order_by(OutboxNotice.id)
        if kind is not None:
            stmt = stmt.where(OutboxNotice.kind == kind)
        return list(await session.scalars(stmt))


async def _add_admin(ctx: Context, workspace_id: int) -> None:
    async with ctx.db.unit_of_work() as session:
        session.add(
            Member(
                workspace_id=workspace_id,
                platform=ADMIN_CHAT[0],
                user_id=ADMIN_CHAT[1],
                role=Role.ADMIN,
                created_at=START,
            )
        )


async def _settings(ctx: Context, workspace_id: int, **values: object) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(Workspace).where(Workspace.id == workspace_id).values(values))


def _chats(rows: list[OutboxNotice]) -> set[tuple[str | None, str | None]]:
    return {(r.chat_platform, r.chat_id) for r in rows}


async def test_trial_reminders_reach_each_billing_admin_3_days_and_1_day_before_the_end(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await _add_admin(outbox, workspace_id)
    sub_id = await start_trial(outbox, owner, workspace_id, "cc2")
    assert (await sweep(outbox))[NoticeKind.TRIAL_REMINDER] == 0

    clock.set(TRIAL_END - timedelta(days=3))
    assert (await sweep(outbox))[NoticeKind.TRIAL_REMINDER] == 1
    first = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert _chats(first) == {OWNER_CHAT, ADMIN_CHAT}
    assert {r.due_at for r in first} == {TRIAL_END - timedelta(days=3)}
    assert {r.send_after for r in first} == {TRIAL_END - timedelta(days=3)}
    assert {r.deadline for r in first} == {TRIAL_END}
    assert payload_of(first[0].kind, first[0].data) == TrialReminder(sub_id, "cc2", TRIAL_END, 10)

    clock.set(TRIAL_END - timedelta(days=1))
    await sweep(outbox)
    clock.set(TRIAL_END)
    await sweep(outbox)
    rows = await _rows(outbox)
    assert Counter(r.kind for r in rows) == Counter({"trial.reminder": 4, "trial.ended": 2})
    assert _chats([r for r in rows if r.kind == "trial.ended"]) == {OWNER_CHAT, ADMIN_CHAT}
    assert all(r.chat_id is not None for r in rows)


async def test_repeated_sweeps_store_one_row_per_reminder(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await start_trial(outbox, owner, workspace_id, "cc2")
    for hours in range(0, 72, 7):
        clock.set(TRIAL_END - timedelta(days=3) + timedelta(hours=hours))
        await sweep(outbox)
        await sweep(outbox)
    rows = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert [r.due_at for r in rows] == [
        TRIAL_END - timedelta(days=3),
        TRIAL_END - timedelta(days=1),
    ]


async def test_a_trial_with_less_left_than_its_reminders_is_reminded_once_at_once(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await start_trial(outbox, owner, workspace_id, "cc2")
    # The sweep did not run until 14 hours before the end (20:00): one reminder, not two.
    late = TRIAL_END - timedelta(hours=14)
    clock.set(late)
    await sweep(outbox)
    await sweep(outbox)
    [row] = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert (row.due_at, row.send_after) == (TRIAL_END - timedelta(days=1), late)


async def test_renewal_reminders_go_to_the_orders_chat_in_the_workspaces_zone(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await _settings(outbox, workspace_id, timezone="Asia/Ho_Chi_Minh", quiet_from=None)
    await buy(outbox, owner, workspace_id, MONTHLY)
    sub = await subscription(outbox, workspace_id, "cc1")
    assert sub.period_end is not None
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    for days in (7, 1):
        local = sub.period_end.astimezone(zone)
        due = datetime.combine(local.date() - timedelta(days=days), local.time(), zone)
        clock.set(due - timedelta(seconds=1))
        await sweep(outbox)
        clock.set(due)
        await sweep(outbox)
    rows = await _rows(outbox, NoticeKind.RENEWAL_REMINDER)
    assert [(r.due_at, r.chat_platform, r.chat_id) for r in rows] == [
        (sub.period_end - timedelta(days=7), CHAT.platform, CHAT.chat_id),
        (sub.period_end - timedelta(days=1), CHAT.platform, CHAT.chat_id),
    ]
    price = price_per_account(outbox.catalog, "cc1", 1).minor * MONTHLY.quantity
    assert (rows[0].data["amount"], rows[0].data["currency"]) == (price, "USD")


async def test_a_reminder_due_in_quiet_hours_goes_when_they_end(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    # The trial ends 10:00 UTC = 17:00 in Saigon; 22:00-07:00 there is 15:00-00:00 UTC.
    await _settings(outbox, workspace_id, timezone="Asia/Ho_Chi_Minh", quiet_from=16 * 60)
    await start_trial(outbox, owner, workspace_id, "cc2")
    clock.set(TRIAL_END - timedelta(days=3))
    await sweep(outbox)
    [row] = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    # 17:00 local is inside 16:00-07:00: it waits until 07:00 local, 00:00 UTC.
    assert row.due_at == TRIAL_END - timedelta(days=3)
    assert row.send_after == datetime(2026, 1, 27, 0, 0, tzinfo=UTC)


async def test_an_extended_trial_withdraws_its_pending_reminder_and_moves_the_next(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    sub_id = await start_trial(outbox, owner, workspace_id, "cc2")
    clock.set(TRIAL_END - timedelta(days=3))
    await sweep(outbox)
    await change(outbox, Extend(workspace_id, sub_id, 7), reason=ReasonCode.OTHER, comment="x")

    [old] = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert (old.state, old.error) == (NoticeState.SUPPRESSED, "trial extended by support")
    clock.set(TRIAL_END - timedelta(days=1))
    assert (await sweep(outbox))[NoticeKind.TRIAL_REMINDER] == 0
    new_end = TRIAL_END + timedelta(days=7)
    clock.set(new_end - timedelta(days=3))
    await sweep(outbox)
    rows = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert [(r.due_at, r.state) for r in rows] == [
        (TRIAL_END - timedelta(days=3), NoticeState.SUPPRESSED),
        (new_end - timedelta(days=3), NoticeState.PENDING),
    ]
    assert rows[1].data["trial_ends_at"].startswith(new_end.date().isoformat())


async def test_a_cancellation_withdraws_renewal_reminders_and_resume_brings_them_back(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(outbox, owner, workspace_id, MONTHLY)
    sub = await subscription(outbox, workspace_id, "cc1")
    assert sub.period_end is not None
    clock.set(sub.period_end - timedelta(days=7))
    await sweep(outbox)
    await unsubscribe(outbox, owner, workspace_id, sub.id)

    [week] = await _rows(outbox, NoticeKind.RENEWAL_REMINDER)
    assert (week.state, week.error) == (NoticeState.SUPPRESSED, "set to end at its period end")
    clock.set(sub.period_end - timedelta(days=1))
    assert (await sweep(outbox))[NoticeKind.RENEWAL_REMINDER] == 0

    await resume(outbox, owner, workspace_id, sub.id)
    await sweep(outbox)
    rows = await _rows(outbox, NoticeKind.RENEWAL_REMINDER)
    assert [(r.due_at, r.state) for r in rows] == [
        (sub.period_end - timedelta(days=7), NoticeState.SUPPRESSED),
        (sub.period_end - timedelta(days=1), NoticeState.PENDING),
    ]


async def test_paying_during_the_trial_withdraws_its_pending_reminder(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await start_trial(outbox, owner, workspace_id, "cc2")
    clock.set(TRIAL_END - timedelta(days=1))
    await sweep(outbox)
    await buy(outbox, owner, workspace_id, Terms("cc2", 1, 1))
    [row] = await _rows(outbox, NoticeKind.TRIAL_REMINDER)
    assert row.state == NoticeState.SUPPRESSED and row.error is not None
    assert row.error.endswith("paid")


async def test_renewal_due_names_the_order_its_amount_and_the_grace_deadline(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await buy(outbox, owner, workspace_id, MONTHLY)
    sub = await subscription(outbox, workspace_id, "cc1")
    assert sub.period_end is not None
    clock.set(sub.period_end)
    await sweep(outbox)
    renewal = await pending_renewal(outbox, sub.id)
    [row] = await _rows(outbox, NoticeKind.RENEWAL_DUE)
    payload = payload_of(row.kind, row.data)
    grace_until = sub.period_end + timedelta(days=outbox.catalog.grace_days)
    assert payload == RenewalDue(
        sub.id,
        "cc1",
        order=renewal.reference,
        amount=renewal.due_now,
        currency="USD",
        deadline=grace_until,
        quantity=MONTHLY.quantity,
        cycle_months=1,
    )
    assert (row.chat_platform, row.chat_id) == (CHAT.platform, CHAT.chat_id)
    assert (row.subject, row.due_at, row.deadline) == (
        f"subscription:{sub.id}",
        sub.period_end,
        grace_until,
    )
    # A day into grace, then the day before suspension: dunning reminders with the order.
    clock.set(sub.period_end + timedelta(days=1))
    await sweep(outbox)
    clock.set(grace_until - timedelta(days=1))
    await sweep(outbox)
    grace = await _rows(outbox, NoticeKind.GRACE_REMINDER)
    assert [r.due_at for r in grace] == [
        sub.period_end + timedelta(days=1),
        grace_until - timedelta(days=1),
    ]
    assert all(r.data["order"] == renewal.reference for r in grace)


async def test_reminders_turned_off_stop_renewal_reminders_but_not_dunning(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await _settings(outbox, workspace_id, reminders_on=False)
    await buy(outbox, owner, workspace_id, MONTHLY)
    sub = await subscription(outbox, workspace_id, "cc1")
    assert sub.period_end is not None
    for moment in (timedelta(days=-7), timedelta(days=-1), timedelta(0), timedelta(days=1)):
        clock.set(sub.period_end + moment)
        await sweep(outbox)
    kinds = Counter(r.kind for r in await _rows(outbox))
    assert kinds["renewal.reminder"] == 0
    assert kinds["grace.reminder"] == 1 and kinds["renewal.due"] == 1


async def test_a_workspace_nobody_can_be_reached_in_gets_no_rowless_chat(
    outbox: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    await start_trial(outbox, owner, workspace_id, "cc2")
    async with outbox.db.unit_of_work() as session:
        await session.execute(
            update(Member).where(Member.workspace_id == workspace_id).values(platform="web")
        )
    clock.set(TRIAL_END - timedelta(days=1))
    report = await sweep(outbox)
    assert report["reminder.unreachable"] == 1
    assert await _rows(outbox) == []


needs_postgres = pytest.mark.skipif(PG_URL is None, reason="PLANBOT_TEST_DATABASE_URL is not set")


@needs_postgres
async def test_two_sweeps_at_once_on_postgresql_store_one_row_per_reminder(
    tmp_path: Path, catalog: Catalog, clock: FixedClock
) -> None:
    first = await fresh_database("postgres", tmp_path)
    second = Database.from_url(first.engine.url.render_as_string(hide_password=False))
    a, b = (
        Context(db, catalog, clock, FakeGateway(), OutboxNotifier(db, clock))
        for db in (first, second)
    )
    try:
        trials = []
        for n in range(12):
            owner = Actor("telegram", f"{3000 + n}")
            workspace_id = await create_workspace(a, owner, f"T{n}")
            trials.append(await start_trial(a, owner, workspace_id, "cc2"))
        clock.set(TRIAL_END - timedelta(days=1))
        barrier = asyncio.Barrier(2)

        async def swept(ctx: Context) -> int:
            await barrier.wait()
            return (await sweep(ctx, batch_size=2))[NoticeKind.TRIAL_REMINDER]

        made = await asyncio.gather(swept(a), swept(b))
        assert sum(made) == len(trials)
        rows = await _rows(a, NoticeKind.TRIAL_REMINDER)
        assert Counter(r.subject for r in rows) == Counter(f"subscription:{i}" for i in trials)
    finally:
        await second.dispose()
        await first.dispose()


@needs_postgres
async def test_the_same_reminder_written_by_two_connections_at_once_is_one_row(
    tmp_path: Path, catalog: Catalog, clock: FixedClock
) -> None:
    first = await fresh_database("postgres", tmp_path)
    second = Database.from_url(first.engine.url.render_as_string(hide_password=False))
    try:
        owner = Actor("telegram", "3100")
        ctx = Context(first, catalog, clock, FakeGateway(), OutboxNotifier(first, clock))
        workspace_id = await create_workspace(ctx, owner, "Both")
        due = TRIAL_END - timedelta(days=1)
        notice = Notice.of(
            TrialReminder(1, "cc2", TRIAL_END),
            workspace_id,
            OWNER_CHAT,
            subject="subscription:1",
            due_at=due,
            deadline=TRIAL_END,
        )
        barrier = asyncio.Barrier(2)

        async def write(db: Database) -> None:
            async with db.unit_of_work() as session:
                await session.execute(select(1))
                await barrier.wait()
                await OutboxNotifier(db, clock).notify_all([notice])

        await asyncio.gather(write(first), write(second))
        rows = await _rows(ctx)
        assert [(r.kind, r.subject, r.due_at) for r in rows] == [
            ("trial.reminder", "subscription:1", due)
        ]
    finally:
        await second.dispose()
        await first.dispose()
