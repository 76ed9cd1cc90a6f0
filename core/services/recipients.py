"""Who a notice about a workspace reaches when no chat of its own started it: each billing
admin who can be reached (DESIGN section 14)."""

from __future__ import annotations

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


def _chat_of(workspace: Workspace, member: Member) -> str | None:
    if member.platform in DIRECT_PLATFORMS:
        return member.user_id
    if member.platform == CONSOLE and workspace.external_id is not None:
        return f"{workspace.external_id}:{member.user_id}"  # as adapters/console.py names it
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
        chat = _chat_of(workspace, member)
        recipient = None if chat is None else Recipient(member.platform, chat)
        if recipient is not None and recipient not in found:
            found.append(recipient)
    return found
