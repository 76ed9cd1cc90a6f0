"""Who a workspace's notices reach when no chat started them: each billing admin's own chat
with the bot (Telegram's private chat, a Slack DM, the console's chat), never a member's."""

from __future__ import annotations

from core.access import Actor
from core.services.context import Context
from core.services.recipients import Recipient, billing_admin_chats
from core.services.workspaces import add_member, ensure_member, ensure_workspace
from core.states import Role


async def test_billing_admins_are_reached_in_their_own_chat_and_members_are_not(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    await add_member(ctx, owner, workspace_id, Actor("slack", "U0ADMIN"), Role.ADMIN)
    await add_member(ctx, owner, workspace_id, Actor("telegram", "2002"), Role.MEMBER)
    async with ctx.db.read() as session:
        found = await billing_admin_chats(session, workspace_id)
    assert found == [Recipient("telegram", "1001"), Recipient("slack", "U0ADMIN")]


async def test_a_console_admin_is_reached_in_the_chat_the_console_names(ctx: Context) -> None:
    workspace_id = await ensure_workspace(ctx, "console", "acme", "acme")
    await ensure_member(ctx, workspace_id, Actor("console", "alice"), Role.ADMIN)
    await ensure_member(ctx, workspace_id, Actor("console", "bob"), Role.MEMBER)
    async with ctx.db.read() as session:
        assert await billing_admin_chats(session, workspace_id) == [
            Recipient("console", "acme:alice")
        ]
        assert await billing_admin_chats(session, 999) == []
