"""One audited change to one subscription: authorize, lock, change, record before and after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import lifecycle
from core.access import Action, Actor
from core.model import Subscription
from core.services.context import Context, audit, authorize, get_subscription


@dataclass(frozen=True, slots=True)
class Change:
    session: AsyncSession
    subscription: Subscription
    now: datetime


@asynccontextmanager
async def subscription_change(
    ctx: Context,
    actor: Actor,
    workspace_id: int,
    subscription_id: int,
    *,
    permission: Action,
    action: str,
    reason: str | None = None,
) -> AsyncIterator[Change]:
    """The block checks and changes; a refusal raised in it leaves no audit entry behind."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, actor, permission)
        sub = await get_subscription(session, workspace_id, subscription_id, lock=True)
        before = lifecycle.snapshot(sub)
        yield Change(session, sub, now)
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            subscription_id=sub.id,
            actor=actor,
            action=action,
            before=before,
            after=lifecycle.snapshot(sub),
            reason=reason,
        )
