"""Workspaces and their members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Actor
from core.errors import InvalidRequest, NotAllowed
from core.model import Member, Role, Workspace
from core.services.context import Context, audit, get_workspace, role_of


@dataclass(frozen=True, slots=True)
class Membership:
    workspace_id: int
    workspace_name: str
    role: str


async def create_workspace(
    ctx: Context, owner: Actor, name: str, *, locale: str | None = None, timezone: str = "UTC"
) -> int:
    """A new workspace whose creator becomes its owner and billing admin."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidRequest("A workspace name needs 1 to 200 characters.")
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        workspace = Workspace(
            name=name,
            locale=locale,
            timezone=timezone,
            currency=ctx.catalog.currency,
            credit_balance=0,
            created_at=now,
        )
        session.add(workspace)
        await session.flush()
        session.add(
            Member(
                workspace_id=workspace.id,
                platform=owner.platform,
                user_id=owner.user_id,
                role=Role.OWNER,
                created_at=now,
            )
        )
        audit(
            session,
            at=now,
            workspace_id=workspace.id,
            actor=owner,
            action="workspace.create",
            after={"name": name, "owner": owner.label},
        )
        return workspace.id


async def add_member(ctx: Context, by: Actor, workspace_id: int, member: Actor, role: Role) -> None:
    """Owners (or trusted system paths such as an accepted invite) add members and admins."""
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await get_workspace(session, workspace_id)
        if not by.is_automatic and await role_of(session, workspace_id, by) != Role.OWNER:
            raise NotAllowed("Only the workspace owner can add members.")
        existing = await find_member(session, workspace_id, member)
        set_role(session, now, by, workspace_id, member, role, existing)


async def find_member(session: AsyncSession, workspace_id: int, member: Actor) -> Member | None:
    found: Member | None = await session.scalar(
        select(Member).where(
            Member.workspace_id == workspace_id,
            Member.platform == member.platform,
            Member.user_id == member.user_id,
        )
    )
    return found


def set_role(
    session: AsyncSession,
    at: datetime,
    by: Actor,
    workspace_id: int,
    member: Actor,
    role: Role,
    existing: Member | None,
) -> None:
    """Give `member` the role (a new member row when there is none yet), audited."""
    before = None if existing is None else {"role": existing.role}
    if existing is None:
        session.add(
            Member(
                workspace_id=workspace_id,
                platform=member.platform,
                user_id=member.user_id,
                role=role,
                created_at=at,
            )
        )
    else:
        existing.role = role
    audit(
        session,
        at=at,
        workspace_id=workspace_id,
        actor=by,
        action="member.set_role",
        before=before,
        after={"member": member.label, "role": role.value},
    )


async def memberships(ctx: Context, actor: Actor) -> list[Membership]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Workspace.id, Workspace.name, Member.role)
            .join(Member, Member.workspace_id == Workspace.id)
            .where(Member.platform == actor.platform, Member.user_id == actor.user_id)
            .order_by(Workspace.id)
        )
        return [Membership(wid, wname, role) for wid, wname, role in rows]


async def ensure_workspace(
    ctx: Context, platform: str, external_id: str, name: str, *, timezone: str = "UTC"
) -> int:
    """The workspace a platform knows as `external_id` (a Slack team, a console name), made once."""
    async with ctx.db.unit_of_work() as session:
        found = await session.scalar(
            select(Workspace.id).where(
                Workspace.platform == platform, Workspace.external_id == external_id
            )
        )
        if found is not None:
            return int(found)
        now = ctx.clock.now()
        workspace = Workspace(
            platform=platform,
            external_id=external_id,
            name=name[:200] or external_id,
            timezone=timezone,
            currency=ctx.catalog.currency,
            credit_balance=0,
            created_at=now,
        )
        session.add(workspace)
        await session.flush()
        audit(
            session,
            at=now,
            workspace_id=workspace.id,
            actor=Actor.system(),
            action="workspace.create",
            after={"platform": platform, "external_id": external_id},
        )
        return workspace.id


async def ensure_member(ctx: Context, workspace_id: int, member: Actor, role: Role) -> None:
    """Trusted paths (a local console, a platform's own admin list) set a member's role."""
    await add_member(ctx, Actor.system(), workspace_id, member, role)


async def platform_id(ctx: Context, workspace_id: int, platform: str) -> str | None:
    """What the platform calls the workspace (a Slack team id), if it came from there."""
    async with ctx.db.unit_of_work() as session:
        found: str | None = await session.scalar(
            select(Workspace.external_id).where(
                Workspace.id == workspace_id, Workspace.platform == platform
            )
        )
        return found
