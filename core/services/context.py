"""What every use case needs: the database, the catalog, a clock and the outside ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core import lifecycle
from core.access import Action, Actor, require
from core.catalog import Catalog
from core.clock import Clock
from core.db import Database, is_read_session
from core.errors import NotFound
from core.model import AuditEntry, Member, Subscription, Workspace
from core.mrr import snapshot_terms
from core.ports import Notice, Notifier, PaymentGateway, RecordingNotifier
from core.pricing import Terms
from core.staff import StaffDirectory
from core.states import InactiveReason, SubscriptionState


@dataclass
class Context:
    db: Database
    catalog: Catalog
    clock: Clock
    gateway: PaymentGateway | None = None
    notifier: Notifier = field(default_factory=RecordingNotifier)
    staff: StaffDirectory = field(default_factory=StaffDirectory)
    """The vendor's support staff, their chats and the second-approval threshold."""

    async def send(self, notices: list[Notice]) -> None:
        for notice in notices:
            await self.notifier.notify(notice)


_KNOWN_ROLES: ContextVar[dict[tuple[int, str, str], str | None] | None] = ContextVar(
    "planbot-known-roles", default=None
)


@contextmanager
def roles_known() -> Iterator[None]:
    """For one update: roles read with the conversation serve its read-only checks."""
    token = _KNOWN_ROLES.set({})
    try:
        yield
    finally:
        _KNOWN_ROLES.reset(token)


def remember_role(workspace_id: int, actor: Actor, role: str | None) -> None:
    """Keep a role already read (with the conversation, say) for this update's reads."""
    known = _KNOWN_ROLES.get()
    if known is not None:
        known[(workspace_id, actor.platform, actor.user_id)] = role


@event.listens_for(Session, "before_flush")
def _forget_roles(session: Session, *_: object) -> None:
    """A membership written in this update makes every remembered role suspect."""
    known = _KNOWN_ROLES.get()
    if known and any(
        isinstance(o, Member) for o in (*session.new, *session.dirty, *session.deleted)
    ):
        known.clear()


async def role_of(session: AsyncSession, workspace_id: int, actor: Actor) -> str | None:
    """The actor's role; a unit of work that may change something always reads it afresh."""
    known = _KNOWN_ROLES.get()
    key = (workspace_id, actor.platform, actor.user_id)
    if known is not None and key in known and is_read_session(session):
        return known[key]
    role: str | None = await session.scalar(
        select(Member.role).where(
            Member.workspace_id == workspace_id,
            Member.platform == actor.platform,
            Member.user_id == actor.user_id,
        )
    )
    remember_role(workspace_id, actor, role)
    return role


async def authorize(session: AsyncSession, workspace_id: int, actor: Actor, action: Action) -> None:
    """Refuse with a message naming who can, before anything changes."""
    role = (
        None
        if actor.is_automatic or actor.is_support
        else (await role_of(session, workspace_id, actor))
    )
    require(action, actor, role)


async def get_workspace(
    session: AsyncSession, workspace_id: int, *, lock: bool = False
) -> Workspace:
    stmt = select(Workspace).where(Workspace.id == workspace_id)
    if lock:
        stmt = stmt.with_for_update()
    workspace = await session.scalar(stmt)
    if workspace is None:
        raise NotFound("There is no workspace {id}.", id=workspace_id)
    return workspace


async def get_subscription(
    session: AsyncSession, workspace_id: int, subscription_id: int, *, lock: bool = False
) -> Subscription:
    stmt = select(Subscription).where(
        Subscription.id == subscription_id, Subscription.workspace_id == workspace_id
    )
    if lock:
        # Lock order everywhere: workspace, then subscription, then orders.
        await get_workspace(session, workspace_id, lock=True)
        stmt = stmt.with_for_update()
    sub = await session.scalar(stmt)
    if sub is None:
        raise NotFound("That subscription does not exist in this workspace.")
    return sub


def audit_values(
    *,
    at: datetime,
    workspace_id: int,
    actor: Actor,
    action: str,
    subscription_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    order_id: int | None = None,
    payment_id: int | None = None,
    reason: str | None = None,
    reason_code: str | None = None,
    comment: str | None = None,
    refund_id: int | None = None,
) -> dict[str, Any]:
    """An audit row's columns, for callers that insert many rows in one statement; a
    subscription's snapshots bring their MRR terms along (`core.mrr`)."""
    was, now = snapshot_terms(before), snapshot_terms(after)
    return {
        "at": at,
        "workspace_id": workspace_id,
        "subscription_id": subscription_id,
        "actor": actor.label,
        "action": action,
        "before": before,
        "after": after,
        "order_id": order_id,
        "payment_id": payment_id,
        "reason": reason,
        "actor_tier": None if actor.tier is None else actor.tier.value,
        "reason_code": reason_code,
        "comment": comment,
        "refund_id": refund_id,
        "active_terms_before": None if was is None else was.active_terms,
        "accounts_before": None if was is None else was.accounts,
        "active_terms_after": None if now is None else now.active_terms,
        "accounts_after": None if now is None else now.accounts,
    }


def audit(
    session: AsyncSession,
    *,
    at: datetime,
    workspace_id: int,
    actor: Actor,
    action: str,
    subscription_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    order_id: int | None = None,
    payment_id: int | None = None,
    reason: str | None = None,
    reason_code: str | None = None,
    comment: str | None = None,
    refund_id: int | None = None,
) -> None:
    session.add(
        AuditEntry(
            **audit_values(
                at=at,
                workspace_id=workspace_id,
                actor=actor,
                action=action,
                subscription_id=subscription_id,
                before=before,
                after=after,
                order_id=order_id,
                payment_id=payment_id,
                reason=reason,
                reason_code=reason_code,
                comment=comment,
                refund_id=refund_id,
            )
        )
    )


def new_subscription(workspace_id: int, terms: Terms, at: datetime) -> Subscription:
    """A row for a package the workspace has never held; it starts Inactive (never paid)."""
    sub = Subscription(
        workspace_id=workspace_id,
        package=terms.package,
        quantity=terms.quantity,
        cycle_months=terms.cycle_months,
        state=SubscriptionState.INACTIVE,
        inactive_reason=InactiveReason.NEVER_PAID,
        registered_at=at,
        anchor_months=0,
        cancel_at_period_end=False,
        terms_version=1,
    )
    lifecycle.refresh_due_at(sub)
    return sub
