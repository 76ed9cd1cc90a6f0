"""A workspace's notice settings (DESIGN 14): a change of quiet hours or zone moves its
pending notices; reminders and receipts turned off are stored where the send-time check reads
them; a member's attempt and bad input change nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from core.access import Actor, StaffTier
from core.errors import InvalidRequest, NotAllowed
from core.model import AuditEntry, OutboxNotice, Workspace
from core.notice_kinds import NoticeKind, TrialReminder
from core.ports import Notice
from core.quiet_hours import QuietHours, send_time
from core.services.context import Context
from core.services.notice_settings import (
    notice_settings,
    set_quiet_hours,
    set_receipts,
    set_reminders,
    set_timezone,
    stored_settings,
)
from core.services.outbox import OutboxNotifier
from core.services.workspaces import add_member, create_workspace
from core.states import NoticeState, Role
from tests.conftest import at

DUE = at("2026-01-16T23:00:00Z")
"""Inside the default quiet hours (22:00-07:00 UTC)."""
CHAT = ("telegram", "1001")


async def queued(
    ctx: Context, workspace_id: int, due: datetime = DUE, deadline: datetime | None = None
) -> int:
    """A trial reminder stored as the sweep stores it: deferred out of the quiet hours."""
    settings = await notice_settings(ctx, Actor.system(), workspace_id)
    notice = Notice.of(
        TrialReminder(1, "cc1", deadline or at("2026-01-20T10:00:00Z")),
        workspace_id,
        CHAT,
        subject=f"subscription:{workspace_id}",
        due_at=due,
        send_after=send_time(due, settings.quiet, settings.zone, deadline, ctx.clock.now()),
        deadline=deadline,
    )
    await OutboxNotifier(ctx.db, ctx.clock).notify(notice)
    async with ctx.db.read() as session:
        found = await session.scalar(
            select(OutboxNotice.id)
            .where(OutboxNotice.workspace_id == workspace_id)
            .order_by(OutboxNotice.id.desc())
        )
    assert found is not None
    return found


async def send_after(ctx: Context, notice_id: int) -> datetime:
    async with ctx.db.read() as session:
        row = await session.get(OutboxNotice, notice_id)
        assert row is not None
        return row.send_after


async def test_a_deferred_notice_moves_when_the_window_changes_and_when_it_is_turned_off(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    notice = await queued(ctx, workspace_id)
    assert await send_after(ctx, notice) == at("2026-01-17T07:00:00Z")
    await set_quiet_hours(ctx, owner, workspace_id, QuietHours(20 * 60, 6 * 60))
    assert await send_after(ctx, notice) == at("2026-01-17T06:00:00Z")
    await set_quiet_hours(ctx, owner, workspace_id, None)
    assert await send_after(ctx, notice) == DUE
    await set_quiet_hours(ctx, owner, workspace_id, QuietHours(22 * 60, 7 * 60))
    assert await send_after(ctx, notice) == at("2026-01-17T07:00:00Z")


async def test_a_new_zone_moves_the_window_and_the_notices_in_it(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    notice = await queued(ctx, workspace_id)
    settings = await set_timezone(ctx, owner, workspace_id, "asia/ho_chi_minh")
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    # 23:00 UTC is 06:00 in Ho Chi Minh City, inside 22:00-07:00 there: out at 07:00 (+07).
    assert await send_after(ctx, notice) == at("2026-01-17T00:00:00Z")
    await set_timezone(ctx, owner, workspace_id, "America/New_York")
    # 23:00 UTC is 18:00 in New York, outside the window: out when due.
    assert await send_after(ctx, notice) == DUE


async def test_a_notice_whose_deadline_falls_in_the_window_goes_before_it_then_back_when_due(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    deadline = at("2026-01-17T03:00:00Z")
    notice = await queued(ctx, workspace_id, deadline=deadline)
    assert await send_after(ctx, notice) == at("2026-01-16T21:59:00Z")
    await set_quiet_hours(ctx, owner, workspace_id, None)
    assert await send_after(ctx, notice) == DUE
    await set_quiet_hours(ctx, owner, workspace_id, QuietHours(23 * 60 + 30, 6 * 60))
    assert await send_after(ctx, notice) == DUE  # due before the window opens


async def test_only_the_workspaces_pending_notices_move(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    other = await create_workspace(ctx, Actor("telegram", "3003"), "Other")
    theirs = await queued(ctx, other)
    sent = await queued(ctx, workspace_id, due=at("2026-01-15T23:00:00Z"))
    pending = await queued(ctx, workspace_id)
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            update(OutboxNotice).where(OutboxNotice.id == sent).values(state=NoticeState.SENT)
        )
    await set_quiet_hours(ctx, owner, workspace_id, None)
    assert await send_after(ctx, pending) == DUE
    assert await send_after(ctx, sent) == at("2026-01-16T07:00:00Z")
    assert await send_after(ctx, theirs) == at("2026-01-17T07:00:00Z")


async def test_switches_are_stored_where_the_send_time_check_reads_them(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    notice = await queued(ctx, workspace_id)
    await set_reminders(ctx, owner, workspace_id, False)
    await set_receipts(ctx, owner, workspace_id, False)
    async with ctx.db.read() as session:
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        assert (workspace.reminders_on, workspace.receipts_on) == (False, False)
        stored = await stored_settings(session, workspace_id)
    assert not stored.wants(NoticeKind.TRIAL_REMINDER)
    assert not stored.wants(NoticeKind.PAYMENT_SUCCEEDED)
    assert stored.wants(NoticeKind.RENEWAL_DUE) and stored.wants(NoticeKind.STAFF_CHANGED)
    assert await send_after(ctx, notice) == at("2026-01-17T07:00:00Z")  # left for the check
    await set_reminders(ctx, owner, workspace_id, True)
    async with ctx.db.read() as session:
        assert (await stored_settings(session, workspace_id)).wants(NoticeKind.TRIAL_REMINDER)


async def test_each_change_is_audited_and_a_change_to_the_same_value_is_not(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await set_reminders(ctx, owner, workspace_id, False)
    await set_reminders(ctx, owner, workspace_id, False)
    await set_timezone(ctx, owner, workspace_id, "UTC")
    async with ctx.db.read() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "workspace.notice_settings")
            )
        )
    assert [(e.before, e.after, e.actor) for e in entries] == [
        ({"reminders_on": True}, {"reminders_on": False}, owner.label)
    ]


async def test_a_member_may_not_change_the_settings_and_nothing_changes(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    member = Actor("telegram", "2002")
    await add_member(ctx, owner, workspace_id, member, Role.MEMBER)
    notice = await queued(ctx, workspace_id)
    for attempt in (
        set_reminders(ctx, member, workspace_id, False),
        set_quiet_hours(ctx, member, workspace_id, None),
        set_timezone(ctx, member, workspace_id, "Asia/Ho_Chi_Minh"),
    ):
        with pytest.raises(NotAllowed):
            await attempt
    settings = await notice_settings(ctx, member, workspace_id)
    assert settings.reminders_on and settings.quiet == QuietHours()
    assert settings.timezone == "UTC"
    assert await send_after(ctx, notice) == at("2026-01-17T07:00:00Z")


async def test_outsiders_and_support_staff_may_not_change_a_workspaces_settings(
    ctx: Context, workspace_id: int
) -> None:
    for stranger in (Actor("telegram", "9", StaffTier.MANAGER), Actor("telegram", "4004")):
        with pytest.raises(NotAllowed):
            await set_reminders(ctx, stranger, workspace_id, False)
    with pytest.raises(NotAllowed):
        await notice_settings(ctx, Actor("telegram", "4004"), workspace_id)
    assert (await notice_settings(ctx, Actor.system(), workspace_id)).reminders_on


@pytest.mark.parametrize("typed", ["Mars/Base", "x" * 10_240, "Asia/Ho_Chi_Minh\x07", ""])
async def test_a_zone_that_is_not_one_changes_nothing(
    ctx: Context, owner: Actor, workspace_id: int, typed: str
) -> None:
    notice = await queued(ctx, workspace_id)
    with pytest.raises(InvalidRequest):
        await set_timezone(ctx, owner, workspace_id, typed)
    assert (await notice_settings(ctx, owner, workspace_id)).timezone == "UTC"
    assert await send_after(ctx, notice) == at("2026-01-17T07:00:00Z")
