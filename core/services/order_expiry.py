"""P9: pending quotes past their validity lapse, their chats are told, and their payment links
are withdrawn."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from core import order_lifecycle
from core.model import Order, OrderKind, OrderStatus
from core.order_lifecycle import QUOTE_LAPSED, NotPayable
from core.services.context import Context
from core.services.order_notices import addressed, expired_notice
from core.services.subscriptions import withdraw_links


async def expire_orders(ctx: Context, now: datetime, counts: Counter[str]) -> None:
    """Renewals are left to the sweep's grace-period step; every other kind lapses here."""
    async with ctx.db.unit_of_work() as session:
        stmt = select(Order).where(
            Order.status.in_(order_lifecycle.reached_from(OrderStatus.EXPIRED)),
            Order.kind != OrderKind.RENEWAL,
            Order.expires_at <= now,
        )
        if ctx.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        expired = [
            order
            for order in await session.scalars(stmt)
            if order_lifecycle.payable(order, now) is NotPayable.EXPIRED
        ]
        for order in expired:
            order_lifecycle.move(order, OrderStatus.EXPIRED, now, QUOTE_LAPSED)
        if expired:
            counts["order.expired"] += len(expired)
            # With the expiry, in its unit of work: its chat hears the link is void.
            await ctx.send(await addressed(session, [expired_notice(o) for o in expired]))
    await withdraw_links(ctx, [o.provider_reference for o in expired if o.provider_reference])
