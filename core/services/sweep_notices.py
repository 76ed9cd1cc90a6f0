"""Who the sweep's notices reach and when they may go (DESIGN 14): the chat of the
subscription's last order, else every reachable billing admin; out of the workspace's quiet
hours. Read for a whole batch at once, so a sweep of many rows costs a few queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.model import Order, Workspace
from core.ports import Notice
from core.quiet_hours import QuietHours, send_time
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from core.services.recipients import billing_admin_chats_of

Chat = tuple[str, str]
_WORKSPACES = cast(Table, Workspace.__table__)
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Place:
    """A workspace's zone, quiet hours and reminder setting, as its notices need them."""

    zone: ZoneInfo
    quiet: QuietHours | None
    reminders_on: bool = True


@lru_cache(maxsize=4096)
def place_of(
    timezone: str | None, quiet_from: int | None, quiet_until: int | None, reminders_on: bool
) -> Place:
    """A stored setting the rules cannot read (an unknown zone) falls back to the default."""
    try:
        zone = ZoneInfo(timezone) if timezone else UTC_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC_ZONE
    quiet = None
    if quiet_from is not None and quiet_until is not None:
        try:
            quiet = QuietHours(quiet_from, quiet_until)
        except ValueError:
            quiet = QuietHours()
    return Place(zone, quiet, bool(reminders_on))


async def workspace_place(session: AsyncSession, workspace_id: int) -> Place:
    found = (
        await session.execute(select(*PLACE_COLUMNS).where(_WORKSPACES.c.id == workspace_id))
    ).first()
    return Place(UTC_ZONE, QuietHours()) if found is None else place_of(*found)


PLACE_COLUMNS = (
    _WORKSPACES.c.timezone,
    _WORKSPACES.c.quiet_from,
    _WORKSPACES.c.quiet_until,
    _WORKSPACES.c.reminders_on,
)
"""The workspace columns place_of reads, for a claim statement to select alongside."""


async def last_order_chats(
    session: AsyncSession, subscription_ids: Iterable[int]
) -> dict[int, Chat]:
    """Where each subscription's latest order with a chat came from."""
    ids = list(subscription_ids)
    if not ids:
        return {}
    last = (
        select(func.max(Order.id))
        .where(Order.subscription_id.in_(ids), Order.chat_id.is_not(None))
        .group_by(Order.subscription_id)
    )
    found: dict[int, Chat] = {}
    for sub_id, platform, chat_id in await session.execute(
        select(Order.subscription_id, Order.chat_platform, Order.chat_id).where(
            Order.id.in_(last.scalar_subquery())
        )
    ):
        if sub_id is not None and platform is not None and chat_id is not None:
            found[sub_id] = (platform, chat_id)
    return found


@dataclass
class Recipients:
    """A batch's recipients: each subscription's order chat, each workspace's admins."""

    chats: dict[int, Chat]
    admins: dict[int, list[Chat]]

    @classmethod
    async def load(cls, session: AsyncSession, rows: Iterable[tuple[int, int]]) -> Recipients:
        """For (subscription id, workspace id) pairs; admins only where no order chat is."""
        pairs = list(rows)
        chats = await last_order_chats(session, [sub_id for sub_id, _ in pairs])
        orphans = {wid for sub_id, wid in pairs if sub_id not in chats}
        admins = await billing_admin_chats_of(session, orphans)
        return cls(
            chats,
            {wid: [(r.platform, r.chat_id) for r in found] for wid, found in admins.items()},
        )

    def of(self, subscription_id: int, workspace_id: int) -> list[Chat]:
        """The order's chat, else every reachable billing admin (maybe nobody)."""
        chat = self.chats.get(subscription_id)
        return [chat] if chat is not None else list(self.admins.get(workspace_id, []))


def addressed(
    payload: object,
    workspace_id: int,
    chats: list[Chat],
    place: Place,
    now: datetime,
    *,
    subject: str,
    due_at: datetime,
    deadline: datetime | None = None,
    send_after: datetime | None = None,
) -> list[Notice]:
    """One notice per recipient, keyed by (kind, subject, due instant, chat); it goes out of
    quiet hours (before them when their end is too late for `deadline`), never in the past."""
    if send_after is None:
        send_after = send_time(max(due_at, now), place.quiet, place.zone, deadline, now)
    return [
        Notice.of(
            payload,
            workspace_id,
            chat,
            subject=subject,
            due_at=due_at,
            send_after=send_after,
            deadline=deadline,
        )
        for chat in chats
    ]


async def store_notices(ctx: Context, notices: list[Notice]) -> None:
    """In the caller's transaction: the outbox takes a whole batch in one statement."""
    if isinstance(ctx.notifier, OutboxNotifier):
        await ctx.notifier.notify_all(notices)
    else:
        await ctx.send(notices)


def subject_of_subscription(subscription_id: int) -> str:
    return f"subscription:{subscription_id}"
