"""P9: pending quotes past their validity lapse, and their payment links are withdrawn."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from core.model import Order, OrderKind, OrderStatus
from core.services.context import Context
from core.services.subscriptions import withdraw_links


async def expire_orders(ctx: Context, now: datetime, counts: Counter[str]) -> None:
    """Renewals are left to the sweep's grace-period step; every other kind lapses here."""
    async with ctx.db.unit_of_work() as session:
        stmt = select(Order).where(
            Order.status == OrderStatus.PENDING.value,
            Order.kind != OrderKind.RENEWAL.value,
            Order.expires_at <= now,
        )
        if ctx.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        expired = list(await session.scalars(stmt))
        for order in expired:
            order.status, order.closed_at, order.close_reason = (
                OrderStatus.EXPIRED.value,
                now,
                "quote validity ended",
            )
        if expired:
            counts["order.expired"] += len(expired)
    await withdraw_links(ctx, [o.provider_reference for o in expired if o.provider_reference])
