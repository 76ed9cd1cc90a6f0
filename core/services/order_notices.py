"""What an order's or a subscription's chat is told when a use case changes it, addressed
to that chat or, when none started it, to each billing admin (DESIGN section 14).

Their cause happens once (a claimed event, a committed change), so they name no subject and
each is stored as a notice of its own."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.model import Order, Subscription
from core.notice_kinds import CancellationRequested, ChangeScheduled, OrderExpired, OrderReplaced
from core.ports import Notice
from core.services.recipients import billing_admin_chats

Chat = tuple[str | None, str | None]


async def addressed(session: AsyncSession, notices: list[Notice]) -> list[Notice]:
    """Each notice as it is when it names a chat; else one per billing admin who can be
    reached, so no notice is stored without a recipient."""
    admins: dict[int, list[tuple[str, str]]] = {}
    found: list[Notice] = []
    for notice in notices:
        if notice.chat_platform is not None and notice.chat_id is not None:
            found.append(notice)
            continue
        if notice.workspace_id not in admins:
            chats = await billing_admin_chats(session, notice.workspace_id)
            admins[notice.workspace_id] = [(r.platform, r.chat_id) for r in chats]
        found.extend(notice.at(chat) for chat in admins[notice.workspace_id])
    return found


async def subscription_chat(session: AsyncSession, subscription_id: int) -> Chat:
    """Where the subscription's latest order came from (none: its billing admins hear)."""
    latest = await session.scalar(
        select(func.max(Order.id)).where(
            Order.subscription_id == subscription_id, Order.chat_id.is_not(None)
        )
    )
    if latest is None:
        return None, None
    row = (
        await session.execute(select(Order.chat_platform, Order.chat_id).where(Order.id == latest))
    ).one()
    return row[0], row[1]


def replaced_notice(older: Order, newer: Order) -> Notice:
    """The older order's chat: its link is void, and which order replaced it."""
    payload = OrderReplaced(older.reference, older.package, replaced_by=newer.reference)
    return Notice.of(
        payload,
        older.workspace_id,
        (older.chat_platform, older.chat_id),
    )


def expired_notice(order: Order) -> Notice:
    return Notice.of(
        OrderExpired(order.reference, order.package),
        order.workspace_id,
        (order.chat_platform, order.chat_id),
    )


async def cancellation_notice(session: AsyncSession, sub: Subscription) -> Notice:
    """An unsubscribe that takes effect at the period's end, with that end."""
    payload = CancellationRequested(sub.id, sub.package, ends_at=sub.period_end)
    return Notice.of(
        payload,
        sub.workspace_id,
        await subscription_chat(session, sub.id),
    )


async def change_notice(session: AsyncSession, sub: Subscription) -> Notice:
    """A change scheduled for the next renewal (a downgrade), with the day it applies."""
    assert sub.scheduled_package is not None
    payload = ChangeScheduled(
        sub.id,
        sub.package,
        new_package=sub.scheduled_package,
        new_quantity=sub.scheduled_quantity or sub.quantity,
        new_cycle_months=sub.scheduled_cycle_months or sub.cycle_months,
        at=sub.period_end,
    )
    return Notice.of(
        payload,
        sub.workspace_id,
        await subscription_chat(session, sub.id),
    )
