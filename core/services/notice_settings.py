"""Use cases of `/notify` and `/timezone`: read and change a workspace's notice settings.

A change of quiet hours or zone moves the workspace's pending notices in the same unit of
work, so none waits on a window the workspace no longer keeps; reminders or receipts turned
off need nothing here, since the send-time check reads the flags (`NoticeSettings.wants`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Action, Actor
from core.model import OutboxNotice, Workspace
from core.notice_settings import NoticeSettings, canonical_zone, quiet_of
from core.quiet_hours import QuietHours, send_time
from core.services.context import Context, audit, authorize, get_workspace
from core.states import NoticeState


def settings_of(workspace: Workspace) -> NoticeSettings:
    return NoticeSettings(
        reminders_on=workspace.reminders_on,
        receipts_on=workspace.receipts_on,
        quiet=quiet_of(workspace.quiet_from, workspace.quiet_until),
        timezone=workspace.timezone or "UTC",
    )


async def stored_settings(session: AsyncSession, workspace_id: int) -> NoticeSettings:
    """The settings as stored, for code that already owns a session (the sender's check)."""
    return settings_of(await get_workspace(session, workspace_id))


async def notice_settings(ctx: Context, actor: Actor, workspace_id: int) -> NoticeSettings:
    """What `/notify` and `/timezone` show; any member may read them, only billing admins
    change them (the chats refuse members before showing them)."""
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        return await stored_settings(session, workspace_id)


async def set_reminders(ctx: Context, actor: Actor, workspace_id: int, on: bool) -> NoticeSettings:
    return await _change(ctx, actor, workspace_id, {"reminders_on": on})


async def set_receipts(ctx: Context, actor: Actor, workspace_id: int, on: bool) -> NoticeSettings:
    return await _change(ctx, actor, workspace_id, {"receipts_on": on})


async def set_quiet_hours(
    ctx: Context, actor: Actor, workspace_id: int, quiet: QuietHours | None
) -> NoticeSettings:
    """None turns quiet hours off; pending notices move to the new window (or to now)."""
    start, end = (None, None) if quiet is None else (quiet.start, quiet.end)
    return await _change(ctx, actor, workspace_id, {"quiet_from": start, "quiet_until": end})


async def set_timezone(ctx: Context, actor: Actor, workspace_id: int, name: str) -> NoticeSettings:
    """`name` as typed: refused unless it is an IANA zone (any case); pending notices move."""
    return await _change(ctx, actor, workspace_id, {"timezone": canonical_zone(name)})


_MOVES_NOTICES = frozenset({"quiet_from", "quiet_until", "timezone"})


async def _change(
    ctx: Context, actor: Actor, workspace_id: int, values: dict[str, Any]
) -> NoticeSettings:
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, Action.MANAGE_NOTICES)
        workspace = await get_workspace(session, workspace_id, lock=True)
        before = {name: getattr(workspace, name) for name in values}
        if before == values:
            return settings_of(workspace)
        for name, value in values.items():
            setattr(workspace, name, value)
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            actor=actor,
            action="workspace.notice_settings",
            before=before,
            after=dict(values),
        )
        settings = settings_of(workspace)
        if _MOVES_NOTICES & values.keys():
            await move_pending(session, workspace_id, settings, now)
        return settings


async def move_pending(
    session: AsyncSession, workspace_id: int, settings: NoticeSettings, now: datetime
) -> int:
    """Recompute when each pending notice of the workspace may go out; returns how many moved."""
    rows = await session.execute(
        select(OutboxNotice.id, OutboxNotice.due_at, OutboxNotice.deadline, OutboxNotice.send_after)
        .where(
            OutboxNotice.workspace_id == workspace_id,
            OutboxNotice.state == NoticeState.PENDING,
        )
        .with_for_update()
    )
    zone = settings.zone
    moved = [
        {"id": row.id, "send_after": when}
        for row in rows
        if (when := send_time(row.due_at, settings.quiet, zone, row.deadline, earliest=now))
        != row.send_after
    ]
    if moved:
        await session.execute(update(OutboxNotice), moved)
    return len(moved)
