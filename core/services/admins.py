"""Billing admins granted in planbot, beside those a platform makes (Slack's owners and
admins): a billing admin grants the role to anyone in the workspace and takes back only
what was granted here, never what the platform decides."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.access import Action, Actor, synced_role
from core.errors import Conflict, InvalidRequest
from core.model import Member, Role
from core.services.context import Context, audit, authorize, get_workspace
from core.services.workspaces import find_member, set_role


@dataclass(frozen=True, slots=True)
class BillingAdmin:
    user_id: str
    name: str | None
    granted: bool


async def billing_admins(ctx: Context, actor: Actor, workspace_id: int) -> list[BillingAdmin]:
    async with ctx.db.read() as session:
        await authorize(session, workspace_id, actor, Action.VIEW_DETAILS)
        rows = await session.scalars(
            select(Member)
            .where(
                Member.workspace_id == workspace_id,
                Member.platform == actor.platform,
                Member.role.in_((Role.OWNER, Role.ADMIN)),
            )
            .order_by(Member.id)
        )
        return [BillingAdmin(m.user_id, m.display_name, m.granted_by is not None) for m in rows]


async def grant_billing_admin(
    ctx: Context, by: Actor, workspace_id: int, user_id: str, name: str | None = None
) -> bool:
    """True when `user_id` became a billing admin; False when they already were one."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, by, Action.MANAGE_ADMINS)
        if not user_id or user_id == by.user_id:
            raise InvalidRequest("Name someone else to make a billing admin.")
        member = await find_member(session, workspace_id, Actor(by.platform, user_id))
        if member is not None and member.role in (Role.OWNER, Role.ADMIN):
            return False
        if member is None:
            member = Member(
                workspace_id=workspace_id,
                platform=by.platform,
                user_id=user_id,
                role=Role.MEMBER,
                created_at=now,
            )
            session.add(member)
        before = {"member": f"{by.platform}:{user_id}", "role": member.role}
        member.role, member.granted_by = Role.ADMIN, by.label
        if name and not member.display_name:
            member.display_name = name[:200]
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            actor=by,
            action="member.grant_admin",
            before=before,
            after={"member": f"{by.platform}:{user_id}", "role": member.role},
        )
        return True


async def revoke_billing_admin(ctx: Context, by: Actor, workspace_id: int, user_id: str) -> None:
    """Take back a role granted in planbot; one the platform gives is changed there."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await authorize(session, workspace_id, by, Action.MANAGE_ADMINS)
        member = await find_member(session, workspace_id, Actor(by.platform, user_id))
        if member is None or member.role != Role.ADMIN:
            raise Conflict("That person is not a billing admin.")
        if member.granted_by is None:
            raise Conflict(
                "That person's role comes from the workspace's own settings: change it there."
            )
        member.role, member.granted_by = Role.MEMBER, None
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            actor=by,
            action="member.revoke_admin",
            before={"member": f"{by.platform}:{user_id}", "role": Role.ADMIN},
            after={"member": f"{by.platform}:{user_id}", "role": member.role},
        )


async def sync_platform_role(
    ctx: Context, workspace_id: int, member: Actor, platform_admin: bool
) -> None:
    """Bring a person's role in line with what their platform says of them (DESIGN 4).

    Read first without the writer lock: on nearly every update the role already agrees, and
    only a change takes a unit of work (which reads again, so a change made meanwhile wins).
    """
    async with ctx.db.read() as session:
        await get_workspace(session, workspace_id)
        if _synced(await find_member(session, workspace_id, member), platform_admin) is None:
            return
    async with ctx.db.unit_of_work() as session:
        existing = await find_member(session, workspace_id, member)
        wanted = _synced(existing, platform_admin)
        if wanted is not None:
            set_role(
                session, ctx.clock.now(), Actor.system(), workspace_id, member, wanted, existing
            )


def _synced(existing: Member | None, platform_admin: bool) -> Role | None:
    """The role the platform's word asks for, if it differs from the one held."""
    role = None if existing is None else existing.role
    granted = existing is not None and existing.granted_by is not None
    return synced_role(role, granted, platform_admin)
