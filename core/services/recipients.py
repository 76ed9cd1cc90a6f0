"""Who a notice about a workspace reaches when no chat of its own started it: each billing
admin who can be reached (DESIGN section 14)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.model import Member, Workspace
from core.states import Role

CONSOLE = "console"
DIRECT_PLATFORMS = ("telegram", "slack")
"""Platforms whose member's user id is a chat with the bot: Telegram's private chat, a
Slack DM."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A chat a notice can go to: a platform and a chat id there."""

    platform: str
    chat_id: str


def _chat_of(external_id: str | None, platform: str, user_id: str) -> str | None:
    if platform in DIRECT_PLATFORMS:
        return user_id
    if platform == CONSOLE and external_id is not None:
        return f"{external_id}:{user_id}"  # as adapters/console.py names it
    return None


async def billing_admin_chats(session: AsyncSession, workspace_id: int) -> list[Recipient]:
    """The private chats of the workspace's owners and admins, in the order they joined."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        return []
    admins = await session.scalars(
        select(Member)
        .where(Member.workspace_id == workspace_id, Member.role.in_((Role.OWNER, Role.ADMIN)))
        .order_by(Member.id)
    )
    found: list[Recipient] = []
    for member in admins:
        chat = _chat_of(workspace.external_id, member.platform, member.user_id)
        recipient = None if chat is None else Recipient(member.platform, chat)
        if recipient is not None and recipient not in found:
            found.append(recipient)
    return found


async def billing_admin_chats_of(
    session: AsyncSession, workspace_ids: Iterable[int]
) -> dict[int, list[Recipient]]:
    """billing_admin_chats for many workspaces in one query (a sweep batch's); a workspace
    nobody can be reached in is left out."""
    wanted = sorted(set(workspace_ids))
    found: dict[int, list[Recipient]] = {}
    if not wanted:
        return found
    rows = await session.execute(
        select(Member.workspace_id, Workspace.external_id, Member.platform, Member.user_id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.workspace_id.in_(wanted), Member.role.in_((Role.OWNER, Role.ADMIN)))
        .order_by(Member.workspace_id, Member.id)
    )
    for workspace_id, external_id, platform, user_id in rows:
        chat = _chat_of(external_id, platform, user_id)
        recipient = None if chat is None else Recipient(platform, chat)
        chats = found.setdefault(workspace_id, [])
        if recipient is not None and recipient not in chats:
            chats.append(recipient)
    return {wid: chats for wid, chats in found.items() if chats}
