"""Invitations into a workspace: owners make one-time, expiring codes; a person redeems one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from core.access import Actor
from core.clock import format_iso
from core.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from core.model import Invite, Member, Role, Workspace
from core.services.context import Context, audit, get_workspace, role_of

INVITE_LIFETIME = timedelta(days=7)
INVITABLE_ROLES = (Role.ADMIN, Role.MEMBER)
CODE_BYTES = 12  # 16 URL-safe characters: fits Telegram's 64-character /start parameter


@dataclass(frozen=True, slots=True)
class InviteCode:
    code: str
    workspace_id: int
    role: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Joined:
    workspace_id: int
    workspace_name: str
    role: str


def looks_like_code(text: str) -> bool:
    """Whether `text` could be an invite code at all (checked before any database work)."""
    return 1 <= len(text) <= 32 and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


async def create_invite(
    ctx: Context,
    by: Actor,
    workspace_id: int,
    role: Role,
    *,
    lifetime: timedelta = INVITE_LIFETIME,
) -> InviteCode:
    """A single-use invite into the workspace with `role`; only its owner may make one."""
    if role not in INVITABLE_ROLES:
        raise InvalidRequest("An invite can make an admin or a member.")
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        await get_workspace(session, workspace_id)
        if await role_of(session, workspace_id, by) != Role.OWNER:
            raise NotAllowed("Only the workspace owner can invite people.")
        invite = Invite(
            code=secrets.token_urlsafe(CODE_BYTES),
            workspace_id=workspace_id,
            role=role.value,
            created_by=by.label,
            created_at=now,
            expires_at=now + lifetime,
        )
        session.add(invite)
        await session.flush()
        audit(
            session,
            at=now,
            workspace_id=workspace_id,
            actor=by,
            action="invite.create",
            after={
                "invite": invite.id,
                "role": role.value,
                "expires_at": format_iso(invite.expires_at),
            },
        )
        return InviteCode(invite.code, workspace_id, role.value, invite.expires_at)


async def accept_invite(ctx: Context, actor: Actor, code: str) -> Joined:
    """Join the invite's workspace with its role; an invite works once and until it expires.

    A member who already holds a higher role keeps it (an invite never demotes).
    """
    if not looks_like_code(code):
        raise NotFound("That invite link is not valid.")
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        stmt = select(Invite).where(Invite.code == code)
        if ctx.db.is_postgres:
            stmt = stmt.with_for_update()
        invite = await session.scalar(stmt)
        if invite is None:
            raise NotFound("That invite link is not valid.")
        if invite.used_at is not None:
            raise Conflict("That invite link was already used. Ask the owner for a new one.")
        if invite.expires_at <= now:
            raise InvalidRequest("That invite link has expired. Ask the owner for a new one.")
        workspace = await get_workspace(session, invite.workspace_id, lock=True)
        # Claim it with a conditional update, so two redemptions at once cannot both win.
        claimed = await session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None))
            .values(used_at=now, used_by=actor.label)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("That invite link was already used. Ask the owner for a new one.")
        existing = await session.scalar(
            select(Member).where(
                Member.workspace_id == workspace.id,
                Member.platform == actor.platform,
                Member.user_id == actor.user_id,
            )
        )
        before = None if existing is None else {"role": existing.role}
        role = Role(invite.role)
        if existing is None:
            session.add(
                Member(
                    workspace_id=workspace.id,
                    platform=actor.platform,
                    user_id=actor.user_id,
                    role=role,
                    created_at=now,
                )
            )
        elif _rank(existing.role) >= _rank(role):
            role = existing.role
        else:
            existing.role = role
        audit(
            session,
            at=now,
            workspace_id=workspace.id,
            actor=actor,
            action="invite.accept",
            before=before,
            after={"invite": invite.id, "member": actor.label, "role": role},
        )
        await session.flush()
        return Joined(workspace.id, workspace.name, role)


def _rank(role: Role) -> int:
    return {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}[role]


async def current_workspace(ctx: Context, actor: Actor) -> int | None:
    """The workspace a person acts in: the one they chose last, or else joined last."""
    async with ctx.db.read() as session:
        found = await session.scalar(
            select(Member.workspace_id)
            .join(Workspace, Workspace.id == Member.workspace_id)
            .where(Member.platform == actor.platform, Member.user_id == actor.user_id)
            .order_by(
                func.coalesce(Member.active_at, Member.created_at).desc(),
                Member.active_at.is_not(None).desc(),  # at the same moment, a choice wins
                Member.id.desc(),
            )
            .limit(1)
        )
        return None if found is None else int(found)


async def choose_workspace(ctx: Context, actor: Actor, workspace_id: int) -> Joined:
    """Act in another of one's workspaces from now on (only one the person belongs to)."""
    async with ctx.db.unit_of_work() as session:
        row = (
            await session.execute(
                select(Member, Workspace.name)
                .join(Workspace, Workspace.id == Member.workspace_id)
                .where(
                    Member.workspace_id == workspace_id,
                    Member.platform == actor.platform,
                    Member.user_id == actor.user_id,
                )
            )
        ).first()
        if row is None:
            raise NotAllowed("You are not a member of that workspace.")
        member, name = row
        member.active_at = ctx.clock.now()
        return Joined(workspace_id, name, member.role)


async def require_owner(ctx: Context, actor: Actor, workspace_id: int) -> None:
    """Refuse early (before asking anything) when `actor` cannot invite into the workspace."""
    async with ctx.db.read() as session:
        if await role_of(session, workspace_id, actor) != Role.OWNER:
            raise NotAllowed("Only the workspace owner can invite people.")
