"""Invites: owners make single-use, expiring links with a role; roles are enforced in core."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import Actor
from core.clock import FixedClock
from core.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from core.model import Member, OutboxNotice, Role, Workspace
from core.ports import Notice
from core.pricing import Terms
from core.services.context import Context
from core.services.invites import accept_invite, create_invite, current_workspace
from core.services.notice_checks import Ready, prepare
from core.services.orders import place_order
from core.services.outbox import OutboxNotifier, lease_batch
from core.services.workspaces import memberships
from core.states import NoticeState

GUEST = Actor("telegram", "5005")
OTHER = Actor("telegram", "6006")


async def test_an_owner_invites_an_admin_who_joins_once(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.ADMIN)
    assert 1 <= len(invite.code) <= 32 and invite.code.isascii()
    joined = await accept_invite(ctx, GUEST, invite.code)
    assert (joined.workspace_id, joined.workspace_name, joined.role) == (
        workspace_id,
        "Acme Support",
        "admin",
    )
    assert [m.role for m in await memberships(ctx, GUEST)] == ["admin"]
    assert await current_workspace(ctx, GUEST) == workspace_id
    with pytest.raises(Conflict, match="already used"):
        await accept_invite(ctx, OTHER, invite.code)
    assert await memberships(ctx, OTHER) == []


async def test_a_member_invite_gives_no_right_to_buy(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.MEMBER)
    await accept_invite(ctx, GUEST, invite.code)
    with pytest.raises(NotAllowed, match="billing admins"):
        await place_order(ctx, GUEST, workspace_id, Terms("cc1", 1, 1))


async def test_only_the_owner_invites_and_only_admins_or_members(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.ADMIN)
    await accept_invite(ctx, GUEST, invite.code)
    with pytest.raises(NotAllowed, match="owner"):
        await create_invite(ctx, GUEST, workspace_id, Role.MEMBER)
    with pytest.raises(NotAllowed, match="owner"):
        await create_invite(ctx, OTHER, workspace_id, Role.MEMBER)
    with pytest.raises(InvalidRequest):
        await create_invite(ctx, owner, workspace_id, Role.OWNER)


async def test_an_expired_or_unknown_invite_changes_nothing(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.MEMBER, lifetime=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidRequest, match="expired"):
        await accept_invite(ctx, GUEST, invite.code)
    for junk in ("nope", "", "x" * 200, "<b>", "code with spaces"):
        with pytest.raises(NotFound):
            await accept_invite(ctx, GUEST, junk)
    assert await memberships(ctx, GUEST) == []


async def test_an_invite_never_demotes(ctx: Context, owner: Actor, workspace_id: int) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.MEMBER)
    joined = await accept_invite(ctx, owner, invite.code)
    assert joined.role == "owner"
    async with ctx.db.unit_of_work() as session:
        roles = list(await session.scalars(select(Member.role)))
    assert roles == ["owner"]


async def test_two_redemptions_at_once_let_one_in(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    invite = await create_invite(ctx, owner, workspace_id, Role.ADMIN)
    results = await asyncio.gather(
        accept_invite(ctx, GUEST, invite.code),
        accept_invite(ctx, OTHER, invite.code),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    joined = len(await memberships(ctx, GUEST)) + len(await memberships(ctx, OTHER))
    assert joined == 1


async def test_platform_notices_are_leased_once_and_read_in_their_workspace_language(
    ctx: Context, workspace_id: int
) -> None:
    async with ctx.db.unit_of_work() as session:
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        workspace.locale = "vi"
    outbox = OutboxNotifier(ctx.db, ctx.clock)
    await outbox.notify(Notice("payment.succeeded", workspace_id, "telegram", "-100", {"a": 1}))
    await outbox.notify(Notice("payment.failed", workspace_id, "telegram", "42", {}))
    await outbox.notify(Notice("payment.failed", workspace_id, "console", "x", {}))
    taken = await lease_batch(ctx.db, ctx.clock, "telegram", "sender-1")
    verdicts = await prepare(ctx, taken)
    assert [(v.notice.chat_id, v.locale) for v in verdicts if isinstance(v, Ready)] == [
        ("-100", "vi"),
        ("42", "vi"),
    ]
    assert await lease_batch(ctx.db, ctx.clock, "telegram", "sender-2") == []
    async with ctx.db.unit_of_work() as session:
        states = dict(
            (n.chat_platform, n.state) for n in await session.scalars(select(OutboxNotice))
        )
    assert states == {"telegram": NoticeState.SENDING, "console": NoticeState.PENDING}
